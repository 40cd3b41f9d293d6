/**
 * `plaidbal doctor`: what is wrong with this set-up, and how to fix it.
 *
 * Read-only by construction: the store is read with the store's own Store.open (which never
 * writes) and only ever unlocked, never updated; file modes and the lock are looked at with
 * stat; Plaid is asked one free, item-less question per environment (/institutions/get with
 * count 1), which also tells whether the host answers, over what, how fast, and Plaid's time.
 * It never prompts unless on a terminal (the context's passphrase provider decides), and
 * nothing it prints comes from a secret: a credential is named by its source, never shown.
 */
import { lstatSync, readFileSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { CountryCode } from 'plaid';
import { VERSION } from '../../cli.js';
import { baseUrlFrom, type Ctx } from '../../context.js';
import { DEFAULT_CLIENT_NAME, DEFAULT_COUNTRY_CODES, DEFAULT_LANGUAGE, envCredentialsEnvironment, resolveCredentials, type Credentials } from '../../credentials.js';
import { CliError, ExitCode, isCliError } from '../../errors.js';
import type { Exchange } from '../../plaid/client.js';
import { exitCodeForPlaidError } from '../../plaid/errors.js';
import { osKeychain, type Keychain, type KeychainProbe } from '../../store/keychain.js';
import { STORE_FILE, storeDir } from '../../store/paths.js';
import { aad } from '../../store/seal.js';
import type { Store } from '../../store/store.js';
import { cappedList, withoutUserinfo } from '../../text.js';
import { ENVIRONMENTS, type Environment } from '../../types.js';
import {
  clockSkew,
  describeDuration,
  exitCodeOf,
  expiredSandboxItems,
  fail,
  formatMode,
  lockState,
  modeProblem,
  ok,
  satisfiesRange,
  shellQuote,
  skewStatus,
  skipped,
  warn,
  type Check,
  type CheckId,
  LOCK_STALE_MS,
  SANDBOX_ITEM_LIFETIME_DAYS,
} from './checks.js';
import type { DoctorOptions } from './index.js';
import { doctorJson, doctorReport, type DoctorDocument } from './format.js';

/** What doctor reads from the machine, replaceable in tests. */
export interface DoctorDeps {
  keychain: Keychain;
  nodeVersion: string;
  /** package.json `engines.node`. */
  engines: string;
  platform: NodeJS.Platform;
  uid: number | null;
}

export const DOCTOR_TIMEOUT_MS = 10_000;

declare const __PLAIDBAL_NODE_ENGINES__: string;

/** package.json's `engines.node`: put in by the build; read from package.json when running from source. */
function enginesRange(): string {
  if (typeof __PLAIDBAL_NODE_ENGINES__ === 'string') return __PLAIDBAL_NODE_ENGINES__;
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { engines?: { node?: string } };
  return pkg.engines?.node ?? '';
}

export function realDoctorDeps(env: NodeJS.ProcessEnv): DoctorDeps {
  return {
    keychain: osKeychain({ env }),
    nodeVersion: process.versions.node,
    engines: enginesRange(),
    platform: process.platform,
    uid: typeof process.getuid === 'function' ? process.getuid() : null,
  };
}

const asCliError = (error: unknown): CliError => (isCliError(error) ? error : new CliError(error instanceof Error ? error.message : String(error), { exitCode: ExitCode.UNEXPECTED }));
const sentence = (error: CliError) => error.message.replace(/\s+$/, '');

// ---------------------------------------------------------------------------------------------
// Node and environment

function nodeCheck(deps: DoctorDeps): Check {
  const base = { id: 'node' as const, title: 'Node.js', details: { version: deps.nodeVersion, required: deps.engines } };
  const verdict = satisfiesRange(deps.nodeVersion, deps.engines);
  if (verdict === null) return warn(base, `v${deps.nodeVersion}; the required range "${deps.engines}" (package.json engines) could not be read`, 'Report this: the package.json of this plaidbal has an engines range doctor does not understand.');
  if (verdict) return ok(base, `v${deps.nodeVersion} (package.json engines: ${deps.engines})`);
  return fail(base, `v${deps.nodeVersion} does not satisfy ${deps.engines} (package.json engines)`, `Install a supported Node (${deps.engines}; tested on 22 and 24), e.g. \`nvm install 24\`, and run plaidbal with it.`, ExitCode.CONFIG);
}

function environmentCheck(ctx: Ctx): { check: Check; defaultEnvironment: Environment; valid: boolean } {
  const baseUrl = ctx.env.PLAIDBAL_BASE_URL ? withoutUserinfo(ctx.env.PLAIDBAL_BASE_URL) : null;
  const base = { id: 'environment' as const, title: 'Environment', details: { plaid_env: ctx.env.PLAID_ENV ?? null, base_url: baseUrl } };
  try {
    const environment = envCredentialsEnvironment(ctx.env);
    try {
      baseUrlFrom(ctx.env);
    } catch (error) {
      // PLAID_ENV is fine; no call can be made (the network and TLS checks say so).
      const e = asCliError(error);
      return { check: fail({ ...base, details: { ...base.details, default: environment } }, sentence(e), e.hint ?? null, ExitCode.CONFIG), defaultEnvironment: environment, valid: true };
    }
    const where = ctx.env.PLAID_ENV ? `PLAID_ENV=${environment}` : `${environment} (PLAID_ENV is not set)`;
    const override = baseUrl ? `; every call goes to PLAIDBAL_BASE_URL=${baseUrl}` : '';
    return { check: ok({ ...base, details: { ...base.details, default: environment } }, `${where}${override}`), defaultEnvironment: environment, valid: true };
  } catch (error) {
    const e = asCliError(error);
    return { check: fail({ ...base, details: { ...base.details, default: null } }, sentence(e), e.hint ?? null, ExitCode.CONFIG), defaultEnvironment: 'sandbox', valid: false };
  }
}

// ---------------------------------------------------------------------------------------------
// The store's files

interface Inspected {
  path: string;
  stats: Stats | null;
  /** Why it could not be looked at, other than not existing. */
  error: string | null;
}

function inspect(path: string, follow: boolean): Inspected {
  try {
    return { path, stats: follow ? statSync(path) : lstatSync(path), error: null };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { path, stats: null, error: code === 'ENOENT' ? null : (code ?? (error as Error).message) };
  }
}

function modeCheck(id: 'store.directory' | 'store.file', what: Inspected, kind: 'file' | 'directory', deps: DoctorDeps): Check {
  const title = kind === 'file' ? 'Store file' : 'Store directory';
  const expected = kind === 'file' ? '0600' : '0700';
  const details = { path: what.path, exists: what.stats !== null, mode: what.stats ? formatMode(what.stats.mode) : null, expected_mode: expected };
  const base = { id, title, details };
  const p = shellQuote(what.path);
  if (what.error) return fail(base, `${what.path} cannot be looked at (${what.error})`, `Check the permissions of its parent directories, or point PLAIDBAL_CONFIG_DIR at a directory you own.`, ExitCode.CONFIG);
  if (!what.stats) {
    return kind === 'file'
      ? warn(base, `no store yet at ${what.path}`, 'Run `plaidbal config init` (or `plaidbal link --sandbox`): the first saved secret creates it.')
      : warn(base, `${what.path} does not exist yet`, 'Nothing to do: plaidbal creates it (mode 0700) when it first saves something.');
  }
  const isRight = kind === 'file' ? what.stats.isFile() : what.stats.isDirectory();
  if (!isRight) return fail(base, `${what.path} is not a ${kind}`, `Move it aside (mv ${p} ${shellQuote(`${what.path}.aside`)}), or point PLAIDBAL_CONFIG_DIR elsewhere.`, ExitCode.CONFIG);
  if (deps.platform === 'win32') return skipped(base, `${what.path} (file modes do not apply on Windows)`);
  if (deps.uid !== null && what.stats.uid !== deps.uid) {
    return fail(base, `${what.path} belongs to user id ${what.stats.uid}, not to you (${deps.uid})`, `Run plaidbal as its owner, or take it over: chown "$(id -u)" ${p}`, ExitCode.CONFIG);
  }
  const problem = modeProblem(what.stats.mode, kind);
  const mode = formatMode(what.stats.mode);
  if (problem) return fail(base, `${what.path} has mode ${mode} (expected ${expected}): ${problem}`, `chmod ${expected.slice(1)} ${p}`, ExitCode.CONFIG);
  return ok(base, `${what.path}, mode ${mode}`);
}

function lockCheck(lockPath: string, now: Date): Check {
  const seen = inspect(lockPath, false);
  const lock = seen.stats ? { isDirectory: seen.stats.isDirectory(), mtimeMs: seen.stats.mtimeMs } : null;
  const { state, ageMs } = lockState(lock, now.getTime());
  const base = { id: 'store.lock' as const, title: 'Store lock', details: { path: lockPath, state, age_ms: ageMs } };
  const p = shellQuote(lockPath);
  if (seen.error) return fail(base, `${lockPath} cannot be looked at (${seen.error})`, 'Check the permissions of the store directory.', ExitCode.CONFIG);
  switch (state) {
    case 'none':
      return ok(base, 'not locked');
    case 'held':
      return ok(base, `held by a running plaidbal (refreshed ${describeDuration(ageMs!)} ago)`);
    case 'stale':
      return warn(
        base,
        `${lockPath} was last refreshed ${describeDuration(ageMs!)} ago (stale after ${LOCK_STALE_MS / 1000} s): a plaidbal that was writing the store was killed`,
        `Nothing is lost (writes are atomic) and the next plaidbal that writes removes it. To remove it now, when no plaidbal is running: rmdir ${p}`,
      );
    default:
      return fail(base, `${lockPath} is not a directory, so no plaidbal can lock the store to write it`, `Remove it when no plaidbal is running: rm ${p}`, ExitCode.CONFIG);
  }
}

// ---------------------------------------------------------------------------------------------
// The key

type Unlock = { state: 'open' } | { state: 'failed'; error: CliError } | { state: 'not_tried'; reason: string };

function keychainCheck(store: Store | null, probe: KeychainProbe, unlock: Unlock): Check {
  const key = store?.doc.key ?? null;
  const details = { available: probe.available, reason: probe.available ? null : probe.reason, key_source: key?.source ?? null, account: key?.source === 'keychain' ? key.account : null, entry: null as string | null };
  const base = { id: 'key.keychain' as const, title: 'Keychain' };
  const answers = probe.available ? 'the OS keychain answers' : `no OS keychain answered (${probe.reason})`;
  if (!key) {
    if (!store) return skipped({ ...base, details }, `${answers}; the store cannot be read, so its key source is unknown`);
    return probe.available
      ? ok({ ...base, details }, `${answers}; the store has no key yet, and will keep it there`)
      : warn({ ...base, details }, `${answers}; the store has no key yet, so \`plaidbal config init\` will protect it with a passphrase`, 'Unlock or start your keychain (on Linux: a Secret Service such as gnome-keyring) to keep the key there, or use a passphrase (PLAIDBAL_PASSPHRASE for scripts).');
  }
  if (key.source === 'passphrase') return skipped({ ...base, details }, `not used: this store's key comes from a passphrase (${answers})`);
  if (unlock.state === 'open') {
    details.entry = 'present';
    return ok({ ...base, details }, `${answers}; its entry for this store (service "plaidbal", account "${key.account}") is there and opens the store`);
  }
  const error = unlock.state === 'failed' ? unlock.error : null;
  details.entry = error && /has no plaidbal key/.test(error.message) ? 'missing' : error && /does not open/.test(error.message) ? 'wrong' : 'unknown';
  return fail(
    { ...base, details },
    error ? sentence(error) : answers,
    error?.hint ?? 'Unlock your keychain and try again, or move to a passphrase with `plaidbal config rekey --to passphrase`.',
    ExitCode.CONFIG,
  );
}

function passphraseCheck(ctx: Ctx, store: Store | null, unlock: Unlock): Check {
  const set = Boolean(ctx.env.PLAIDBAL_PASSPHRASE);
  const key = store?.doc.key ?? null;
  const details = { set, can_prompt: ctx.io.canPrompt, needed: key?.source === 'passphrase' };
  const base = { id: 'key.passphrase' as const, title: 'Passphrase', details };
  const available = set ? 'PLAIDBAL_PASSPHRASE is set' : ctx.io.canPrompt ? 'PLAIDBAL_PASSPHRASE is not set; a terminal can ask for it' : 'PLAIDBAL_PASSPHRASE is not set and there is no terminal to ask';
  if (key?.source !== 'passphrase') return skipped(base, `not needed${key ? ' (the key is in the keychain)' : store ? ' yet' : ''}; ${available}`);
  if (unlock.state === 'open') return ok(base, `${set ? 'PLAIDBAL_PASSPHRASE' : 'the passphrase typed'} opens the store`);
  if (unlock.state === 'failed') return fail(base, sentence(unlock.error), unlock.error.hint ?? null, ExitCode.CONFIG);
  return fail(base, `${available}: every command that opens a token or a stored secret fails`, 'Set PLAIDBAL_PASSPHRASE in the environment (not on the command line), or run plaidbal on a terminal.', ExitCode.CONFIG);
}

async function tryUnlock(ctx: Ctx, store: Store | null): Promise<Unlock> {
  const key = store?.doc.key;
  if (!store || !key) return { state: 'not_tried', reason: store ? 'the store has no key yet' : 'the store cannot be read' };
  // A passphrase comes from PLAIDBAL_PASSPHRASE, or from a prompt on a terminal only.
  if (key.source === 'passphrase' && !ctx.env.PLAIDBAL_PASSPHRASE && !ctx.io.canPrompt) {
    return { state: 'not_tried', reason: 'PLAIDBAL_PASSPHRASE is not set and there is no terminal to ask for the passphrase' };
  }
  try {
    await store.unlock();
    return { state: 'open' };
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    return { state: 'failed', error: asCliError(error) };
  }
}

// ---------------------------------------------------------------------------------------------
// Credentials and Plaid

interface Probe {
  environment: Environment;
  host: string;
  /** True when real credentials were sent; false for the credential-less reachability probe. */
  authenticated: boolean;
  exchange: Exchange | null;
  sentAtMs: number;
  receivedAtMs: number | null;
  requestId: string | null;
  error: CliError | null;
  /** Why no call could be made at all (PLAIDBAL_BASE_URL that is no http(s) URL: the Environment check says so). */
  unusable: string | null;
}

type Resolved = { state: 'resolved'; credentials: Credentials; source: { client_id: string; secret: string } } | { state: 'missing' | 'unchecked'; check: Check };

function credentialSources(ctx: Ctx, store: Store, environment: Environment, envValid: boolean, defaultEnvironment: Environment) {
  const fromEnv = envValid && defaultEnvironment === environment;
  const profile = store.doc.profiles[environment];
  return {
    client_id: fromEnv && ctx.env.PLAID_CLIENT_ID ? 'PLAID_CLIENT_ID' : profile?.client_id ? 'store' : null,
    secret: fromEnv && ctx.env.PLAID_SECRET ? 'PLAID_SECRET' : profile?.secret ? 'store (sealed)' : null,
  };
}

async function resolveFor(ctx: Ctx, store: Store | null, environment: Environment, unlock: Unlock, envValid: boolean, defaultEnvironment: Environment): Promise<Resolved> {
  const base = { id: 'credentials' as const, title: `Credentials (${environment})`, environment };
  if (!store) return { state: 'unchecked', check: skipped({ ...base, details: { client_id: null, client_id_source: null, secret_source: null } }, 'not checked: the store cannot be read (see Store contents), and every command stops there') };
  const source = credentialSources(ctx, store, environment, envValid, defaultEnvironment);
  // The client_id is stored in the clear: known whether or not the sealed secret is opened.
  const clientId = source.client_id === 'PLAID_CLIENT_ID' ? (ctx.env.PLAID_CLIENT_ID ?? null) : source.client_id === 'store' ? (store.doc.profiles[environment]?.client_id ?? null) : null;
  const details = { client_id: clientId, client_id_source: source.client_id, secret_source: source.secret };
  if (source.secret === 'store (sealed)' && unlock.state !== 'open') {
    const why = unlock.state === 'failed' ? 'the store key did not open (see Keychain / Passphrase)' : unlock.reason;
    return { state: 'unchecked', check: skipped({ ...base, details }, `not checked: the ${environment} secret is sealed in the store, and ${why}`, unlock.state === 'not_tried' ? 'Set PLAIDBAL_PASSPHRASE (or run doctor on a terminal) to check it.' : null) };
  }
  try {
    const credentials = await resolveCredentials(store, environment, ctx.env);
    return { state: 'resolved', credentials, source: { client_id: source.client_id ?? 'store', secret: source.secret ?? 'PLAID_SECRET' } };
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    const e = asCliError(error);
    return { state: 'missing', check: fail({ ...base, details }, sentence(e), e.hint ?? null, ExitCode.CONFIG) };
  }
}

const anonymous = (environment: Environment): Credentials => ({ environment, clientId: '', secret: '', clientName: DEFAULT_CLIENT_NAME, countryCodes: DEFAULT_COUNTRY_CODES, language: DEFAULT_LANGUAGE });

/** One /institutions/get (free, needs no item): with the credentials when there are some, else without, for the network facts alone. */
async function probe(ctx: Ctx, environment: Environment, credentials: Credentials | null, timeoutMs: number): Promise<Probe> {
  let plaid: Awaited<ReturnType<Ctx['plaid']>>;
  try {
    plaid = await ctx.plaid(environment, { credentials: credentials ?? anonymous(environment), retries: 0, timeoutMs });
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    // The report goes on without this environment's calls: no check may stop it.
    const e = asCliError(error);
    const host = ctx.env.PLAIDBAL_BASE_URL ? withoutUserinfo(ctx.env.PLAIDBAL_BASE_URL) : environment;
    return { environment, host, authenticated: credentials !== null, exchange: null, sentAtMs: 0, receivedAtMs: null, requestId: null, error: e, unusable: sentence(e).replace(/\.$/, '') };
  }
  const result: Probe = { environment, host: plaid.host, authenticated: credentials !== null, exchange: null, sentAtMs: 0, receivedAtMs: null, requestId: null, error: null, unusable: null };
  const observe = (exchange: Exchange) => {
    result.exchange = exchange;
    if (exchange.status !== null) result.receivedAtMs = ctx.now().getTime();
  };
  const countryCodes = (credentials?.countryCodes.length ? credentials.countryCodes : DEFAULT_COUNTRY_CODES) as CountryCode[];
  result.sentAtMs = ctx.now().getTime();
  try {
    const response = await plaid.call('institutionsGet', { count: 1, offset: 0, country_codes: countryCodes }, { observe });
    result.requestId = response.request_id;
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    result.error = asCliError(error);
    result.requestId = result.error.plaid?.request_id ?? null;
  }
  return result;
}

function credentialsCheck(resolved: Extract<Resolved, { state: 'resolved' }>, p: Probe): Check {
  const { environment } = p;
  const base = { id: 'credentials' as const, title: `Credentials (${environment})`, environment };
  const details = { client_id: resolved.credentials.clientId, client_id_source: resolved.source.client_id, secret_source: resolved.source.secret, error_code: null as string | null, request_id: p.requestId };
  const from = `client_id ${resolved.credentials.clientId} (${resolved.source.client_id}), secret from ${resolved.source.secret}`;
  if (!p.error) return ok({ ...base, details }, `${from}: Plaid accepts them`);
  const plaidError = p.error.plaid;
  if (plaidError) {
    details.error_code = plaidError.error_code;
    if (exitCodeForPlaidError(plaidError) === ExitCode.CONFIG) {
      return fail({ ...base, details }, `${from}: Plaid refuses them with ${plaidError.error_code} (request_id ${plaidError.request_id ?? '—'})`, p.error.hint ?? `Check the ${environment} client id and secret in the Plaid dashboard.`, ExitCode.CONFIG);
    }
    return skipped({ ...base, details }, `${from}: not checked, Plaid answered ${plaidError.error_code} (see Plaid host)`);
  }
  return skipped({ ...base, details }, `${from}: not checked, Plaid could not be asked (see Plaid host)`);
}

/** What the usual network error codes mean, in words. */
const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'its name does not resolve (DNS)',
  EAI_AGAIN: 'its name could not be resolved just now (DNS)',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'timed out',
  ECONNABORTED: 'timed out',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'the network is unreachable',
  ERR_INVALID_URL: 'it is not a valid URL',
};

