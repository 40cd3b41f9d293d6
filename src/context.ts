/**
 * The context every command runs with, as gh's Factory: streams, environment, clock,
 * store, a lazy Plaid client factory, a browser opener and a prompter. Tests build
 * their own; `realContext` builds the one the CLI uses. Heavy modules are loaded lazily.
 */
import { configError } from './errors.js';
import type { Credentials } from './credentials.js';
import { whyNoPrompt, type IO } from './io.js';
import type { PlaidClient } from './plaid/client.js';
import { inquirerPrompter, type Prompter } from './prompt.js';
import type { KeyDeps } from './store/keys.js';
import type { Keychain } from './store/keychain.js';
import type { Store } from './store/store.js';
import type { Environment } from './types.js';

export interface Ctx {
  io: IO;
  env: NodeJS.ProcessEnv;
  now(): Date;
  debug: boolean;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
  store(): Promise<Store>;
  /**
   * A Plaid client for an environment, with credentials resolved (flags, env, stored profile),
   * or with the `credentials` given (plaidbal doctor). `retries` defaults to the client's 3;
   * `retries: 0` for a call that must never be repeated (a retry after a lost answer cannot succeed).
   */
  plaid(environment: Environment, opts?: { timeoutMs?: number; clientId?: string; retries?: number; credentials?: Credentials }): Promise<PlaidClient>;
  openBrowser(url: string): Promise<boolean>;
  prompt: Prompter;
  /** A line on stderr (notices, progress); never used for results. */
  info(message: string): void;
}

export interface RealContextOptions {
  io: IO;
  env: NodeJS.ProcessEnv;
  debug: boolean;
  signal: AbortSignal;
  /** How to ask; default inquirer's prompts on `io` (a test that types at a prompt passes its own). */
  prompt?: Prompter;
  /** The store's keychain; default the OS keychain, read with `env` (a test may pass an in-memory one). */
  keychain?: Keychain;
}

export const MIN_PASSPHRASE_LENGTH = 8;

/**
 * PLAIDBAL_BASE_URL, when set: an absolute http or https URL, or a configuration error (exit 3)
 * before any call, rather than a network failure (exit 5) that sends the user to check the network.
 */
export function baseUrlFrom(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.PLAIDBAL_BASE_URL;
  if (!raw) return undefined;
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    // Not quoted: a proxy's URL can carry a user and password.
    throw configError('PLAIDBAL_BASE_URL is set, but not to an http or https URL, so no call was made.', 'Set it to where Plaid\'s API is answered, e.g. https://sandbox.plaid.com or http://127.0.0.1:8080 for the bundled emulator, or unset it to use Plaid\'s own host.');
  }
  // As the URL parser reads it (what Node's HTTP client will do anyway): `https:\\host` and
  // `https:host` mean https://host/, and messages then show the same URL the calls go to.
  return url.href;
}

/** The passphrase from `variable` (PLAIDBAL_PASSPHRASE, or PLAIDBAL_NEW_PASSPHRASE for rekey), else a hidden prompt. */
export function passphraseProvider(io: IO, env: NodeJS.ProcessEnv, prompt: Prompter, variable = 'PLAIDBAL_PASSPHRASE'): KeyDeps['passphrase'] {
  return async ({ confirm, purpose }) => {
    const fromEnv = env[variable];
    if (fromEnv !== undefined && fromEnv !== '') {
      if (confirm && fromEnv.length < MIN_PASSPHRASE_LENGTH) {
        throw configError(`${variable} is too short to protect a store (at least ${MIN_PASSPHRASE_LENGTH} characters).`);
      }
      return fromEnv;
    }
    if (!io.canPrompt) {
      throw configError(`A passphrase is needed to ${purpose}, and plaidbal cannot ask for it here (${whyNoPrompt(io)}).`, `Set ${variable} in the environment (not on the command line).`);
    }
    const validate = (value: string) => (confirm && value.length < MIN_PASSPHRASE_LENGTH ? `At least ${MIN_PASSPHRASE_LENGTH} characters.` : value.length === 0 ? 'Required.' : true);
    const first = await prompt.password(confirm ? `New passphrase to ${purpose}:` : `Passphrase to ${purpose}:`, { validate });
    if (confirm) {
      const second = await prompt.password('Repeat the passphrase:');
      if (second !== first) throw configError('The two passphrases differ. Nothing was saved.');
    }
    return first;
  };
}

export function realContext({ io, env, debug, signal, prompt = inquirerPrompter(io, signal), keychain }: RealContextOptions): Ctx {
  const info = (message: string) => io.stderr.write(`${message}\n`);
  let storePromise: Promise<Store> | undefined;
  const ctx: Ctx = {
    io,
    env,
    now: () => new Date(),
    debug,
    signal,
    prompt,
    info,
    store() {
      storePromise ??= (async () => {
        const [{ Store }, { osKeychain }] = await Promise.all([import('./store/store.js'), import('./store/keychain.js')]);
        // The command's environment, not this process's: the same thing in the CLI, not in a test
        // that runs commands in its own process with an environment of their own.
        keychain ??= osKeychain({ env });
        return Store.open({
          env,
          keyDeps: { keychain, passphrase: passphraseProvider(io, env, prompt), notice: (m) => info(io.err.yellow(`! ${m}`)), now: () => new Date() },
        });
      })();
      return storePromise;
    },
    async plaid(environment, opts = {}) {
      // Loading plaid and axios is a long stretch of uninterrupted CPU (docs/benchmarks.md, "Figures
      // behind the code"), and I/O a caller started alongside (the keychain read of balance and
      // check: a D-Bus exchange of two round trips) makes no progress while it runs. So the load
      // is cut in steps with a turn of the event loop between them: Node's zlib, http and https,
      // which axios loads as it starts, one at a time, then plaid itself. The keychain's answers
      // are handled between the steps rather than after the last one. (Were axios to stop loading
      // one of these, the only cost would be loading it for nothing.)
      const turn = () => new Promise((resolve) => setImmediate(resolve));
      await turn();
      for (const id of ['node:zlib', 'node:http', 'node:https']) {
        process.getBuiltinModule(id);
        await turn();
      }
      const [{ createPlaidClient }, { resolveCredentials }] = await Promise.all([import('./plaid/client.js'), import('./credentials.js')]);
      const credentials = opts.credentials ?? (await resolveCredentials(await ctx.store(), environment, env, { clientId: opts.clientId }));
      return createPlaidClient({
        environment,
        clientId: credentials.clientId,
        secret: credentials.secret,
        baseUrl: baseUrlFrom(env),
        timeoutMs: opts.timeoutMs,
        retries: opts.retries,
        signal,
        profile: { clientName: credentials.clientName, countryCodes: credentials.countryCodes, language: credentials.language },
        debug: debug ? (line) => info(io.err.dim(`[debug] ${line}`)) : undefined,
      });
    },
    async openBrowser(url) {
      if (env.BROWSER === 'none') return false;
      try {
        const { default: open } = await import('open');
        const child = await open(url);
        child.on('error', () => {});
        return true;
      } catch {
        return false;
      }
    },
  };
  return ctx;
}
