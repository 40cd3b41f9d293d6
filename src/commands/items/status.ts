/**
 * `plaidbal items status [item] [--all]`: the health of linked items, from Plaid's free
 * /item/get (its error, consent expiration and products) and the store's last balance time.
 * Read-only: it opens tokens but never writes the store, and it never makes a billed call.
 */
import type { Ctx } from '../../context.js';
import { resolveEnvironment } from '../../credentials.js';
import { CliError, ExitCode } from '../../errors.js';
import { itemStatus, statusJson, statusTable, type ItemCheck, type ItemStatus, type StatusDocument } from '../../format/status.js';
import type { PlaidClient } from '../../plaid/client.js';
import { exitCodeForPlaidError, hintForPlaidError, isItemFailure, plaidErrorJson } from '../../plaid/errors.js';
import type { StoredItem } from '../../store/document.js';
import { aad } from '../../store/seal.js';
import type { Store } from '../../store/store.js';
import { fanOut, pacerFor, type PaceGate } from '../../plaid/ratelimit.js';
import { ENVIRONMENTS, type Environment } from '../../types.js';
import { pickItems } from '../pick.js';
import { progress } from '../progress.js';
import type { ItemsStatusOptions } from './index.js';
import { withUnfinishedRotation } from './recovery.js';
import { errorText, escapeControls } from '../../text.js';

interface Checked {
  item: StoredItem;
  check: ItemCheck;
  /** The failed call's error, kept to be thrown as is when one item was asked for. */
  failure: CliError | null;
}

/** One Plaid client per environment, made before any call so a credentials problem stops the run at once. */
async function clientsFor(ctx: Ctx, environments: Environment[]): Promise<Map<Environment, PlaidClient>> {
  const clients = new Map<Environment, PlaidClient>();
  for (const environment of environments) {
    try {
      clients.set(environment, await ctx.plaid(environment));
    } catch (error) {
      if (environments.length > 1 && error instanceof CliError && error.exitCode === ExitCode.CONFIG) {
        const other = environments.find((e) => e !== environment);
        throw new CliError(error.message, { exitCode: error.exitCode, plaid: error.plaid, hint: `${error.hint ? `${error.hint} ` : ''}Or check only the ${other} items with --env ${other}.` });
      }
      throw error;
    }
  }
  return clients;
}

async function checkItem(plaid: PlaidClient, item: StoredItem, accessToken: string, store: Store, pace?: PaceGate): Promise<Checked> {
  const secrets = [accessToken];
  try {
    const response = await plaid.call('itemGet', { access_token: accessToken }, { secrets, item: item.alias, linkedAt: item.linked_at, pace });
    const facts = response.item;
    return {
      item,
      check: {
        ok: true,
        request_id: response.request_id,
        item: {
          error: facts.error ? plaidErrorJson(facts.error, secrets) : null,
          consent_expiration_time: facts.consent_expiration_time ?? null,
          products: (facts.products ?? []).map(String),
          billed_products: (facts.billed_products ?? []).map(String),
        },
      },
      failure: null,
    };
  } catch (error) {
    // An item's own failure leaves the other items of an --all run to be checked; anything else
    // (bad credentials, the store) stops the run.
    if (!isItemFailure(error)) throw error;
    const failure = withUnfinishedRotation(error, store, item);
    return { item, check: { ok: false, error: plaidErrorJson(failure), hint: failure.hint ?? null }, failure };
  }
}

