/**
 * The OS keychain (macOS Keychain, Windows Credential Manager, Linux Secret Service) as a
 * place to keep plaidbal's sealing key, behind a small interface with a hard timeout on
 * every call.
 *
 * Why every native call runs in a short-lived helper process rather than in this one
 * (measured with @napi-rs/keyring 1.3.0 on Linux, Node 20; not re-measured with 2.x):
 * - `new Entry()` / `new AsyncEntry()` probe the Secret Service synchronously on the calling
 *   thread. If the D-Bus peer accepts the connection but never answers, the constructor
 *   blocks the event loop forever: no timer can fire, so racing a promise is useless.
 * - AsyncEntry's work, and findCredentialsAsync, run on libuv's thread pool. A call that
 *   hangs there keeps the process alive, and `process.exit()` hangs too, because Node joins
 *   the pool's threads on the way out, so no exit timer can end it.
 * A separate process can be SIGKILLed. So on timeout the helper is killed, the caller gets
 * KeychainError('timeout'), and nothing of the hung call is left in plaidbal's process.
 * The cost is one `node` start per call (about as much as plaidbal's own start). On Linux,
 * `get` — the read every command that opens the store makes — therefore skips the helper: it
 * asks the Secret Service over D-Bus in this process (src/store/secret-service.ts), where a
 * timer can always end it, and falls back to the helper only for a bus it cannot speak to.
 * Writes, deletes and the probe (`config init`, `config rekey`, `items remove`; `doctor` probes too)
 * use the helper, and so open a Secret Service session first, as the library does.
 *
 * On Linux, @napi-rs/keyring falls back on its own to the kernel keyring (keyutils) when no
 * Secret Service answers. That store is in memory only and is lost at reboot, which would lose
 * every sealed secret with it, so the helper pins every entry to the Secret Service
 * (`{ linux: { store: 'secret-service' } }`, @napi-rs/keyring 2): "no Secret Service" is then an
 * error, reported as unavailable. Since 2.x the library also throws on a locked collection (1.x
 * answered null and false, as if the entry were absent); its errors carry no code for that, so the
 * helper still tells a lock apart by the Secret Service's words.
 *
 * Timeouts: `timeoutMs` (default 5000) for get/set/delete and `probeTimeoutMs` (default
 * 2000) for probe. The environment variable PLAIDBAL_KEYCHAIN_TIMEOUT_MS, when set, replaces
 * both defaults, for a keychain that is slow to answer (for example one that shows an unlock
 * prompt). Options passed in code take precedence over it.
 */
import { fileURLToPath } from 'node:url';
import { configError } from '../errors.js';
import type { HelperInput, HelperReply, HelperRequest } from './keychain-helper.mjs';
import { BusError, lookupSecrets } from './secret-service.js';
import { SECRET_VARIABLES } from '../types.js';

export const KEYCHAIN_SERVICE = 'plaidbal';
export const KEYCHAIN_TIMEOUT_ENV = 'PLAIDBAL_KEYCHAIN_TIMEOUT_MS';
const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_PROBE_TIMEOUT_MS = 2000;
const MAX_TIMEOUT_MS = 600_000;
/** The helper's reply is a few hundred bytes; anything past this is not a reply. */
const MAX_HELPER_OUTPUT = 64 * 1024;

export interface KeychainOptions {
  /** Limit for get/set/delete, in ms. Default 5000, or PLAIDBAL_KEYCHAIN_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Limit for probe, in ms. Default 2000, or PLAIDBAL_KEYCHAIN_TIMEOUT_MS. */
  probeTimeoutMs?: number;
  /**
   * Environment to read PLAIDBAL_KEYCHAIN_TIMEOUT_MS from and to hand the helper process
   * (which needs DBUS_SESSION_BUS_ADDRESS on Linux). Default: process.env.
   */
  env?: Record<string, string | undefined>;
}

export type KeychainProbe = { available: true } | { available: false; reason: string };

export interface Keychain {
  /** Does a keychain answer here? Never throws. */
  probe(): Promise<KeychainProbe>;
  /** The stored secret, or null when there is no entry. Throws KeychainError. */
  get(account: string): Promise<string | null>;
  set(account: string, secret: string): Promise<void>;
  /** True when an entry was removed, false when there was none. Throws KeychainError. */
  delete(account: string): Promise<boolean>;
}

export type KeychainErrorReason = 'timeout' | 'unavailable' | 'failed';

/** Messages never contain the secret: the helper and this module both redact it. */
export class KeychainError extends Error {
  readonly reason: KeychainErrorReason;

  constructor(reason: KeychainErrorReason, message: string) {
    super(message);
    this.name = 'KeychainError';
    this.reason = reason;
  }
}

export function isKeychainError(error: unknown): error is KeychainError {
  return error instanceof KeychainError;
}

