/**
 * `plaidbal balance --access-token-stdin`: the balances of one access token read from stdin,
 * for scripts that keep tokens in a secrets manager. It never creates, opens or unlocks a store
 * (no keychain, no passphrase) and writes nothing anywhere: credentials come from
 * PLAID_CLIENT_ID / PLAID_SECRET (for the environment PLAID_ENV names), the item is named by its
 * item_id, and its institution comes from the free /item/get and /institutions/get_by_id.
 */
import type { Ctx } from '../../context.js';
import { DEFAULT_CLIENT_NAME, DEFAULT_COUNTRY_CODES, DEFAULT_LANGUAGE, envCredentialsEnvironment, resolveEnvironment, type Credentials } from '../../credentials.js';
import { CliError, configError, ExitCode, usageError } from '../../errors.js';
import { readStdinUpTo } from '../../io.js';
import type { BalanceDocument, Environment, ItemRecord } from '../../types.js';
import { assertStdinNotTerminal, tokenEnvironment } from '../items/import-parse.js';
import { balanceDrain, fetchBalancesWithToken, parseMinLastUpdated } from './fetch.js';
import { render } from './run.js';
import type { BalanceFormat, BalanceOptions } from './index.js';
import { errorText } from '../../text.js';
import { hintForPlaidError, updateModeFixes } from '../../plaid/errors.js';
import { institutionName } from '../../plaid/institutions.js';

const EXAMPLE = "vault kv get -field=token secret/acme-42 | plaidbal balance --access-token-stdin --json";
/** An access token is short; more than this on stdin is not one token. */
const MAX_INPUT = 16 * 1024;

async function readToken(stdin: NodeJS.ReadableStream): Promise<string> {
  const text = await readStdinUpTo(stdin, MAX_INPUT);
  if (text === null) throw usageError(`More than ${MAX_INPUT / 1024} KiB on stdin: --access-token-stdin reads one access token.`, `For example: ${EXAMPLE}`);
  const token = text.replace(/^\uFEFF/, '').trim();
  if (token === '') throw usageError('No access token on stdin.', `Pipe one in, e.g. ${EXAMPLE}`);
  if (/\s/.test(token)) throw usageError('stdin holds more than one word or line: --access-token-stdin reads exactly one access token.', `For example: ${EXAMPLE}`);
  return token;
}

/** PLAID_CLIENT_ID / PLAID_SECRET, when they are for `environment`: never the store's profile. */
function credentialsFromEnv(env: NodeJS.ProcessEnv, environment: Environment): Credentials {
  const credEnv = envCredentialsEnvironment(env);
  const clientId = env.PLAID_CLIENT_ID;
  const secret = env.PLAID_SECRET;
  const where = '--access-token-stdin never opens the store, so it takes credentials only from PLAID_CLIENT_ID and PLAID_SECRET';
  if (credEnv !== environment) {
    throw configError(
      `The token is a ${environment} token, but PLAID_CLIENT_ID and PLAID_SECRET are for ${credEnv} (${env.PLAID_ENV ? 'PLAID_ENV' : 'PLAID_ENV is not set'}). Nothing was sent to Plaid.`,
      `Set PLAID_ENV=${environment} with that environment's PLAID_CLIENT_ID and PLAID_SECRET (${where}).`,
    );
  }
  if (!clientId || !secret) {
    const missing = [!clientId && 'PLAID_CLIENT_ID', !secret && 'PLAID_SECRET'].filter(Boolean).join(' and ');
    throw configError(`No ${missing} in the environment for ${environment}. Nothing was sent to Plaid.`, `Set them (${where}; \`plaidbal config init\` credentials are not used here).`);
  }
  return { environment, clientId, secret, clientName: DEFAULT_CLIENT_NAME, countryCodes: DEFAULT_COUNTRY_CODES, language: DEFAULT_LANGUAGE };
}

/** What hints call the item: hints that name a store command for it are replaced (oneShotError). */
const UNSTORED = '<the token on stdin>';

/**
 * Plaid's hints name plaidbal commands for a stored item (`plaidbal link --update <item>`,
 * `items remove <item>`); this token is in no store, so such a hint says what holds here instead:
 * the hint for no stored item, where the error does not call for one of its own.
 */
