import type { Ctx } from '../../context.js';
import { resolveEnvironment } from '../../credentials.js';
import { CliError, ExitCode, usageError } from '../../errors.js';
import { balanceJson } from '../../format/json.js';
import { CSV_HEADER, balanceCsvRows, balanceNdjson } from '../../format/rows.js';
import { fanOut, pacerFor } from '../../plaid/ratelimit.js';
import type { Store } from '../../store/store.js';
import type { BalanceDocument, Environment } from '../../types.js';
import { balanceDrain, fetchItemBalances, parseMinLastUpdated, type ItemResult } from './fetch.js';
import type { BalanceFormat, BalanceOptions } from './index.js';
import { pickItems } from '../pick.js';
import { progress } from '../progress.js';
import { errorText } from '../../text.js';

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
  const items = pickItems(store, { refs: opts.item ?? [], all: opts.all, env: envFilter, nameWith: '--item <item>', allowAll: true, onlyItemByDefault: true, oneEnvironment: true });
  if (opts.account?.length && items.length !== 1) throw usageError('--account picks accounts of one item; use it with a single --item.');
  const environment = items[0]!.environment;
  const source = opts.cached ? 'cached' : 'realtime';
  const pacer = pacerFor(source === 'cached' ? 'accountsGet' : 'accountsBalanceGet', environment, opts);

  if (environment === 'production' && source === 'realtime' && items.length > 1 && !opts.yes && ctx.io.canPrompt) {
    const ok = await ctx.prompt.confirm(`This makes ${items.length} real-time balance calls in production, each billed by Plaid. Continue?`, { default: false });
    if (!ok) {
      ctx.info('Nothing was fetched. (--cached uses the free /accounts/get; --yes skips this question.)');
      return ExitCode.LINK_CANCELLED;
    }
  }

  // One Plaid client for the run (fetchItemBalances asks for one per item): thousands of items
  // then cost no more credentials, axios instances or garbage than one.
  const clients = new Map<string, ReturnType<Ctx['plaid']>>();
  const shared: Ctx = {
    ...ctx,
    plaid: (env, o = {}) => {
      const key = JSON.stringify([env, o]);
      let client = clients.get(key);
      if (!client) clients.set(key, (client = ctx.plaid(env, o)));
      return client;
    },
  };
  // Ctrl-C (SIGTERM, SIGHUP) stops what has not been sent, and waits for the calls on their way:
  // Plaid bills each real-time one it serves. A second one cancels them.
  const { inFlight, leave: leaveDrain } = balanceDrain(ctx, source, environment);
  const fetchOptions = { source, accountIds: opts.account, minLastUpdated, timeoutMs: opts.timeout ? opts.timeout * 1000 : undefined, inFlight } as const;
  const bar = progress(ctx, 'Fetching balances', items.length, { rate: () => pacer.observedRate() });
  // ndjson and csv stream: each item's lines go out, in one write, as soon as that item is
  // answered, so Ctrl-C leaves only whole lines. JSON (one document) and the table wait for all.
  const streaming = format === 'ndjson' || format === 'csv';
  const results: ItemResult[] = new Array(items.length);
  let header = format === 'csv' ? CSV_HEADER : '';
  /** Set when Ctrl-C (or SIGTERM, SIGHUP), or an error that stops the run, stopped the fan-out: what it was stopped with. */
  let stopped: unknown = null;
  try {
    await fanOut(
      items.length,
      // One item is one call, made (and retried) as before; pacing is for fan-outs.
      (index) => fetchItemBalances(shared, store, items[index]!, items.length > 1 ? { ...fetchOptions, pace: pacer.gate(items[index]!.item_id) } : fetchOptions),
      {
        pacer,
        // After Ctrl-C, the calls already sent still end here, with Plaid's answer, a balance or an
        // error: it is kept (a balance was billed). Those stopped before being sent, or cancelled
        // by a second Ctrl-C, never do.
        stop: ctx.signal,
        onDone: (index, result) => {
          if (streaming) {
            const doc: BalanceDocument = { environment, fetched_at: ctx.now().toISOString(), items: [result.json] };
            const lines = format === 'ndjson' ? balanceNdjson(doc) : `${header}${balanceCsvRows(doc)}`;
            header = '';
            bar.above(() => ctx.io.stdout.write(lines));
            // Only what the bookkeeping and the exit code need is kept: memory stays flat over 10,000 items.
            results[index] = { json: { ...result.json, accounts: [] }, error: result.error };
          } else {
            results[index] = result;
          }
          bar.tick(result.error !== null);
        },
      },
    );
  } catch (error) {
    // Ctrl-C, or an error that stops the run (bad credentials, the store): either way, what
    // Plaid has answered so far is kept below.
    stopped = error;
  } finally {
    leaveDrain();
    bar.clear();
  }
  // Stopped by Ctrl-C (SIGTERM, SIGHUP) or by an error: the balances already answered are still
  // printed, since Plaid billed for them (recorded only after Ctrl-C, below), and the run then
  // ends as interrupted (exit 130) or with that error.
  const answered = stopped === null ? results : results.filter((r): r is ItemResult => r !== undefined);
  if (stopped !== null && answered.length === 0) throw stopped;
  // A fan-out's pacing, once at the end (one item is not paced).
  if (stopped === null && ctx.debug && items.length > 1) ctx.info(ctx.io.err.dim(`[debug] pacing: budget ${pacer.budget}/min, ${pacer.attempts} attempts, ${pacer.rateLimited} answered 429, rate at the end ${Math.round(pacer.rate)}/min`));

  const fetchedAt = ctx.now().toISOString();
  const doc: BalanceDocument = { environment, fetched_at: fetchedAt, items: answered.map((r) => r.json) };
  const failures = answered.filter((r) => r.error);
  // One item that failed: its error is the command's error, printed with its hint by the top level.
  // --all is a many-item run whatever the store holds: a script gets 6, not the item's own code,
  // when a store of one item has it failing (as `items status --all` does).
  const oneItem = results.length === 1 && !opts.all;
  if (stopped === null && oneItem && failures.length === 1 && format === 'table') throw failures[0]!.error!;
  // The result first: Plaid billed for it, and the bookkeeping below may wait for the lock or fail.
  if (!streaming) ctx.io.stdout.write(await render(doc, format, ctx));
  // Recorded when the run ended or was interrupted, not when an error stopped it: a failed run
  // leaves the store directory as it was (the balances are on stdout all the same).
  const failedRun = stopped !== null && !(ctx.signal.aborted && stopped === ctx.signal.reason);
  if (source === 'realtime' && !failedRun) await recordLastBalance(ctx, store, answered, fetchedAt, environment);
  if (failedRun) {
    const [n, total] = [answered.length, items.length];
    ctx.info(ctx.io.err.yellow(`${n} of ${total} item${total === 1 ? '' : 's'} had been answered, and ${n === 1 ? 'is' : 'are'} on stdout; the run stopped on the error below.`));
    throw stopped;
  }
  // Ctrl-C after the last answer (while rendering): the output is whole, and the run still ends as
  // interrupted, as check's does.
  if (stopped !== null || ctx.signal.aborted) {
    const [n, total] = [answered.length, items.length];
    const what =
      n === total
        ? `Interrupted, after ${total === 1 ? 'the item' : `all ${total} items`} had been answered (on stdout).`
        : `Interrupted: ${n} of ${total} item${total === 1 ? '' : 's'} had been answered, and ${n === 1 ? 'is' : 'are'} on stdout; the others were not fetched.`;
    throw new CliError(what, { exitCode: ExitCode.INTERRUPTED });
  }
  if (failures.length === 0) return ExitCode.OK;
  if (!oneItem) {
    ctx.info(ctx.io.err.red(`${failures.length} of ${results.length} items failed.`));
    return ExitCode.PARTIAL_FAILURE;
  }
  const only = failures[0]!.error!;
  ctx.info(errorText(ctx.io.err, only));
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

/** A balance document in one of balance's formats (shared with --access-token-stdin). */
export async function render(doc: BalanceDocument, format: BalanceFormat, ctx: Ctx): Promise<string> {
  switch (format) {
    case 'json':
      return balanceJson(doc);
    case 'ndjson':
      return balanceNdjson(doc);
    case 'csv':
      return CSV_HEADER + balanceCsvRows(doc);
    case 'table': {
      // cli-table3 is loaded only for tables: JSON, ndjson and csv (scripts) never pay for it.
      const [{ balanceTable }, { currencyTotals, leftOutOfTotals, totalsTable }] = await Promise.all([import('../../format/balance.js'), import('../../format/totals.js')]);
      const totals = totalsTable(currencyTotals(doc), ctx.io.out, leftOutOfTotals(doc));
      // On a terminal, the table fits its width (the account and type columns wrap).
      const columns = ctx.io.stdoutIsTTY ? (ctx.io.stdout as { columns?: number }).columns : undefined;
      return `${balanceTable(doc, ctx.io.out, { width: columns || undefined })}${totals ? `\n${totals}\n` : ''}`;
    }
  }
}