/** The real keychain of this OS, under the service name 'plaidbal'. */
export function osKeychain(opts: KeychainOptions = {}): Keychain {
  const env = opts.env ?? process.env;
  let limits: { call: number; probe: number } | undefined;
  // Read lazily, so a bad value only stops commands that actually use the keychain.
  const timeouts = () => (limits ??= resolveTimeouts(opts, env));

  return {
    async probe() {
      let probeMs: number;
      try {
        probeMs = timeouts().probe;
      } catch (error) {
        return { available: false, reason: (error as Error).message };
      }
      try {
        await callHelper({ op: 'probe', account: '' }, probeMs, env);
        return { available: true };
      } catch (error) {
        // Callers put the reason inside a sentence of their own.
        return { available: false, reason: (error as Error).message.replace(/\.$/, '') };
      }
    },
    async get(account) {
      checkAccount(account);
      const timeoutMs = timeouts().call;
      if (process.platform === 'linux') {
        const direct = await getFromSecretService(account, timeoutMs, env);
        if (direct !== undefined) return direct;
      }
      const value = await callHelper({ op: 'get', account }, timeoutMs, env);
      return typeof value === 'string' ? value : null;
    },
    async set(account, secret) {
      checkAccount(account);
      if (typeof secret !== 'string' || secret === '') throw new TypeError('keychain secret must be a non-empty string');
      await callHelper({ op: 'set', account, secret }, timeouts().call, env);
    },
    async delete(account) {
      checkAccount(account);
      return (await callHelper({ op: 'delete', account }, timeouts().call, env)) === true;
    },
  };
}

/** An in-process keychain for tests of the modules that use one. */
export function memoryKeychain(): Keychain {
  const entries = new Map<string, string>();
  return {
    async probe() {
      return { available: true };
    },
    async get(account) {
      checkAccount(account);
      return entries.get(account) ?? null;
    },
    async set(account, secret) {
      checkAccount(account);
      if (typeof secret !== 'string' || secret === '') throw new TypeError('keychain secret must be a non-empty string');
      entries.set(account, secret);
    },
    async delete(account) {
      checkAccount(account);
      return entries.delete(account);
    },
  };
}

function checkAccount(account: unknown): asserts account is string {
  if (typeof account !== 'string' || account === '') throw new TypeError('keychain account must be a non-empty string');
}

function resolveTimeouts(opts: KeychainOptions, env: Record<string, string | undefined>) {
  const raw = env[KEYCHAIN_TIMEOUT_ENV]?.trim();
  let fromEnv: number | undefined;
  if (raw) {
    fromEnv = Number(raw);
    if (!isValidTimeout(fromEnv)) {
      throw configError(
        `${KEYCHAIN_TIMEOUT_ENV} must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, not "${raw}".`,
        `Unset ${KEYCHAIN_TIMEOUT_ENV} to use the default of ${DEFAULT_TIMEOUT_MS} ms.`,
      );
    }
  }
  const call = opts.timeoutMs ?? fromEnv ?? DEFAULT_TIMEOUT_MS;
  const probe = opts.probeTimeoutMs ?? fromEnv ?? DEFAULT_PROBE_TIMEOUT_MS;
  for (const value of [call, probe]) {
    if (!isValidTimeout(value)) throw new RangeError(`keychain timeout must be a whole number of ms from 1 to ${MAX_TIMEOUT_MS}`);
  }
  return { call, probe };
}

function isValidTimeout(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= MAX_TIMEOUT_MS;
}

/**
 * The helper, as a file beside this module: src/store/keychain-helper.mjs from source (the tests),
 * and in the package the copy scripts/build.mjs bundles next to the units in dist/.
 */
function helperArgs(): string[] {
  return [fileURLToPath(new URL('./keychain-helper.mjs', import.meta.url))];
}

let addonPath: string | undefined;

/** Keychain helpers still running, ended when plaidbal exits. */
const liveHelpers = new Set<import('node:child_process').ChildProcess>();
let helpersKilledAtExit = false;

/** Resolved on first use: loading this module costs nothing, and a read (Linux) never loads node:module. */
function keyringAddonPath(): string {
  addonPath ??= process.getBuiltinModule('node:module').createRequire(import.meta.url).resolve('@napi-rs/keyring');
  return addonPath;
}