function oneShotError(error: CliError, environment: Environment, now: number): CliError {
  if (!error.hint?.includes(UNSTORED)) return error;
  const p = error.plaid;
  const hint =
    p?.error_code === 'INVALID_ACCESS_TOKEN'
      ? 'Plaid does not know this token: it was removed or rotated, or it belongs to another client_id (check PLAID_CLIENT_ID and PLAID_ENV).'
      : p?.error_code === 'INVALID_ACCOUNT_ID'
        ? "List this token's accounts with the same command without --account (`plaidbal balance --access-token-stdin --json`), and pass one of their account_ids."
        : p && updateModeFixes(p)
          ? "The item needs attention in the application that owns this token (Link's update mode fixes ITEM_LOGIN_REQUIRED); or import it with `plaidbal items import` and run `plaidbal link --update <alias>`."
          : ((p && hintForPlaidError(p, { environment, now })) ?? error.hint.replaceAll(`"${UNSTORED}"`, 'this item').replaceAll(UNSTORED, 'this item'));
  return new CliError(error.message, { exitCode: error.exitCode, plaid: error.plaid, hint });
}

export async function runBalanceOneShot(ctx: Ctx, opts: BalanceOptions): Promise<number> {
  if (opts.item?.length || opts.all) throw usageError('--access-token-stdin checks the one token on stdin; it cannot be combined with --item or --all.', 'Drop --item/--all, or drop --access-token-stdin to check stored items.');
  if (opts.json && opts.format && opts.format !== 'json') throw usageError(`--json and --format ${opts.format} disagree; pick one.`);
  const format: BalanceFormat = opts.json ? 'json' : (opts.format ?? 'table');
  const minLastUpdated = parseMinLastUpdated(opts.minLastUpdated);
  if (opts.cached && minLastUpdated) throw usageError('--min-last-updated applies to real-time balances; drop --cached.');
  const flagEnv = opts.env !== undefined ? resolveEnvironment(opts.env, ctx.env) : undefined;
  assertStdinNotTerminal(ctx.io.stdin, 'plaidbal balance --access-token-stdin', EXAMPLE);

  const token = await readToken(ctx.io.stdin);
  const environment = tokenEnvironment(token);
  if (environment !== 'sandbox' && environment !== 'production') throw usageError(`The input on stdin is ${environment}. Nothing was sent to Plaid.`, `For example: ${EXAMPLE}`);
  if (flagEnv && flagEnv !== environment) throw usageError(`The token is a ${environment} token, but --env is ${flagEnv}. Nothing was sent to Plaid.`, `Drop --env (the token says its environment), or pass --env ${environment} with that environment's PLAID_CLIENT_ID and PLAID_SECRET.`);
  const credentials = credentialsFromEnv(ctx.env, environment);
  const timeoutMs = opts.timeout ? opts.timeout * 1000 : undefined;
  const plaid = await ctx.plaid(environment, { credentials, timeoutMs });
  const secrets = [token];

  // Free: which item this is and where (the Capital One default needs the institution). A token
  // Plaid does not know fails here, before the billed balance call.
  const { item } = await plaid.call('itemGet', { access_token: token }, { secrets, item: UNSTORED }).catch((error: unknown) => {
    throw error instanceof CliError ? oneShotError(error, environment, ctx.now().getTime()) : error;
  });
  const institutionId = item.institution_id ?? null;
  const name = institutionId ? await institutionName(ctx, plaid, institutionId, 'showing its id') : null;
  const record: ItemRecord = { item_id: item.item_id, alias: UNSTORED, environment, institution_id: institutionId, institution_name: name, products: [], linked_at: '' };
  // Ctrl-C during the call waits for Plaid's answer (billed when real-time); a second one cancels it.
  const source = opts.cached ? 'cached' : 'realtime';
  const { inFlight, leave } = balanceDrain(ctx, source, environment);
  let result;
  try {
    result = await fetchBalancesWithToken(ctx, plaid, record, token, { source, accountIds: opts.account, minLastUpdated, timeoutMs, inFlight });
  } finally {
    leave();
  }

  // The item is named by its item_id: it has no alias.
  const doc: BalanceDocument = { environment, fetched_at: ctx.now().toISOString(), items: [{ ...result.json, name: item.item_id }] };
  const failure = result.error ? oneShotError(result.error, environment, ctx.now().getTime()) : null;
  // After a stop, the answer waited for is shown as the stored item's is, in the table (an error
  // row), and the run then ends as interrupted: thrown, the failure would give way to "Interrupted.".
  if (failure && format === 'table' && !ctx.signal.aborted) throw failure;
  ctx.io.stdout.write(await render(doc, format, ctx));
  if (ctx.signal.aborted) throw new CliError('Interrupted, after the item had been answered (on stdout).', { exitCode: ExitCode.INTERRUPTED });
  if (!failure) return ExitCode.OK;
  ctx.info(errorText(ctx.io.err, failure));
  return failure.exitCode;
}