const TLS_ERROR = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|EPROTO/i;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function networkCheck(ctx: Ctx, p: Probe): Check {
  const status = p.exchange?.status ?? null;
  const rtt = p.receivedAtMs === null ? null : Math.max(0, p.receivedAtMs - p.sentAtMs);
  const details = { host: p.host, base_url_override: Boolean(ctx.env.PLAIDBAL_BASE_URL), reachable: status !== null, http_status: status, rtt_ms: rtt, error_code: p.exchange?.errorCode ?? p.error?.plaid?.error_code ?? null, request_id: p.requestId };
  const base = { id: 'network' as const, title: `Plaid host (${p.environment})`, environment: p.environment, details };
  if (p.unusable) return skipped(base, `not checked: ${p.unusable} (see Environment)`);
  if (status === null) {
    const code = p.exchange?.errorCode ?? null;
    const why = code ? `${NETWORK_ERRORS[code] ?? 'the request failed'} (${code})` : 'no answer';
    const fix = code === 'ECONNABORTED' || code === 'ETIMEDOUT' ? 'Check your network connection and any proxy; --timeout waits longer.' : 'Check your network connection (and PLAIDBAL_BASE_URL, if set).';
    return fail(base, `${p.host} cannot be reached: ${why}`, fix, ExitCode.PLAID_FAILURE);
  }
  const e = p.error;
  const took = `answered in ${rtt} ms`;
  if (e && !e.plaid) return fail(base, `${p.host} ${took} with HTTP ${status}, but not with a Plaid response`, e.hint ?? null, ExitCode.PLAID_FAILURE);
  if (e?.plaid && (status === 429 || status >= 500)) {
    return fail(base, `${p.host} ${took}, failing: HTTP ${status} ${e.plaid.error_code} (request_id ${e.plaid.request_id ?? '—'})`, e.hint ?? 'Try again later.', ExitCode.PLAID_FAILURE);
  }
  return ok(base, `${p.host} ${took}${p.authenticated ? '' : ' (asked without credentials, so with a Plaid error, as expected)'}`);
}

