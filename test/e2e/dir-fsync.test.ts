/**
 * A write whose new store is in place but not confirmed by the disk: the directory's fsync fails
 * after the rename (write.ts: `committed`). A real file system does not fail a directory fsync on
 * demand, so the commands run in process with node:fs wrapped: fsync of the store's directory
 * fails with EIO while `fault.dir` is set. The store and the emulator are set up by the built CLI,
 * as in the other e2e tests.
 * - `items rotate`: the token is saved and the item works, so the rotation counts as done;
 *   plaidbal says so, keeps a sealed copy of the new token in a recovery file in case the rename
 *   does not survive a crash, and `--recover` tidies up.
 * - `config rekey`: the store on disk is keyed to the new key, so the new key must be kept, and
 *   the old one too, since a crash could still bring back the previous version. (Found in review:
 *   the new keychain entry was deleted, leaving a store nothing opens.)
 * - `items import`: the rows of a batch so written are in the store, and counted as saved in the
 *   message of the run it stops (they were counted as not imported, and written again).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PassThrough } from 'node:stream';
import { afterAll, beforeAll, expect, it, onTestFinished, vi } from 'vitest';
import { createSandboxItem } from '../emulator/index.js';
import { bufferedIO } from '../helpers/in-process.js';
import { linkedWorld, PASSPHRASE, type World } from '../helpers/world.js';

const fault = vi.hoisted(() => ({ dir: null as string | null, rename: null as string | null, renameTo: null as string | null, fired: 0 }));
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const fsyncSync = (fd: number) => {
    if (fault.dir !== null && real.fstatSync(fd).isDirectory() && real.fstatSync(fd).ino === real.statSync(fault.dir).ino) {
      fault.fired += 1;
      throw Object.assign(new Error('EIO: i/o error, fsync (injected)'), { code: 'EIO' });
    }
    real.fsyncSync(fd);
  };
  // A write that fails before its rename (the store left as it was), for the one test that needs both.
  const renameSync = (from: string, to: string) => {
    if ((fault.rename !== null && to.startsWith(`${fault.rename}/`)) || (fault.renameTo !== null && to === fault.renameTo)) {
      fault.fired += 1;
      throw Object.assign(new Error('EIO: i/o error, rename (injected)'), { code: 'EIO' });
    }
    real.renameSync(from, to);
  };
  return { ...real, fsyncSync, renameSync, default: { ...real, fsyncSync, renameSync } };
});

const { realContext } = await import('../../src/context.js');
const { runItemsRotate } = await import('../../src/commands/items/rotate.js');
const { runConfigRekey } = await import('../../src/commands/config/rekey.js');
const { runLinkSandbox } = await import('../../src/commands/link/sandbox.js');
const { runItemsImport } = await import('../../src/commands/items/import.js');
const { memoryKeychain, osKeychain } = await import('../../src/store/keychain.js');
const { Store, StoreWriteError } = await import('../../src/store/store.js');
const { aad } = await import('../../src/store/seal.js');

let world: World;
beforeAll(async () => {
  world = await linkedWorld();
});
afterAll(async () => world?.close());

/** Runs `command` in process with the store directory's fsync failing, and checks that it did fail. */
async function withDirFsyncFailing(command: (ctx: ReturnType<typeof realContext>) => Promise<number>, stdin = '') {
  const { io, stdout, stderr } = bufferedIO();
  (io.stdin as PassThrough).end(stdin);
  const ctx = realContext({ io, env: world.env, debug: false, signal: new AbortController().signal });
  const fired = fault.fired;
  fault.dir = world.store.dir;
  let code: number;
  try {
    code = await command(ctx);
  } finally {
    fault.dir = null;
  }
  expect(fault.fired).toBeGreaterThan(fired);
  return { code, stderr: stderr(), printed: `${stdout()}\n${stderr()}` };
}

