/**
 * Runs the built CLI (bin/plaidbal.js → dist/) as a user would: a child process with
 * its own environment, a temporary PLAIDBAL_CONFIG_DIR and no terminal.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type LightChild } from './spawner.js';

export const BIN = fileURLToPath(new URL('../../bin/plaidbal.js', import.meta.url));
/** The build's output directory: dist/<unit>.cjs are its bundles (scripts/build.mjs). */
export const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const CLI_BUNDLE = join(DIST, 'cli.cjs');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  stdin?: string;
  timeoutMs?: number;
}

/**
 * The code cache (src/load.ts) for every CLI the suite spawns: one directory for the whole
 * suite, so spawns start on a warm cache, and so tests that give each run a fresh HOME or TMPDIR
 * and read back every file in them (leaks.test.ts, import.test.ts) see only what the command itself
 * writes. Where the cache goes without NODE_COMPILE_CACHE (the user's cache directory), that it is
 * used, and that it holds no secret: test/e2e/startup.test.ts, which removes this variable.
 */
export const SUITE_COMPILE_CACHE = join(tmpdir(), 'plaidbal-test-compile-cache');

/** What the unit loader said about each unit's code cache (NODE_DEBUG=plaidbal), in order: `cli none`, `plaid written`… */
export const codeCacheEvents = (stderr: string) => [...stderr.matchAll(/^PLAIDBAL \d+: code cache: (.*)$/gm)].map((m) => m[1]!);

/** Every file under `dir`, relative to it (none when `dir` is missing). */
export function filesUnder(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => (statSync(join(dir, name)).isDirectory() ? filesUnder(join(dir, name)).map((f) => join(name, f)) : [name]));
}

/**
 * How long a test's plaidbal waits for the OS keychain, and the suite's own probes and listings of
 * it (test/helpers/keyring.ts) before they give up: the suite's one gnome-keyring answers slowly
 * while the other files run, and a test waits for it rather than fail on its latency. A keychain
 * that answers is done at once: only a hung one waits this out. The keychain's own timeouts (5 s
 * for a call, 2 s for the probe, by default) are tested where a test sets them:
 * unit/keychain.test.ts, e2e/keychain.test.ts.
 */
export const SUITE_KEYCHAIN_TIMEOUT_MS = 30_000;

/** The variables a test run starts from: the parent's, minus anything that would leak a real configuration in, with the suite's code cache and keychain timeout. */
export function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('PLAID_') || name.startsWith('PLAIDBAL_') || name === 'FORCE_COLOR' || name === 'NO_COLOR' || name === 'BROWSER') delete env[name];
  }
  return { NODE_COMPILE_CACHE: SUITE_COMPILE_CACHE, ...env, PLAIDBAL_KEYCHAIN_TIMEOUT_MS: String(SUITE_KEYCHAIN_TIMEOUT_MS), ...extra };
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  if (!existsSync(CLI_BUNDLE)) throw new Error(`${CLI_BUNDLE} is missing: run \`npm run build\` first (npm test does).`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: opts.env ?? baseEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 45_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the CLI may exit before reading its (empty) stdin
    child.stdin.end(opts.stdin ?? '');
  });
}

export interface RunningCli {
  child: LightChild;
  /** Resolves with the first match of `ready.url` on stderr, once stderr also holds `ready.after`. */
  url: Promise<string>;
  done: Promise<CliResult>;
  stderr(): string;
}

/**
 * Spawns the CLI without waiting for it (to signal it, or act while it runs), collecting its output
 * in `out`; `stderr()` reads it as the waits of test/helpers/wait.ts do.
 */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv): { child: LightChild; out: { stdout: string; stderr: string }; closed: Promise<number | null>; stderr(): string } {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, out, closed, stderr: () => out.stderr };
}

/**
 * Spawns the CLI without waiting for it to exit (runCli would), for commands that print a URL
 * and then wait for something to happen there: `link` and `link --hosted`.
 */
export function startCli(args: string[], env: NodeJS.ProcessEnv, ready: { url: RegExp; after: string; what: string }): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.end();
  let stdout = '';
  let stderr = '';
  let resolveUrl!: (url: string) => void;
  let rejectUrl!: (error: Error) => void;
  const url = new Promise<string>((resolve, reject) => {
    resolveUrl = resolve;
    rejectUrl = reject;
  });
  url.catch(() => {});
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    const found = ready.url.exec(stderr);
    if (found && stderr.includes(ready.after)) resolveUrl(found[0]);
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      rejectUrl(new Error(`plaidbal ${args.join(' ')} exited (${code ?? signal}) without printing ${ready.what}:\n${stderr}`));
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, url, done, stderr: () => stderr };
}

export interface TempStore {
  dir: string;
  file: string;
  /** Every file in the store directory with its bytes, to prove a failure changed nothing. */
  snapshot(): Promise<Map<string, Buffer>>;
  cleanup(): Promise<void>;
}

export async function tempStore(): Promise<TempStore> {
  const dir = await mkdtemp(join(tmpdir(), 'plaidbal-test-'));
  return {
    dir,
    file: join(dir, 'store.json'),
    async snapshot() {
      const files = new Map<string, Buffer>();
      for (const name of await readdir(dir)) {
        const path = join(dir, name);
        if ((await stat(path)).isFile()) files.set(name, await readFile(path));
      }
      return files;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