function tlsCheck(ctx: Ctx, p: Probe): Check {
  let url: URL | null = null;
  try {
    url = new URL(p.host);
  } catch {
    // Reported by the network check: axios cannot call it either.
  }
  const tls = url?.protocol === 'https:';
  const details = { host: p.host, tls, protocol: p.exchange?.tlsProtocol ?? null };
  const base = { id: 'tls' as const, title: `TLS (${p.environment})`, environment: p.environment, details };
  if (p.unusable) return skipped(base, `not checked: ${p.unusable} (see Environment)`);
  if (!url) return skipped(base, `not checked: ${p.host} is not a URL`);
  if (!tls) {
    const source = ctx.env.PLAIDBAL_BASE_URL ? ' (PLAIDBAL_BASE_URL)' : '';
    if (LOOPBACK.has(url.hostname)) return warn(base, `not TLS: ${p.host}${source} is plain HTTP on this machine, as only the Plaid emulator is served`, 'Nothing to do for the emulator. For Plaid itself, unset PLAIDBAL_BASE_URL.');
    return fail(base, `not TLS: ${p.host}${source} is plain HTTP, so the Plaid secret would cross the network readable by anyone on the way`, 'Unset PLAIDBAL_BASE_URL (Plaid is https only), or point it at an https:// proxy.', ExitCode.CONFIG);
  }
  const code = p.exchange?.errorCode ?? null;
  if (p.exchange?.status == null) {
    if (code && TLS_ERROR.test(code)) {
      return fail(base, `the TLS connection to ${p.host} failed (${code})`, 'A proxy or antivirus may be intercepting TLS: give Node its certificate with NODE_EXTRA_CA_CERTS=/path/to/ca.pem, or check the system clock.', ExitCode.PLAID_FAILURE);
    }
    return skipped(base, `not checked: ${p.host} did not answer (see Plaid host)`);
  }
  return ok(base, `${p.host} over ${details.protocol ?? 'TLS'}`);
}