function callHelper(
  request: HelperRequest,
  timeoutMs: number,
  env: Record<string, string | undefined>,
): Promise<string | boolean | null | undefined> {
  const secret = request.secret;
  const redact = (text: string) => (secret ? text.split(secret).join('[redacted]') : text);

  let module: string;
  try {
    module = keyringAddonPath();
  } catch {
    return Promise.reject(new KeychainError('unavailable', 'The OS keychain cannot be used: @napi-rs/keyring is not installed.'));
  }

  // The helper needs nothing from NODE_OPTIONS, and a --require or --import there would run in it;
  // nor any secret of the environment (types.ts, SECRET_VARIABLES): its key comes on stdin.
  const { NODE_OPTIONS: _nodeOptions, ...helperEnv } = env;
  for (const name of SECRET_VARIABLES) delete helperEnv[name];

  return new Promise((resolve, reject) => {
    // node:child_process is loaded here, on first use: the read every command makes (on Linux,
    // getFromSecretService) never needs it.
    const child = process.getBuiltinModule('node:child_process').spawn(process.execPath, helperArgs(), {
      env: helperEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
      // A process group of its own (POSIX): Ctrl-C or a hangup at the terminal signals the whole
      // foreground group, and would kill a helper in the middle of what plaidbal, inside a critical
      // section, has to finish (config rekey deleting the old key's entry). plaidbal decides when
      // to stop; the timeout below still ends a helper that hangs, and plaidbal's exit (above) any
      // helper still running.
      detached: process.platform !== 'win32',
    });
    liveHelpers.add(child);
    child.once('exit', () => liveHelpers.delete(child));
    if (!helpersKilledAtExit) {
      helpersKilledAtExit = true;
      // In a process group of its own (below), a helper is not reached by the terminal's signals,
      // so none may outlive plaidbal: one still running when plaidbal exits (a second Ctrl-C, a
      // crash) is ended with it, as its timeout would have ended it.
      process.once('exit', () => {
        for (const helper of liveHelpers) helper.kill('SIGKILL');
      });
    }
    let stdout = '';
    let stderr = '';
    let settled = false;

    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const abandon = () => {
      // SIGKILL ends a helper stuck in a blocking D-Bus read; unref and destroy so that even
      // a helper the kernel has not reaped yet cannot keep this process alive.
      child.kill('SIGKILL');
      child.unref();
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
    };

    const timer = setTimeout(() => {
      finish(() => {
        abandon();
        reject(timeoutError(timeoutMs));
      });
    }, timeoutMs);

    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (stdout.length < MAX_HELPER_OUTPUT) stdout += chunk;
    });
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < MAX_HELPER_OUTPUT) stderr += chunk;
    });
    // The helper may die before reading its request; that surfaces as its exit status below.
    child.stdin.on('error', () => {});

    child.on('error', (error) => {
      finish(() => {
        abandon();
        reject(new KeychainError('unavailable', redact(`The keychain helper could not be started: ${error.message}`)));
      });
    });

    child.on('close', (code, signal) => {
      finish(() => {
        const reply = parseReply(stdout);
        if (!reply) {
          const detail = firstLine(stderr);
          const status = signal ? `signal ${signal}` : `code ${code}`;
          reject(new KeychainError('failed', redact(`The keychain helper exited with ${status}${detail ? `: ${detail}` : ''}.`)));
        } else if (reply.ok) {
          resolve(reply.value);
        } else {
          reject(replyError(reply, redact));
        }
      });
    });

    const input: HelperInput = { ...request, service: KEYCHAIN_SERVICE, module };
    child.stdin.end(JSON.stringify(input));
  });
}

/**
 * `get` on Linux, in this process (src/store/secret-service.ts): the read every command that opens
 * the store makes, without starting a helper. Undefined when the bus cannot be spoken to that way,
 * and the helper should answer instead.
 */
async function getFromSecretService(account: string, timeoutMs: number, env: Record<string, string | undefined>): Promise<string | null | undefined> {
  let secrets: string[];
  try {
    secrets = await lookupSecrets({ service: KEYCHAIN_SERVICE, username: account }, { env, timeoutMs });
  } catch (error) {
    if (!(error instanceof BusError)) throw error;
    switch (error.kind) {
      case 'unsupported':
        return undefined;
      case 'timeout':
        throw timeoutError(timeoutMs);
      default:
        throw replyError({ ok: false, reason: error.kind, message: error.message }, (text) => text);
    }
  }
  if (secrets.length === 0) return null;
  if (new Set(secrets).size > 1) {
    throw new KeychainError('failed', `The OS keychain refused the request (the Secret Service holds ${secrets.length} different entries for this account).`);
  }
  return secrets[0]!;
}

function timeoutError(timeoutMs: number): KeychainError {
  return new KeychainError('timeout', `The OS keychain did not answer within ${timeoutMs} ms. Set ${KEYCHAIN_TIMEOUT_ENV} to wait longer.`);
}

function replyError(reply: Extract<HelperReply, { ok: false }>, redact: (text: string) => string): KeychainError {
  const detail = redact(reply.message);
  switch (reply.reason) {
    case 'locked':
      return new KeychainError(
        'unavailable',
        `The OS keychain is locked (${detail}). Unlock it, for example by logging in to the desktop, and try again.`,
      );
    case 'no-collection':
      return new KeychainError(
        'unavailable',
        `The Secret Service has no default keyring to store into (${detail}). Create one, for example with Seahorse ("Passwords and Keys").`,
      );
    case 'unavailable':
      return new KeychainError(
        'unavailable',
        process.platform === 'linux'
          ? `No Secret Service (such as gnome-keyring) answered on the D-Bus session bus (${detail}).`
          : `The OS keychain is not available (${detail}).`,
      );
    default:
      return new KeychainError('failed', `The OS keychain refused the request (${detail}).`);
  }
}

function parseReply(text: string): HelperReply | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && typeof (value as { ok?: unknown }).ok === 'boolean') {
      return value as HelperReply;
    }
  } catch {
    // Not a reply: handled by the caller.
  }
  return undefined;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim().slice(0, 300) ?? '';
}
