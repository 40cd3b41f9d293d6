/**
 * The in-process runner (test/helpers/in-process.ts) is only worth what it agrees with the real
 * binary: the same commands on the same store, once spawned (bin/plaidbal.js, the built
 * bundles) and once in this process (src/ through runProgram), must give the same exit code
 * and byte-identical stdout and stderr. Commands whose output carries the time or a request id
 * are left out; everything here is deterministic for a given store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempStore } from '../helpers/cli.js';
import { runInProcess } from '../helpers/in-process.js';
import { linkedWorld, TEST_CLIENT_ID, TEST_SECRET, type World } from '../helpers/world.js';

let world: World;
beforeAll(async () => {
  world = await linkedWorld();
  await world.link('other', '--institution', 'ins_109511');
});
afterAll(async () => world?.close());

const COMMANDS: { args: string[]; stdin?: string }[] = [
  { args: ['--help'] },
  { args: ['balance', '--help'] },
  { args: ['items'] },
  { args: ['items', '--json'] },
  { args: ['config', 'show'] },
  { args: ['config', 'path'] },
  { args: ['balance', '--item', 'demo', '--cached'] },
  // Errors: a usage error (commander), an unknown item (CliError), an unknown command.
  { args: ['balance', '--item'] },
  { args: ['balance', '--item', 'nope'] },
  { args: ['frobnicate'] },
  { args: ['check', '--item', 'demo', '--account', 'x', '--amount', 'ten'] },
  { args: ['items', 'import', '--format', 'ndjson'], stdin: '{"access_token": 42}\n' },
];

describe('in process and spawned agree', () => {
  it.each(COMMANDS.map((c) => [c.args.join(' '), c] as const))('%s', async (_name, { args, stdin }) => {
    const spawned = await runCli(args, { env: world.env, stdin });
    const inProcess = await runInProcess(args, { env: world.env, stdin });
    expect({ code: inProcess.code, stdout: inProcess.stdout, stderr: inProcess.stderr }).toEqual({ code: spawned.code, stdout: spawned.stdout, stderr: spawned.stderr });
    expect(spawned.stdout + spawned.stderr).not.toBe('');
  });

  it('the keychain reads the run\'s environment, not the process\'s: a malformed PLAIDBAL_KEYCHAIN_TIMEOUT_MS stops config init in both', async () => {
    const args = ['config', 'init', '--env', 'sandbox', '--client-id', TEST_CLIENT_ID, '--secret-stdin', '--key-source', 'keychain'];
    const results = [];
    for (const run of [runCli, runInProcess]) {
      const store = await tempStore();
      try {
        const env = { ...world.env, PLAIDBAL_CONFIG_DIR: store.dir, PLAIDBAL_KEYCHAIN_TIMEOUT_MS: '5s' };
        const r = await run(args, { env, stdin: TEST_SECRET });
        results.push({ code: r.code, stdout: r.stdout, stderr: r.stderr.split(store.dir).join('<store>'), stored: (await store.snapshot()).size });
      } finally {
        await store.cleanup();
      }
    }
    expect(results[0]!.stderr).toContain('PLAIDBAL_KEYCHAIN_TIMEOUT_MS');
    expect(results[0]!.code).not.toBe(0);
    expect(results[0]!.stored).toBe(0);
    expect(results[1]).toEqual(results[0]);
  });
});
