/**
 * An end-to-end "world": the Plaid emulator, a temporary store, and a runner for the
 * built CLI pointed at both. Each test file builds its own.
 */
import { startEmulator, TEST_CLIENT_ID, TEST_SECRET, type Emulator, type EmulatorOptions } from '../emulator/index.js';
import { spawn } from './spawner.js';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { captureStore, cheapenPassphraseStore, restoreStore, type StoreTemplate } from './cheap-kdf.js';
import { baseEnv, BIN, runCli, tempStore, type CliResult, type RunOptions, type TempStore } from './cli.js';
import { runInProcess, type InProcessOptions } from './in-process.js';

export type KeySource = 'keychain' | 'passphrase';
export const PASSPHRASE = 'correct horse battery staple';

export interface World {
  emulator: Emulator;
  store: TempStore;
  env: NodeJS.ProcessEnv;
  run(args: string[], opts?: RunOptions & { extraEnv?: NodeJS.ProcessEnv }): Promise<CliResult>;
  /** As `run`, but in this process whatever the world was made with: for the runs of a spawning file that need no process of their own. */
  runInProcess(args: string[], opts?: { stdin?: string; extraEnv?: NodeJS.ProcessEnv; stopWhen?: InProcessOptions['stopWhen'] }): Promise<CliResult>;
  /**
   * config init for `environment` (sandbox unless given) with the emulator's credentials and the
   * given key source. A passphrase store is then re-keyed to a cheap scrypt cost
   * (helpers/cheap-kdf.ts): the runs that follow are what the test is about, not scrypt. Tests of
   * `config init` itself run it with world.run.
   */
  init(keySource: KeySource, environment?: 'sandbox' | 'production'): Promise<CliResult>;
  /** link --sandbox with the given alias (and extra flags); asserts success. */
  link(alias: string, ...flags: string[]): Promise<CliResult>;
  close(): Promise<void>;
}

/**
 * Passphrase stores `config init` made in this run, re-keyed cheaply. Keyed on everything that
 * run was given but its store directory and emulator (config init calls no Plaid API) and the
 * variables vitest sets per process, so that another world, another test file sharing this
 * process (vitest.config.ts) or another process gets a copy only of the very same run.
 */