function clockCheck(probes: Probe[]): Check {
  const base = { id: 'clock' as const, title: 'Clock' };
  for (const p of probes) {
    const date = p.exchange?.date;
    if (!date || p.receivedAtMs === null) continue;
    const skew = clockSkew(p.sentAtMs, p.receivedAtMs, date);
    if (!skew) continue;
    const details = { environment: p.environment, plaid_date: date, skew_ms: skew.skewMs, uncertainty_ms: skew.uncertaintyMs };
    const b = { ...base, environment: p.environment, details };
    const status = skewStatus(skew);
    const size = `${describeDuration(skew.skewMs)} ${skew.skewMs > 0 ? 'ahead of' : 'behind'} Plaid's (Date: ${date})`;
    const fix = 'Set the clock right and keep it so: turn on network time (e.g. `timedatectl set-ntp true`, or your OS\'s "set time automatically").';
    if (status === 'fail') return fail(b, `this machine's clock is ${size}`, fix, ExitCode.CONFIG);
    if (status === 'warn') return warn(b, `this machine's clock is ${size}`, fix);
    return ok(b, `within ${describeDuration(Math.max(Math.abs(skew.skewMs), skew.uncertaintyMs))} of Plaid's (Date: ${date})`);
  }
  return skipped({ ...base, details: { environment: null, plaid_date: null, skew_ms: null, uncertainty_ms: null } }, 'not checked: no Plaid host answered with a Date header');
}

