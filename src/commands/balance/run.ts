import type { Ctx } from '../../context.js';
import { resolveEnvironment } from '../../credentials.js';
import { CliError, ExitCode, usageError } from '../../errors.js';
import { balanceJson, balanceTable, toAccountJson } from '../../format/balance.js';
import { plaidErrorJson } from '../../plaid/errors.js';
import type { StoredItem } from '../../store/document.js';
import { aad } from '../../store/seal.js';
import type { Store } from '../../store/store.js';
import type { BalanceDocument, Environment, ItemBalanceJson } from '../../types.js';
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

async function fetchItem(ctx: Ctx, store: Store, item: StoredItem, opts: BalanceOptions): Promise<{ json: ItemBalanceJson; error: CliError | null }> {
  const base = {
    item_id: item.item_id,
    name: item.alias,
    institution_id: item.institution_id,
    institution_name: item.institution_name,
    balance_source: 'realtime' as const,
  };
  try {
    const accessToken = await store.open(item.access_token, aad.accessToken(item.environment, item.item_id), `access token of "${item.alias}"`);
    const plaid = await ctx.plaid(item.environment, { timeoutMs: opts.timeout ? opts.timeout * 1000 : undefined });
    const response = await plaid.call(
      'accountsBalanceGet',
      { access_token: accessToken, ...(opts.account?.length ? { options: { account_ids: opts.account } } : {}) },
      { secrets: [accessToken], item: item.alias },
    );
    return { json: { ...base, request_id: response.request_id, accounts: response.accounts.map(toAccountJson), error: null }, error: null };
  } catch (error) {
    if (!(error instanceof CliError) || !error.plaid) throw error; // store, config and network problems stop the run
    return { json: { ...base, request_id: error.plaid.request_id, accounts: [], error: plaidErrorJson(error) }, error };
  }
}

export async function runBalance(ctx: Ctx, opts: BalanceOptions): Promise<number> {
  const envFilter = opts.env !== undefined ? resolveEnvironment(opts.env, ctx.env) : undefined;
  const store = await ctx.store();
  const items = pickItems(store, opts, envFilter);
  const environment = items[0]!.environment;

  const results: { json: ItemBalanceJson; error: CliError | null }[] = [];
  for (const item of items) results.push(await fetchItem(ctx, store, item, opts));

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
