import type { Ctx } from '../../context.js';
import { resolveEnvironment } from '../../credentials.js';
import { ExitCode, usageError } from '../../errors.js';
import { balanceJson, balanceTable } from '../../format/balance.js';
import type { StoredItem } from '../../store/document.js';
import type { Store } from '../../store/store.js';
import type { BalanceDocument, Environment } from '../../types.js';
import { fetchItemBalances, type ItemResult } from './fetch.js';
import type { BalanceOptions } from './index.js';

function pickItems(store: Store, opts: BalanceOptions, envFilter: Environment | undefined): StoredItem[] {
  const refs = opts.item ?? [];
  if (refs.length === 0) {
    const all = store.items(envFilter);
    if (all.length === 1) return all;
    if (all.length === 0) throw usageError('No items are linked yet.', 'Link one with `plaidbal link` (or `plaidbal link --sandbox`).');
    throw usageError('Which item? More than one is linked.', `Pass --item with one of: ${all.map((i) => i.alias).join(', ')}.`);
  }
  const items = refs.map((ref) => store.resolveItem(ref, envFilter));
  const unique = [...new Map(items.map((i) => [i.item_id, i])).values()];
  const envs = new Set(unique.map((i) => i.environment));
  if (envs.size > 1) throw usageError('Those items were linked in different environments; check one environment at a time.', 'Add --env sandbox or --env production.');
  return unique;
}

export async function runBalance(ctx: Ctx, opts: BalanceOptions): Promise<number> {
  const envFilter = opts.env !== undefined ? resolveEnvironment(opts.env, ctx.env) : undefined;
  const store = await ctx.store();
  const items = pickItems(store, opts, envFilter);
  const environment = items[0]!.environment;

  const results: ItemResult[] = [];
  for (const item of items) results.push(await fetchItemBalances(ctx, store, item, { source: 'realtime', accountIds: opts.account, timeoutMs: opts.timeout ? opts.timeout * 1000 : undefined }));

  const fetchedAt = ctx.now().toISOString();
  const succeeded = new Set(results.filter((r) => !r.error).map((r) => r.json.item_id));
  if (succeeded.size) {
    await store.update((doc) => {
      for (const i of doc.items) if (succeeded.has(i.item_id)) i.last_balance_at = fetchedAt;
    });
  }

  const doc: BalanceDocument = { environment, fetched_at: fetchedAt, items: results.map((r) => r.json) };
  const failures = results.filter((r) => r.error);
  // One item that failed: its error is the command's error, printed with its hint by the top level.
  if (results.length === 1 && failures.length === 1 && !opts.json) throw failures[0]!.error!;
  ctx.io.stdout.write(opts.json ? balanceJson(doc) : balanceTable(doc, ctx.io.out));
  if (failures.length === 0) return ExitCode.OK;
  if (results.length > 1) {
    ctx.info(ctx.io.err.red(`${failures.length} of ${results.length} items failed.`));
    return ExitCode.PARTIAL_FAILURE;
  }
  const only = failures[0]!.error!;
  ctx.info(`${ctx.io.err.red('Error:')} ${only.message}${only.hint ? `\n${ctx.io.err.cyan('Hint:')} ${only.hint}` : ''}`);
  return only.exitCode;
}
