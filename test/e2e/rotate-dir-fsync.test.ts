/**
 * `items rotate` when the store's new version is in place but the disk does not confirm it: the
 * directory's fsync fails after the rename (write.ts: `committed`). The token is saved and the
 * item works, so the rotation counts as done; plaidbal says so, keeps a sealed copy of the new
 * token in a recovery file in case the rename does not survive a crash, and `--recover` tidies
 * up. A real file system does not fail a directory fsync on demand, so this runs the command in
 * process with node:fs wrapped: fsync of the store's directory fails with EIO while `failDirSync`
 * is on. The store and the emulator are set up by the built CLI, as in the other e2e tests.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Chalk } from 'chalk';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { createWorld, type World } from '../helpers/world.js';

const fault = vi.hoisted(() => ({ dir: null as string | null, fired: 0 }));
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const fsyncSync = (fd: number) => {
    if (fault.dir !== null && real.fstatSync(fd).isDirectory() && real.fstatSync(fd).ino === real.statSync(fault.dir).ino) {
      fault.fired += 1;
      throw Object.assign(new Error('EIO: i/o error, fsync (injected)'), { code: 'EIO' });
    }
    real.fsyncSync(fd);
  };
  return { ...real, fsyncSync, default: { ...real, fsyncSync } };
});

const { realContext } = await import('../../src/context.js');
const { runItemsRotate } = await import('../../src/commands/items/rotate.js');
import type { IO } from '../../src/io.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
  expect((await world.init('passphrase')).code).toBe(0);
  await world.link('demo');
});
afterAll(async () => world?.close());

function inProcess() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const io: IO = { stdout, stderr, stdin: new PassThrough(), stdoutIsTTY: false, stderrIsTTY: false, canPrompt: false, out: new Chalk({ level: 0 }), err: new Chalk({ level: 0 }) };
  const ctx = realContext({ io, env: world.env, debug: false, signal: new AbortController().signal });
  return { ctx, printed: () => `${out}\n${err}` };
}

it('the store is in place but its directory fsync fails: rotated (exit 0), a warning, a recovery copy; --recover removes it', async () => {
  const old = world.emulator.items()[0]!.access_token;
  const { ctx, printed } = inProcess();
  fault.dir = world.store.dir;
  let code: number;
  try {
    code = await runItemsRotate(ctx, 'demo', { yes: true });
  } finally {
    fault.dir = null;
  }
  expect(fault.fired).toBeGreaterThan(0);
  expect(code).toBe(0);
  const fresh = world.emulator.items()[0]!.access_token;
  expect(fresh).not.toBe(old);
  const text = printed();
  expect(text).toContain('Rotated the access token of "demo"');
  expect(text).toMatch(/! .*EIO|! .*input\/output/i);
  const recoveries = readdirSync(world.store.dir).filter((n) => n.startsWith('plaidbal-rotated-'));
  expect(recoveries).toHaveLength(1);
  const file = join(world.store.dir, recoveries[0]!);
  expect(text).toContain(`The new token is also kept in ${file}; \`plaidbal items rotate --recover\` removes it once the store is safe.`);
  expect(statSync(file).mode & 0o777).toBe(0o600);
  for (const t of [old, fresh]) {
    expect(text).not.toContain(t);
    expect(readFileSync(file, 'utf8')).not.toContain(t);
  }

  // The store itself has the new token: the item works without --recover.
  const balance = await world.run(['balance', '--item', 'demo', '--json']);
  expect(balance.code, balance.stderr).toBe(0);
  expect((world.emulator.requests.at(-1)!.body as { access_token: string }).access_token).toBe(fresh);

  const recovered = await world.run(['items', 'rotate', '--recover']);
  expect(recovered.code, recovered.stderr).toBe(0);
  expect(recovered.stderr).toContain('Finished the rotation of "demo"');
  expect(readdirSync(world.store.dir).filter((n) => n.startsWith('plaidbal-rotated-'))).toEqual([]);
  expect((await world.run(['balance', '--item', 'demo', '--json'])).code).toBe(0);
});