// ---------------------------------------------------------------------------------------------
// Items

async function itemsCheck(store: Store, environment: Environment, unlock: Unlock): Promise<Check> {
  const items = store.items(environment);
  const details = { count: items.length, aliases: items.map((i) => i.alias), tokens_checked: false, unverified: [] as string[] };
  const base = { id: 'items' as const, title: `Items (${environment})`, environment, details };
  if (items.length === 0) return ok(base, `none linked${environment === 'sandbox' ? ' (`plaidbal link --sandbox` links one)' : ''}`);
  const list = `${items.length} linked: ${cappedList(items.map((i) => i.alias))}`;
  if (unlock.state !== 'open') return ok(base, `${list} (their tokens were not checked: the store key is not open)`);
  for (const item of items) {
    try {
      await store.open(item.access_token, aad.accessToken(item.environment, item.item_id), `access token of "${item.alias}"`);
    } catch {
      details.unverified.push(item.alias);
    }
  }
  details.tokens_checked = true;
  if (details.unverified.length) {
    return fail(base, `${list}; the sealed access token of ${cappedList(details.unverified.map((a) => `"${a}"`))} does not verify (altered, or copied from another store)`, `Remove and link again: plaidbal items remove ${shellQuote(details.unverified[0]!)} --local --yes && plaidbal link`, ExitCode.CONFIG);
  }
  return ok(base, `${list}; every access token opens`);
}

