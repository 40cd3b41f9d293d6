/**
 * An end-to-end "world": the Plaid emulator, a temporary store, and a runner for the
 * built CLI pointed at both. Each test file builds its own.
 */
import { startEmulator, TEST_CLIENT_ID, TEST_SECRET, type Emulator, type EmulatorOptions } from '../emulator/index.js';
import { spawn } from './spawner.js';
import { existsSync, readdirSync } from 'node:fs';
import { captureStore, cheapenPassphraseStore, restoreStore, type StoreTemplate } from './cheap-kdf.js';
import { baseEnv, BIN, runCli, tempStore, type CliResult, type RunOptions, type TempStore } from './cli.js';
import { runInProcess } from './in-process.js';

export type KeySource = 'keychain' | 'passphrase';
export const PASSPHRASE = 'correct horse battery staple';

export interface World {
  emulator: Emulator;
  store: TempStore;
  env: NodeJS.ProcessEnv;
  run(args: string[], opts?: RunOptions & { extraEnv?: NodeJS.ProcessEnv }): Promise<CliResult>;
  /** As `run`, but in this process whatever the world was made with: for the runs of a spawning file that need no process of their own. */
  runInProcess(args: string[], opts?: { stdin?: string; extraEnv?: NodeJS.ProcessEnv }): Promise<CliResult>;
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
 * Passphrase stores `config init` made in this process, re-keyed cheaply. Keyed on everything
 * that run was given but its store directory and emulator (config init calls no Plaid API), so
 * that another world, or another test file sharing this process (vitest.config.ts), gets a
 * copy only of the very same run.
 */
const initialized = new Map<string, { template: StoreTemplate; result: CliResult; dir: string }>();
const PER_WORLD = new Set(['PLAIDBAL_CONFIG_DIR', 'PLAIDBAL_BASE_URL']);
const initKey = (env: NodeJS.ProcessEnv, inProcess: boolean, environment: string) =>
  JSON.stringify([inProcess, environment, Object.entries(env).filter(([name]) => !PER_WORLD.has(name)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);

/**
 * `inProcess`: world.run (and init, link) runs plaidbal in the test's process (in-process.ts)
 * instead of spawning the built CLI: for files whose tests are about what a command does, not
 * about the process. Spawn the binary yourself (BIN, runCli) where the process matters.
 */
export async function createWorld(options: EmulatorOptions = {}, extraEnv: NodeJS.ProcessEnv = {}, how: { inProcess?: boolean } = {}): Promise<World> {
  const emulator = await startEmulator(options);
  const store = await tempStore();
  const env = baseEnv({ PLAIDBAL_CONFIG_DIR: store.dir, PLAIDBAL_BASE_URL: emulator.url, PLAIDBAL_PASSPHRASE: PASSPHRASE, ...extraEnv });
  const world: World = {
    emulator,
    store,
    env,
    run: (args, opts = {}) => (how.inProcess ? world.runInProcess(args, opts) : runCli(args, { ...opts, env: { ...env, ...opts.extraEnv } })),
    runInProcess: (args, opts = {}) => runInProcess(args, { env: { ...env, ...opts.extraEnv }, stdin: opts.stdin }),
    async init(keySource, environment = 'sandbox') {
      const dir = env.PLAIDBAL_CONFIG_DIR!;
      const passphrase = env.PLAIDBAL_PASSPHRASE!;
      const cheap = keySource === 'passphrase';
      const key = initKey(env, Boolean(how.inProcess), environment);
      const made = cheap && initialized.get(key);
      // A directory config init would have to make is left to config init.
      if (made && existsSync(dir) && readdirSync(dir).length === 0) {
        // This process already ran this very `config init` (same credentials, same passphrase):
        // the same store again, with a store_id of its own, and that run's output with this
        // store's directory in place of the first one's.
        restoreStore(made.template, dir);
        const here = (text: string) => text.split(made.dir).join(dir);
        return { ...made.result, stdout: here(made.result.stdout), stderr: here(made.result.stderr) };
      }
      const result = await world.run(['config', 'init', '--env', environment, '--client-id', TEST_CLIENT_ID, '--secret-stdin', '--key-source', keySource], { stdin: TEST_SECRET });
      if (result.code === 0 && cheap) {
        await cheapenPassphraseStore(dir, passphrase);
        initialized.set(key, { template: captureStore(dir), result, dir });
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