export async function runItemsStatus(ctx: Ctx, ref: string | undefined, opts: ItemsStatusOptions): Promise<number> {
  const envFilter = opts.env !== undefined ? resolveEnvironment(opts.env, ctx.env) : undefined;
  const store = await ctx.store();
  const items = store.withLastBalance(
    pickItems(store, { refs: ref !== undefined ? [ref] : [], all: opts.all, env: envFilter, nameWith: 'plaidbal items status <item>', allowAll: true, onlyItemByDefault: true, oneEnvironment: false }),
  );

  // Opened one after another: the store unlocks once (one passphrase prompt, one scrypt), and a
  // token that does not verify stops the run before any call.
  const tokens = new Map<string, string>();
  for (const item of items) {
    tokens.set(item.item_id, await store.open(item.access_token, aad.accessToken(item.environment, item.item_id), `access token of "${item.alias}"`));
  }
  const environments = ENVIRONMENTS.filter((e) => items.some((i) => i.environment === e));
  const clients = await clientsFor(ctx, environments);

  // One pacer per environment (Plaid's limits are per client, and each environment has its own
  // client), each at its budget for /item/get; the environments one after the other.
  const pacers = new Map(environments.map((e) => [e, pacerFor('itemGet', e, opts)]));
  const bar = progress(ctx, 'Checking items', items.length, { rate: () => [...pacers.values()].reduce((sum, p) => sum + p.observedRate(), 0) });
  const checked: Checked[] = new Array(items.length);
  try {
    for (const environment of environments) {
      const indexes = items.flatMap((item, index) => (item.environment === environment ? [index] : []));
      const pacer = pacers.get(environment)!;
      await fanOut(
        indexes.length,
        (n) => {
          const item = items[indexes[n]!]!;
          return checkItem(clients.get(environment)!, item, tokens.get(item.item_id)!, store, items.length > 1 ? pacer.gate(item.item_id) : undefined);
        },
        {
          pacer,
          onDone: (n, result) => {
            checked[indexes[n]!] = result;
            bar.tick(result.failure !== null);
          },
        },
      );
    }
  } finally {
    bar.clear();
  }

  const now = ctx.now();
  const statuses = checked.map(({ item, check }) => itemStatus(item, check, now));
  const doc: StatusDocument = {
    environment: envFilter ?? (environments.length === 1 ? environments[0]! : null),
    checked_at: now.toISOString(),
    items: statuses.map((s) => s.json),
  };

  if (!opts.all) return reportOne(ctx, checked[0]!, statuses[0]!, doc, opts, now);

  ctx.io.stdout.write(opts.json ? statusJson(doc) : statusTable(statuses, ctx.io.out, now));
  const notOk = statuses.filter((s) => s.json.status !== 'ok');
  if (notOk.length === 0) return ExitCode.OK;
  const failed = notOk.filter((s) => s.json.status === 'error').length;
  const needs = notOk.length - failed;
  const parts = [needs && `${needs} need${needs === 1 ? 's' : ''} its user`, failed && `${failed} failed`].filter(Boolean).join(', ');
  ctx.info(ctx.io.err.red(`${notOk.length} of ${statuses.length} items need attention (${parts}).`));
  return ExitCode.PARTIAL_FAILURE;
}

/**
 * One item: a failed call is the command's error (thrown for the top level to print, as
 * `balance` does; with --json the document still comes first). An item Plaid reports an
 * ITEM_ERROR on, or whose consent is ending, exits 4 like `balance` would on that item.
 */
function reportOne(ctx: Ctx, checked: Checked, status: ItemStatus, doc: StatusDocument, opts: ItemsStatusOptions, now: Date): number {
  const e = ctx.io.err;
  if (checked.failure) {
    if (!opts.json) throw checked.failure;
    ctx.io.stdout.write(statusJson(doc));
    ctx.info(errorText(e, checked.failure));
    return checked.failure.exitCode;
  }
  ctx.io.stdout.write(opts.json ? statusJson(doc) : statusTable([status], ctx.io.out, now));
  const { json } = status;
  if (json.status === 'ok') return ExitCode.OK;
  // Plaid's error_code, and a hint that may quote it: escaped, as in the table above.
  const cause = json.error ? escapeControls(json.error.error_code) : status.consent === 'expired' ? 'its consent has expired' : 'its consent expires soon';
  // What plaidbal says about this error_code (src/plaid/errors.ts ERROR_RULES), e.g. why a Sandbox item expired.
  const rawHint = json.error ? hintForPlaidError(json.error, { environment: checked.item.environment, item: checked.item.alias, linkedAt: checked.item.linked_at, now: now.getTime() }) : undefined;
  const hint = rawHint && escapeControls(rawHint);
  if (json.status === 'needs_update') {
    ctx.info(`${e.yellow(`"${json.name}" needs its user`)} (${cause}). ${e.cyan('Fix:')} ${json.fix}${hint ? `\n${e.cyan('Hint:')} ${hint}` : ''}`);
    return ExitCode.ITEM_NEEDS_USER;
  }
  // Plaid reports an error on the item that update mode does not fix (an institution error, NO_ACCOUNTS…).
  ctx.info(`${e.red(`Plaid reports ${cause} on "${json.name}".`)}${hint ? `\n${e.cyan('Hint:')} ${hint}` : ''}`);
  return json.error ? exitCodeForPlaidError(json.error) : ExitCode.PLAID_FAILURE;
}