function sandboxAgeCheck(store: Store, now: Date): Check {
  const expired = expiredSandboxItems(store.items('sandbox'), now);
  const details = { lifetime_days: SANDBOX_ITEM_LIFETIME_DAYS, items: expired.map(({ item, ageDays }) => ({ name: item.alias, item_id: item.item_id, linked_at: item.linked_at, age_days: ageDays })) };
  const base = { id: 'items.sandbox_age' as const, title: 'Sandbox item age', environment: 'sandbox' as const, details };
  if (expired.length === 0) return ok(base, `no Sandbox item is older than ${SANDBOX_ITEM_LIFETIME_DAYS} days`);
  const names = cappedList(expired.map(({ item, ageDays }) => `"${item.alias}" (${ageDays} days)`));
  return warn(
    base,
    `${names} ${expired.length === 1 ? 'was' : 'were'} linked over ${SANDBOX_ITEM_LIFETIME_DAYS} days ago: Plaid expires Sandbox items then (ITEM_LOGIN_REQUIRED)`,
    `See with \`plaidbal items status --all --env sandbox\`; fix one with \`plaidbal link --update ${shellQuote(expired[0]!.item.alias)}\`, or link a new one with \`plaidbal link --sandbox\`.`,
  );
}

// ---------------------------------------------------------------------------------------------