it('the store is in place but its directory fsync fails: rotated (exit 0), a warning, a recovery copy; --recover removes it', async () => {
  const old = world.emulator.items()[0]!.access_token;
  const { code, printed: text } = await withDirFsyncFailing((ctx) => runItemsRotate(ctx, 'demo', { yes: true }));
  expect(code).toBe(0);
  const fresh = world.emulator.items()[0]!.access_token;
  expect(fresh).not.toBe(old);
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

const key = async () => JSON.parse(await readFile(world.store.file, 'utf8')).key as { source: string; account?: string };

/** `config rekey --to <to>` with the store directory's fsync failing. */
const rekeyUnconfirmed = (to: 'keychain' | 'passphrase') => withDirFsyncFailing((ctx) => runConfigRekey(ctx, { to }));

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

it("keychain -> keychain when the backup cannot be written: the old entry, which opens the backup, is kept, and the warning says so", async () => {
  const context = () => realContext({ io: bufferedIO().io, env: world.env, debug: false, signal: new AbortController().signal });
  if ((await key()).source !== 'keychain') expect(await runConfigRekey(context(), { to: 'keychain' })).toBe(0);
  const old = await key();
  expect(old.source).toBe('keychain');
  const { io, stderr } = bufferedIO();
  const ctx = realContext({ io, env: world.env, debug: false, signal: new AbortController().signal });
  const backup = readFileSync(`${world.store.file}.bak`);
  const fired = fault.fired;
  fault.renameTo = `${world.store.file}.bak`;
  let code: number;
  try {
    code = await runConfigRekey(ctx, { to: 'keychain' });
  } finally {
    fault.renameTo = null;
  }
  expect(fault.fired).toBeGreaterThan(fired);
  expect(code, stderr()).toBe(0);
  expect(stderr()).toContain(`could not be updated`);
  expect(stderr()).toContain(`! The backup ${world.store.file}.bak still holds the store as it was before this rekey, which opens with the old key only, so the old keychain entry (service plaidbal, account ${old.account}) was kept.`);
  const now = await key();
  expect(now.account).not.toBe(old.account);
  // The store opens with the new entry; the backup is as it was, and what opened it still does.
  expect(await osKeychain().get(old.account!)).not.toBeNull();
  expect(readFileSync(`${world.store.file}.bak`)).toEqual(backup);
  const balance = await world.run(['balance', '--item', 'demo', '--json']);
  expect(balance.code, balance.stderr).toBe(0);
  await osKeychain().delete(old.account!);
});

it('link: the store is in place but its directory fsync fails: linked (exit 0) with a warning, the item saved and not removed at Plaid', async () => {
  const { code, printed: text } = await withDirFsyncFailing((ctx) => runLinkSandbox(ctx, { sandbox: true, name: 'unconfirmed', institution: 'ins_109508', products: ['auth'], browser: true }));
  expect(code).toBe(0);
  expect(text).toMatch(/! The store at .* was replaced, but the disk did not confirm it: .*(EIO|input\/output).* The item is saved and works; only if a crash brought back the previous version would it be missing \(then link it again\)\./i);
  expect(text).toContain('Linked First Platypus Bank as "unconfirmed"');
  // Reported as a failure, the link would invite a second one; removed at Plaid, a billed item lost.
  expect(world.emulator.requests.filter((q) => q.path === '/item/remove')).toHaveLength(0);
  const balance = await world.run(['balance', '--item', 'unconfirmed', '--json']);
  expect(balance.code, balance.stderr).toBe(0);
});

it('items import: a batch in place but unconfirmed stops the run (exit 3), its rows counted as saved, and a re-run finds them stored', async () => {
  const tokens = [];
  for (const name of ['unconfirmed-1', 'unconfirmed-2']) tokens.push({ access_token: (await createSandboxItem(world.emulator, { institution_id: 'ins_109508', initial_products: ['auth'] })).access_token, name });
  const input = tokens.map((t) => `${JSON.stringify(t)}\n`).join('');
  const run = (ctx: ReturnType<typeof realContext>) => runItemsImport(ctx, { format: 'ndjson', json: true } as Parameters<typeof runItemsImport>[1]);
  const outcome = await withDirFsyncFailing(run, input).then(
    () => null,
    (error: unknown) => error,
  );
  expect(outcome).toMatchObject({ exitCode: 3 });
  const message = (outcome as Error).message;
  expect(message).toMatch(/^The store at .* was replaced, but the disk did not confirm it: .*(EIO|input\/output).*A crash now could bring back the previous version\./i);
  expect(message).toContain('2 rows were saved in the store before it stopped; 0 were not imported.');
  const stored = JSON.parse(readFileSync(world.store.file, 'utf8')).items.map((i: { alias: string }) => i.alias);
  expect(stored).toEqual(expect.arrayContaining(['unconfirmed-1', 'unconfirmed-2']));

  // With the disk well again, the same import finds both rows stored.
  const { io, stdout } = bufferedIO();
  (io.stdin as PassThrough).end(input);
  const again = await run(realContext({ io, env: world.env, debug: false, signal: new AbortController().signal }));
  expect(again).toBe(0);
  expect(JSON.parse(stdout()).rows.map((r: { alias: string; status: string }) => [r.alias, r.status])).toEqual([
    ['unconfirmed-1', 'unchanged'],
    ['unconfirmed-2', 'unchanged'],
  ]);
});

/**
 * A store about to be made, with its first key made in a keychain in memory (Store.update itself:
 * the writes of an items import's batches), and `add(n)`, a change adding item n, sealed with it.
 */
async function newStoreInMemoryKeychain() {
  const scratch = mkdtempSync(join(tmpdir(), 'plaidbal-dir-fsync-'));
  onTestFinished(() => rmSync(scratch, { recursive: true, force: true }));
  const dir = join(scratch, 'store');
  const keychain = memoryKeychain();
  const keyDeps = { keychain, passphrase: () => Promise.reject(new Error('no passphrase in this test')), notice: () => {}, now: () => new Date() };
  const store = Store.open({ env: { PLAIDBAL_CONFIG_DIR: dir }, keyDeps });
  const sealer = await store.sealerForWriting('keychain');
  const add = (n: number) => (doc: { items: unknown[] }) =>
    void doc.items.push({ item_id: `item${n}`, alias: `a${n}`, environment: 'sandbox', institution_id: null, institution_name: null, products: ['auth'], linked_at: '2026-12-04T12:00:00.000Z', last_balance_at: null, access_token: sealer.seal(`token-${n}`, aad.accessToken('sandbox', `item${n}`)) });
  return { dir, keychain, keyDeps, store, add };
}

it('a new store whose first write is in place but unconfirmed: its keychain key is the store\'s, kept when the next write fails', async () => {
  // Store.update itself, with a keychain in memory: an items import's batches, the first of which
  // lands without the disk's confirmation and the next of which fails before its rename.
  const { dir, keychain, keyDeps, store, add } = await newStoreInMemoryKeychain();
  const failing = async (set: 'dir' | 'rename', write: Promise<unknown>) => {
    const fired = fault.fired;
    try {
      return await write.then(
        () => null,
        (error: unknown) => error,
      );
    } finally {
      fault[set] = null;
      expect(fault.fired).toBeGreaterThan(fired);
    }
  };
  fault.dir = dir;
  const first = await failing('dir', store.update(add(1)));
  expect(first).toBeInstanceOf(StoreWriteError);
  expect((first as InstanceType<typeof StoreWriteError>).committed).toBe(true);
  const key = JSON.parse(readFileSync(join(dir, 'store.json'), 'utf8')).key as { account: string };
  fault.rename = dir;
  const second = await failing('rename', store.update(add(2)));
  expect((second as InstanceType<typeof StoreWriteError>).committed).toBe(false);

  // The keychain entry the store names is still there, and opens it.
  expect(await keychain.get(key.account)).not.toBeNull();
  const reopened = Store.open({ env: { PLAIDBAL_CONFIG_DIR: dir }, keyDeps });
  expect(await reopened.open(reopened.doc.items[0]!.access_token, aad.accessToken('sandbox', 'item1'), 'item1')).toBe('token-1');
  // And the same process's next write, with the disk well again, lands under that key.
  await store.update(add(2));
  expect(JSON.parse(readFileSync(join(dir, 'store.json'), 'utf8')).items.map((i: { alias: string }) => i.alias)).toEqual(['a1', 'a2']);
});

it("a new store whose first write fails: the keychain key made for it is deleted, and nothing sealed with it is written afterwards", async () => {
  // An items import with credentials from the environment makes the store's first key, and
  // writes its rows again after a failed batch: that write would have named the deleted entry.
  const { dir, store, add: item } = await newStoreInMemoryKeychain();
  const add = item(1);
  fault.rename = dir;
  const fired = fault.fired;
  const first = await store.update(add).then(
    () => null,
    (error: unknown) => error,
  );
  fault.rename = null;
  expect(fault.fired).toBeGreaterThan(fired);
  expect(first).toBeInstanceOf(StoreWriteError);
  expect((first as InstanceType<typeof StoreWriteError>).committed).toBe(false);
  expect(readdirSync(dir).filter((name) => name === 'store.json')).toEqual([]);

  // The disk is well again: the same rows, sealed with the deleted key, are refused, not written.
  const again = await store.update(add).then(
    () => null,
    (error: unknown) => error,
  );
  expect(again).toMatchObject({ exitCode: 3 });
  expect((again as Error).message).toContain("was deleted when the store's first write failed, so nothing sealed with it can be written any more. Nothing was written.");
  expect(readdirSync(dir).filter((name) => name === 'store.json')).toEqual([]);
});

