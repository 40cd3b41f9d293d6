/**
 * An end-to-end "world": the Plaid emulator, a temporary store, and a runner for the
 * built CLI pointed at both. Each test file builds its own.
 */
import { startEmulator, TEST_CLIENT_ID, TEST_SECRET, type Emulator, type EmulatorOptions } from '../emulator/index.js';
import { baseEnv, runCli, tempStore, type CliResult, type RunOptions, type TempStore } from './cli.js';

export type KeySource = 'keychain' | 'passphrase';
export const PASSPHRASE = 'correct horse battery staple';

export interface World {
  emulator: Emulator;
  store: TempStore;
  env: NodeJS.ProcessEnv;
  run(args: string[], opts?: RunOptions & { extraEnv?: NodeJS.ProcessEnv }): Promise<CliResult>;
  /** config init for sandbox with the emulator's credentials and the given key source. */
  init(keySource: KeySource): Promise<CliResult>;
  /** link --sandbox with the given alias (and extra flags); asserts success. */
  link(alias: string, ...flags: string[]): Promise<CliResult>;
  close(): Promise<void>;
}

export async function createWorld(options: EmulatorOptions = {}, extraEnv: NodeJS.ProcessEnv = {}): Promise<World> {
  const emulator = await startEmulator(options);
  const store = await tempStore();
  const env = baseEnv({ PLAIDBAL_CONFIG_DIR: store.dir, PLAIDBAL_BASE_URL: emulator.url, PLAIDBAL_PASSPHRASE: PASSPHRASE, ...extraEnv });
  const world: World = {
    emulator,
    store,
    env,
    run: (args, opts = {}) => runCli(args, { ...opts, env: { ...env, ...opts.extraEnv } }),
    init: (keySource) =>
      world.run(['config', 'init', '--env', 'sandbox', '--client-id', TEST_CLIENT_ID, '--secret-stdin', '--key-source', keySource], { stdin: TEST_SECRET }),
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
