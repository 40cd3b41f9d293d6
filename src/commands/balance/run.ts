import pLimit from 'p-limit';
import type { Ctx } from '../../context.js';
import { resolveEnvironment } from '../../credentials.js';
import { CliError, ExitCode, usageError } from '../../errors.js';
import { balanceJson } from '../../format/json.js';
import { balanceCsv, balanceNdjson } from '../../format/rows.js';
import { PLAID_LIMITS, RateLimiter, realTimers } from '../../plaid/ratelimit.js';
import type { StoredItem } from '../../store/document.js';
import type { Store } from '../../store/store.js';
import type { BalanceDocument, Environment } from '../../types.js';
import { fetchItemBalances, parseMinLastUpdated, type ItemResult } from './fetch.js';
import type { BalanceFormat, BalanceOptions } from './index.js';
import { progress } from '../progress.js';

function pickItems(store: Store, opts: BalanceOptions, envFilter: Environment | undefined): StoredItem[] {
  const refs = opts.item ?? [];
  if (opts.all && refs.length) throw usageError('Use either --all or --item, not both.');
  let items: StoredItem[];
  if (opts.all || refs.length === 0) {
    items = store.items(envFilter);
    if (items.length === 0) throw usageError(`No items are linked${envFilter ? ` in ${envFilter}` : ''} yet.`, 'Link one with `plaidbal link` (or `plaidbal link --sandbox`).');
    if (!opts.all && items.length > 1) throw usageError('Which item? More than one is linked.', `Pass --item with one of: ${items.map((i) => i.alias).join(', ')} (or --all).`);
  } else {
    items = [...new Map(refs.map((ref) => store.resolveItem(ref, envFilter)).map((i) => [i.item_id, i])).values()];
  }
  const envs = new Set(items.map((i) => i.environment));
  if (envs.size > 1) throw usageError('Those items were linked in different environments; check one environment at a time.', 'Add --env sandbox or --env production.');
  return items;
}

function pickFormat(opts: BalanceOptions): BalanceFormat {
  if (opts.json && opts.format && opts.format !== 'json') throw usageError(`--json and --format ${opts.format} disagree; pick one.`);
  return opts.json ? 'json' : (opts.format ?? 'table');
}

export async function runBalance(ctx: Ctx, opts: BalanceOptions): Promise<number> {
  // One token from stdin, no store at all: its own module.
  if (opts.accessTokenStdin) return (await import('./one-shot.js')).runBalanceOneShot(ctx, opts);
  const format = pickFormat(opts);
  const minLastUpdated = parseMinLastUpdated(opts.minLastUpdated);
  if (opts.cached && minLastUpdated) throw usageError('--min-last-updated applies to real-time balances; drop --cached.');
  const envFilter = opts.env !== undefined ? resolveEnvironment(opts.env, ctx.env) : undefined;
  const store = await ctx.store();
  const items = pickItems(store, opts, envFilter);
  if (opts.account?.length && items.length !== 1) throw usageError('--account picks accounts of one item; use it with a single --item.');
  const environment = items[0]!.environment;
  const source = opts.cached ? 'cached' : 'realtime';

  if (environment === 'production' && source === 'realtime' && items.length > 1 && !opts.yes && ctx.io.canPrompt) {
    const ok = await ctx.prompt.confirm(`This makes ${items.length} real-time balance calls in production, each billed by Plaid. Continue?`, { default: false });
    if (!ok) {
      ctx.info('Nothing was fetched. (--cached uses the free /accounts/get; --yes skips this question.)');
      return ExitCode.LINK_CANCELLED;
    }
  }

  const limiter = new RateLimiter(PLAID_LIMITS[source === 'cached' ? 'accountsGet' : 'accountsBalanceGet'][environment], {
    ...realTimers,
    onWait: (ms, reason) => {
      if (ms >= 1000) ctx.info(ctx.io.err.dim(`Pacing for Plaid's ${reason === 'item' ? 'per-item' : 'per-client'} rate limit in ${environment}: waiting ${Math.ceil(ms / 1000)} s…`));
    },
  });
  const limit = pLimit(opts.concurrency);
  const bar = progress(ctx, 'Fetching balances', items.length);
  const fetchOptions = { source, accountIds: opts.account, minLastUpdated, timeoutMs: opts.timeout ? opts.timeout * 1000 : undefined } as const;
  let results: ItemResult[];
  try {
    results = await Promise.all(
      items.map((item) =>
        limit(async () => {
          await limiter.acquire(item.item_id, ctx.signal);
          const result = await fetchItemBalances(ctx, store, item, fetchOptions);
          bar.tick();
          return result;
        }),
      ),
    );
  } finally {
    bar.clear();
  }

  const fetchedAt = ctx.now().toISOString();
  const doc: BalanceDocument = { environment, fetched_at: fetchedAt, items: results.map((r) => r.json) };
  const failures = results.filter((r) => r.error);
  // One item that failed: its error is the command's error, printed with its hint by the top level.
  if (results.length === 1 && failures.length === 1 && format === 'table') throw failures[0]!.error!;
  // The result first: Plaid billed for it, and the bookkeeping below may wait for the lock or fail.
  ctx.io.stdout.write(await render(doc, format, ctx));
  if (source === 'realtime') await recordLastBalance(ctx, store, results, fetchedAt, environment);
  if (failures.length === 0) return ExitCode.OK;
  if (results.length > 1) {
    ctx.info(ctx.io.err.red(`${failures.length} of ${results.length} items failed.`));
    return ExitCode.PARTIAL_FAILURE;
  }
  const only = failures[0]!.error!;
  ctx.info(`${ctx.io.err.red('Error:')} ${only.message}${only.hint ? `\n${ctx.io.err.cyan('Hint:')} ${only.hint}` : ''}`);
  return only.exitCode;
}

/**
 * Notes when each item's balance was last fetched (items, items status). Bookkeeping only:
 * a store that cannot be written (read-only, full disk, busy) costs a warning, never the
 * result the user already has, nor its exit code.
 */
async function recordLastBalance(ctx: Ctx, store: Store, results: ItemResult[], fetchedAt: string, environment: Environment): Promise<void> {
  const succeeded = results.filter((r) => !r.error).map((r) => ({ item_id: r.json.item_id, environment, at: fetchedAt }));
  if (succeeded.length === 0) return;
  try {
    // An append to last-balance.ndjson, not a rewrite of the store (store/last-balance.ts).
    store.recordLastBalance(succeeded);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    ctx.info(ctx.io.err.yellow(`! The balances were fetched, but the store could not record when (last_balance_at): ${error.message}`));
  }
}

async function render(doc: BalanceDocument, format: BalanceFormat, ctx: Ctx): Promise<string> {
  switch (format) {
    case 'json':
      return balanceJson(doc);
    case 'ndjson':
      return balanceNdjson(doc);
    case 'csv':
      return balanceCsv(doc);
    case 'table': {
      // cli-table3 is loaded only for tables: JSON, ndjson and csv (scripts) never pay for it.
      const [{ balanceTable }, { currencyTotals, totalsTable }] = await Promise.all([import('../../format/balance.js'), import('../../format/totals.js')]);
      const totals = totalsTable(currencyTotals(doc), ctx.io.out);
      return `${balanceTable(doc, ctx.io.out)}${totals ? `\n${totals}\n` : ''}`;
    }
  }
}