export async function runDoctor(ctx: Ctx, opts: DoctorOptions, givenDeps?: DoctorDeps): Promise<number> {
  const deps = givenDeps ?? realDoctorDeps(ctx.env);
  const timeoutMs = opts.timeout !== undefined ? Math.round(opts.timeout * 1000) : DOCTOR_TIMEOUT_MS;
  // The keychain probe starts a helper process: let it run while the rest is looked at.
  const keychainProbe = deps.keychain.probe();

  const checks: Check[] = [nodeCheck(deps)];
  const { check: envCheck, defaultEnvironment, valid: envValid } = environmentCheck(ctx);
  checks.push(envCheck);

  const dir = storeDir(ctx.env);
  const path = join(dir, STORE_FILE);
  checks.push(modeCheck('store.directory', inspect(dir, true), 'directory', deps));
  const file = inspect(path, true);
  checks.push(modeCheck('store.file', file, 'file', deps));

  let store: Store | null = null;
  const contents = { id: 'store.contents' as const, title: 'Store contents' };
  try {
    store = await ctx.store();
    const doc = store.doc;
    const details = { readable: true, version: store.exists ? doc.version : null, key_source: doc.key?.source ?? null, profiles: Object.keys(doc.profiles), items: doc.items.length };
    checks.push(
      store.exists
        ? ok({ ...contents, details }, `a valid store (version ${doc.version}): ${doc.items.length} item${doc.items.length === 1 ? '' : 's'}, ${Object.keys(doc.profiles).length ? `credentials for ${Object.keys(doc.profiles).join(' and ')}` : 'no stored credentials'}, key ${doc.key ? `in the ${doc.key.source === 'keychain' ? 'OS keychain' : 'passphrase'}` : 'not set up yet'}`)
        : skipped({ ...contents, details }, 'no store yet: nothing to read'),
    );
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    const e = asCliError(error);
    checks.push(fail({ ...contents, details: { readable: false, version: null, key_source: null, profiles: [], items: null } }, sentence(e), e.hint ?? null, ExitCode.CONFIG));
  }
  checks.push(lockCheck(`${path}.lock`, ctx.now()));

  const unlock = await tryUnlock(ctx, store);
  checks.push(keychainCheck(store, await keychainProbe, unlock), passphraseCheck(ctx, store, unlock));

  // The environments in use: with credentials (stored, or PLAID_CLIENT_ID/PLAID_SECRET for PLAID_ENV) or items.
  const doc = store?.doc;
  const inUse = ENVIRONMENTS.filter(
    (e) => doc?.profiles[e] || doc?.items.some((i) => i.environment === e) || (envValid && defaultEnvironment === e && (ctx.env.PLAID_CLIENT_ID || ctx.env.PLAID_SECRET)),
  );
  const environments: Environment[] = inUse.length ? inUse : [defaultEnvironment];

  const resolved: Resolved[] = [];
  for (const environment of environments) resolved.push(await resolveFor(ctx, store, environment, unlock, envValid, defaultEnvironment));
  const probes = await Promise.all(environments.map((environment, i) => {
    const r = resolved[i]!;
    return probe(ctx, environment, r.state === 'resolved' ? r.credentials : null, timeoutMs);
  }));

  environments.forEach((environment, i) => {
    const r = resolved[i]!;
    const p = probes[i]!;
    checks.push(r.state === 'resolved' ? credentialsCheck(r, p) : r.check, networkCheck(ctx, p), tlsCheck(ctx, p));
  });
  if (store) {
    for (const environment of environments) checks.push(await itemsCheck(store, environment, unlock));
    if (environments.includes('sandbox')) checks.push(sandboxAgeCheck(store, ctx.now()));
  }
  checks.push(clockCheck(probes));

  const exitCode = exitCodeOf(checks);
  const document: DoctorDocument = { plaidbal_version: VERSION, checked_at: ctx.now().toISOString(), ok: exitCode === ExitCode.OK, exit_code: exitCode, checks };
  ctx.io.stdout.write(opts.json ? doctorJson(document) : doctorReport(document, ctx.io.out));
  return exitCode;
}

export type { CheckId };