interface Initialized {
  template: StoreTemplate;
  result: CliResult;
  dir: string;
}
const initialized = new Map<string, Initialized>();
/** Variables that differ from one world, or one test process, to the next and that config init does not read. */
const notInKey = (name: string) => name === 'PLAIDBAL_CONFIG_DIR' || name === 'PLAIDBAL_BASE_URL' || name.startsWith('VITEST');
const initKey = (env: NodeJS.ProcessEnv, inProcess: boolean, environment: string) =>
  JSON.stringify([inProcess, environment, Object.entries(env).filter(([name]) => !notInKey(name)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);

/**
 * The templates are also kept on disk for the whole run (test/helpers/global-setup.ts), so that
 * each is made once per run, not once per test process: making one costs two derivations at the
 * full scrypt cost (config init's, and the re-key's opening of it), and the suite has many
 * processes (docs/benchmarks.md, "Figures behind the code", the suite's scrypt).
 */
function runDir(): string | undefined {
  try {
    return inject('plaidbalRunDir');
  } catch {
    return undefined; // not under vitest's runner (a script importing this module)
  }
}
const templateFile = (dir: string, key: string) => join(dir, `init-${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);

function readTemplate(key: string): Initialized | undefined {
  const known = initialized.get(key);
  const dir = runDir();
  if (known || dir === undefined) return known;
  let saved: { key: string; dirMode: number; files: { name: string; mode: number; bytes: string }[]; result: CliResult; dir: string };
  try {
    saved = JSON.parse(readFileSync(templateFile(dir, key), 'utf8'));
  } catch {
    return undefined; // none yet
  }
  if (saved.key !== key) return undefined;
  const found: Initialized = { template: { dirMode: saved.dirMode, files: saved.files.map((f) => ({ name: f.name, mode: f.mode, bytes: Buffer.from(f.bytes, 'base64') })) }, result: saved.result, dir: saved.dir };
  initialized.set(key, found);
  return found;
}

/**
 * Claims the making of `key`'s template for this process, or waits for the process that claimed
 * it first. True: this process makes it (and keepTemplate or giveUpTemplate ends the claim). False:
 * the template is there to read, or its maker gave up.
 */
async function claimTemplate(key: string): Promise<boolean> {
  const dir = runDir();
  if (dir === undefined) return true;
  const claim = `${templateFile(dir, key)}.claim`;
  try {
    closeSync(openSync(claim, 'wx'));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // Another process is making it: a config init and a re-key, seconds on a busy machine. A maker
  // that died holding the claim is waited for a minute at most, well within the hook's timeout
  // (vitest.config.ts); then this process makes its own.
  const until = Date.now() + 60_000;
  while (!existsSync(templateFile(dir, key)) && existsSync(claim) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
  return false;
}

function giveUpTemplate(key: string): void {
  const dir = runDir();
  if (dir !== undefined) rmSync(`${templateFile(dir, key)}.claim`, { force: true });
}

function keepTemplate(key: string, made: Initialized): void {
  initialized.set(key, made);
  const dir = runDir();
  if (dir === undefined) return;
  const file = templateFile(dir, key);
  const saved = { key, dirMode: made.template.dirMode, files: made.template.files.map((f) => ({ name: f.name, mode: f.mode, bytes: f.bytes.toString('base64') })), result: made.result, dir: made.dir };
  // Written aside and renamed: another process reads a whole template or none.
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, JSON.stringify(saved));
  renameSync(partial, file);
  rmSync(`${file}.claim`, { force: true });
}

/**
 * `inProcess`: world.run (and init, link) runs plaidbal in the test's process (in-process.ts)
 * instead of spawning the built CLI: for files whose tests are about what a command does, not
 * about the process. Spawn the binary yourself (BIN, runCli) where the process matters.
 */
/**
 * A world with a passphrase store (`config init`) and one Sandbox item linked under `alias`: the
 * set-up most end-to-end files start from. Either step failing throws, with its stderr.
 */
export async function linkedWorld(alias = 'demo', how: { inProcess?: boolean } = {}): Promise<World> {
  const world = await createWorld({}, {}, how);
  const init = await world.init('passphrase');
  if (init.code !== 0) throw new Error(`config init failed (${init.code}):\n${init.stderr}`);
  await world.link(alias);
  return world;
}

export async function createWorld(options: EmulatorOptions = {}, extraEnv: NodeJS.ProcessEnv = {}, how: { inProcess?: boolean } = {}): Promise<World> {
  const emulator = await startEmulator(options);
  const store = await tempStore();
  const env = baseEnv({ PLAIDBAL_CONFIG_DIR: store.dir, PLAIDBAL_BASE_URL: emulator.url, PLAIDBAL_PASSPHRASE: PASSPHRASE, ...extraEnv });
  const world: World = {
    emulator,
    store,
    env,
    run: (args, opts = {}) => (how.inProcess ? world.runInProcess(args, opts) : runCli(args, { ...opts, env: { ...env, ...opts.extraEnv } })),
    runInProcess: (args, opts = {}) => runInProcess(args, { env: { ...env, ...opts.extraEnv }, stdin: opts.stdin, stopWhen: opts.stopWhen }),
    async init(keySource, environment = 'sandbox') {
      const dir = env.PLAIDBAL_CONFIG_DIR!;
      const passphrase = env.PLAIDBAL_PASSPHRASE!;
      const cheap = keySource === 'passphrase';
      const key = initKey(env, Boolean(how.inProcess), environment);
      const made = cheap && (readTemplate(key) ?? ((await claimTemplate(key)) ? undefined : readTemplate(key)));
      // A directory config init would have to make is left to config init.
      if (made && existsSync(dir) && readdirSync(dir).length === 0) {
        // This run already ran this very `config init` (same credentials, same passphrase):
        // the same store again, with a store_id of its own, and that run's output with this
        // store's directory in place of the first one's.
        restoreStore(made.template, dir);
        const here = (text: string) => text.split(made.dir).join(dir);
        return { ...made.result, stdout: here(made.result.stdout), stderr: here(made.result.stderr) };
      }
      const result = await world.run(['config', 'init', '--env', environment, '--client-id', TEST_CLIENT_ID, '--secret-stdin', '--key-source', keySource], { stdin: TEST_SECRET });
      if (!cheap) return result;
      try {
        if (result.code === 0) {
          await cheapenPassphraseStore(dir, passphrase);
          keepTemplate(key, { template: captureStore(dir), result, dir });
        }
      } finally {
        giveUpTemplate(key);
      }
      return result;
    },
    async link(alias, ...flags) {
      const result = await world.run(['link', '--sandbox', '--name', alias, ...flags]);
      if (result.code !== 0) throw new Error(`link --sandbox ${alias} failed (${result.code}):\n${result.stderr}`);
      return result;
    },
    async close() {
      await emulator.close();
      await store.cleanup();
    },
  };
  return world;
}

/** Everything a run printed, for leak checks. */
export const printed = (r: CliResult) => `${r.stdout}\n${r.stderr}`;

export { TEST_CLIENT_ID, TEST_SECRET };

/**
 * `plaidbal link --hosted --env production --no-browser --name <alias> [flags]` against a
 * production emulator, with the emulator playing the user who finishes Hosted Link as soon as
 * plaidbal has its link token. Resolves with the exit code, stderr and the link token (null
 * when plaidbal never created one, for example after a declined question).
 */
export async function hostedLinkInProduction(world: World, alias: string, ...flags: string[]): Promise<{ code: number | null; stderr: string; linkToken: string | null; publicToken: string | null }> {
  const before = world.emulator.requests.length;
  const child = spawn(process.execPath, [BIN, 'link', '--hosted', '--env', 'production', '--no-browser', '--name', alias, ...flags], { env: world.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let exited = false;
  const done = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  const started = Date.now();
  let created;
  while (!(created = world.emulator.requests.slice(before).find((q) => q.path === '/link/token/create' && q.status === 200)) && !exited && Date.now() - started < 15_000) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const linkToken = created ? (created.response as { link_token: string }).link_token : null;
  const publicToken = (linkToken && world.emulator.completeLinkSession(linkToken)) || null;
  return { code: await done, stderr, linkToken, publicToken };
}
