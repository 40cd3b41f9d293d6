/**
 * `config rekey` when the store's new version is in place but the disk does not confirm it: the
 * directory's fsync fails after the rename (write.ts: `committed`). The store on disk is keyed to
 * the new key then, so the new key must be kept, and the old one too, since a crash could still
 * bring back the previous version. (Found in review: the new keychain entry was deleted, leaving a
 * store nothing opens.) As in rotate-dir-fsync.test.ts, the command runs in process with node:fs
 * wrapped: fsync of the store's directory fails with EIO while `fault.dir` is set. The store and
 * the emulator are set up by the built CLI.
 */
import { readFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { Chalk } from 'chalk';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { createWorld, PASSPHRASE, type World } from '../helpers/world.js';

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
const { runConfigRekey } = await import('../../src/commands/config/rekey.js');
const { osKeychain } = await import('../../src/store/keychain.js');
import type { IO } from '../../src/io.js';

let world: World;
beforeAll(async () => {
  world = await createWorld();
  expect((await world.init('passphrase')).code).toBe(0);
  await world.link('demo');
});
afterAll(async () => world?.close());

const key = async () => JSON.parse(await readFile(world.store.file, 'utf8')).key as { source: string; account?: string };

/** Runs `config rekey --to <to>` in process with the store directory's fsync failing. */
async function rekeyUnconfirmed(to: 'keychain' | 'passphrase') {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let err = '';
  stdout.resume();
  stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const io: IO = { stdout, stderr, stdin: new PassThrough(), stdoutIsTTY: false, stderrIsTTY: false, canPrompt: false, out: new Chalk({ level: 0 }), err: new Chalk({ level: 0 }) };
  const ctx = realContext({ io, env: world.env, debug: false, signal: new AbortController().signal });
  const fired = fault.fired;
  fault.dir = world.store.dir;
  try {
    const code = await runConfigRekey(ctx, { to });
    return { code, stderr: err };
  } finally {
    fault.dir = null;
    expect(fault.fired).toBeGreaterThan(fired);
  }
}

it('passphrase -> keychain: the new keychain entry is kept, the store opens with it, the warning says to keep the old passphrase', async () => {
  const r = await rekeyUnconfirmed('keychain');
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toContain('Re-sealed 1 access token');
  expect(r.stderr).toMatch(/! The store at .* was replaced, but the disk did not confirm it: .*(EIO|input\/output)/i);
  expect(r.stderr).toContain('The store now opens with the new key only; if a crash brings the previous version back, that one opens with the old key, so keep the old passphrase until the disk is healthy and the store has been written again.');
  const now = await key();
  expect(now.source).toBe('keychain');
  expect(await osKeychain().get(now.account!)).not.toBeNull();
  // Opens with the keychain alone: no passphrase given.
  const balance = await world.run(['balance', '--item', 'demo', '--json'], { extraEnv: { PLAIDBAL_PASSPHRASE: undefined } });
  expect(balance.code, balance.stderr).toBe(0);
  expect(`${r.stderr}${balance.stdout}${balance.stderr}`).not.toContain(PASSPHRASE);
});

it('keychain -> keychain: both entries are kept, and the store opens with the new one', async () => {
  const old = await key();
  expect(old.source).toBe('keychain');
  const r = await rekeyUnconfirmed('keychain');
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toContain(`the old keychain entry (service plaidbal, account ${old.account}) was kept. Once the disk is healthy and the store has been written again, delete that entry`);
  const now = await key();
  expect(now.account).not.toBe(old.account);
  expect(await osKeychain().get(now.account!)).not.toBeNull();
  expect(await osKeychain().get(old.account!)).not.toBeNull();
  const balance = await world.run(['balance', '--item', 'demo', '--json']);
  expect(balance.code, balance.stderr).toBe(0);
  // Tidy: the entry kept for a crash is this test's to remove.
  await osKeychain().delete(old.account!);
});
