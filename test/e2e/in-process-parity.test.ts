/**
 * The in-process runner (test/helpers/in-process.ts) is only worth what it agrees with the real
 * binary: the same commands on the same store, once spawned (bin/plaidbal.js, the built
 * bundles) and once in this process (src/ through runProgram), must give the same exit code
 * and byte-identical stdout and stderr. Commands whose output carries the time or a request id
 * are left out; everything here is deterministic for a given store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { runInProcess } from '../helpers/in-process.js';
import { createWorld, type World } from '../helpers/world.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
  expect((await world.init('passphrase')).code).toBe(0);
  await world.link('demo');
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
});
