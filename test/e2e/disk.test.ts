/**
 * The store on real file systems that refuse writes: a small tmpfs filled so that each write
 * runs out of room part-way through, and a read-only bind mount. Every command that writes
 * must exit 3 with a message naming the cause, leave the store and its backup byte-identical
 * and no temporary file behind; every command that only reads must still work; and no item
 * may be left at Plaid without its token. The code cache plaidbal writes outside its store
 * (src/load.ts) may never fail a run, nor leave a file cut short, on a disk that fills.
 *
 * Mounting needs root, which CI has (.ci/run runs as root); elsewhere this file is skipped
 * and says so.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxItem } from '../emulator/index.js';
import type { RecordedRequest } from '../emulator/types.js';
import { addItems } from '../helpers/bulk.js';
import { keychainAccounts, startPrivateBus } from '../helpers/keyring.js';
import { codeCacheEvents, filesUnder } from '../helpers/cli.js';
import { createWorld, printed, TEST_SECRET, type World } from '../helpers/world.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) process.stderr.write('\n!!!!! test/e2e/disk.test.ts needs root to mount a tmpfs and a read-only bind mount: skipped. CI runs it as root.\n\n');

const ALIASES = Array.from({ length: 16 }, (_, i) => `acct${i}`);
const FULL = /Could not save the store: the disk holding .* is full\. The store at .* was left exactly as it was\./;
const READ_ONLY = /is on a read-only file system/;

let world: World;
/**
 * What a request's arrival at the emulator sets off (filling the disk mid-command). It runs after
 * the emulator acted and before its answer leaves (onAnswered, test/emulator/types.ts): run once
 * the answer was out, the fill raced the command's own write, which could land first and succeed.
 */
let onArrival: ((request: RecordedRequest) => void) | null = null;
/** What onArrival threw: the emulator's handler would only log it, so afterEach fails the test with it. */
let arrivalError: unknown = null;
const scratch = mkdtempSync(join(tmpdir(), 'plaidbal-disk-'));
const template = join(scratch, 'template');
const mounts: string[] = [];

function mount(args: string[], at: string): void {
  mkdirSync(at, { recursive: true });
  execFileSync('mount', [...args, at]);
  mounts.push(at);
}

/** A fresh small tmpfs holding a copy of the template store (store.json and store.json.bak). */
function tmpfsStore(name: string): { mnt: string; dir: string } {
  const mnt = join(scratch, name);
  mount(['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs'], mnt);
  const dir = join(mnt, 'store');
  mkdirSync(dir, { mode: 0o700 });
  for (const file of readdirSync(template)) copyFileSync(join(template, file), join(dir, file));
  return { mnt, dir };
}

/** Fills the file system holding `mnt` until only `leave` bytes are free. */
function fillLeaving(mnt: string, leave: number): void {
  const { bavail, bsize } = statfsSync(mnt);
  const fill = bavail * bsize - leave;
  if (fill > 0) writeFileSync(join(mnt, `filler-${Date.now()}-${Math.random()}`), Buffer.alloc(fill));
  const after = statfsSync(mnt);
  expect(after.bavail * after.bsize).toBe(leave);
}

/** Every file in the store directory with its bytes. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name)).toString('base64')]));
}

const run = (dir: string, args: string[], extra: { stdin?: string; env?: NodeJS.ProcessEnv } = {}) =>
  world.run(args, { stdin: extra.stdin, extraEnv: { PLAIDBAL_CONFIG_DIR: dir, ...extra.env } });

const storeSize = () => statSync(join(template, 'store.json')).size;
const liveItems = () => world.emulator.items().filter((item) => !item.removed).length;

describe.skipIf(!isRoot)('a full disk and a read-only store', () => {
  beforeAll(async () => {
    const onAnswered = (request: RecordedRequest) => {
      try {
        onArrival?.(request);
      } catch (error) {
        arrivalError ??= error;
      }
    };
    world = await createWorld({ onAnswered }, { PLAIDBAL_CONFIG_DIR: template });
    expect((await world.init('passphrase')).code).toBe(0);
    // Written in one commit through plaidbal's own Store API (items made at the emulator, as
    // `link` makes them): sixteen `link` runs took most of a minute on a busy 2-core machine.
    await addItems(world.emulator, world.env, 'sandbox', ALIASES.length, '', (i) => ALIASES[i]!);
    // Larger than one 4 KiB page even with an item fewer (items remove), so leaving one page
    // free makes every write run out part-way.
    const longestLine = Math.max(...readFileSync(join(template, 'store.json'), 'utf8').split('\n').map((line) => Buffer.byteLength(line) + 1));
    expect(storeSize() - longestLine).toBeGreaterThan(4096);
    expect(snapshot(template)['store.json']).toBe(snapshot(template)['store.json.bak']);
  });
  afterEach(() => {
    onArrival = null;
    while (mounts.length) {
      const at = mounts.pop()!;
      execFileSync('umount', ['-l', at]);
    }
    const thrown = arrivalError;
    arrivalError = null;
    if (thrown) throw thrown;
  });
  afterAll(async () => {
    await world?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  describe('each write runs out of room part-way: exit 3, the cause, the store byte-identical, no temporary file', () => {
    /** Runs a write on a disk with one page free, and checks the common promises. */
    async function onFullDisk(args: string[], extra: { stdin?: string; env?: NodeJS.ProcessEnv; fillOn?: string; leave?: number } = {}) {
      const { mnt, dir } = tmpfsStore(`full-${args.join('-').replace(/[^a-z0-9-]/gi, '')}`);
      const before = snapshot(dir);
      if (extra.fillOn) {
        // Room enough for the checks before the Plaid call; the disk fills while Plaid answers.
        onArrival = (request) => {
          if (request.path === extra.fillOn) fillLeaving(mnt, 4096);
        };
      } else {
        fillLeaving(mnt, extra.leave ?? 4096);
      }
      const result = await run(dir, args, extra);
      expect(snapshot(dir)).toEqual(before);
      expect(readdirSync(dir).filter((name) => name.includes('.tmp-'))).toEqual([]);
      expect(printed(result)).not.toContain(TEST_SECRET);
      return result;
    }

    it('config init (a second environment)', async () => {
      const result = await onFullDisk(['config', 'init', '--env', 'production', '--client-id', 'prod_client_id', '--secret-stdin'], { stdin: 'prod-secret-0123456789' });
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toMatch(FULL);
      expect(result.stderr).toContain('Free some space there');
      expect(result.stdout).toBe('');
    });

    it('config init on a new store with the OS keychain: the key made for it is deleted again, also when the write never begins', async () => {
      // A gnome-keyring of its own: the suite's shared one gains and loses keys from other
      // files running at the same time, so a listing of it proves nothing about this command.
      const bus = await startPrivateBus({ secretService: true });
      const busEnv = Object.fromEntries(Object.entries(bus.env).filter(([name]) => name.startsWith('DBUS_') || name.startsWith('XDG_') || name === 'HOME'));
      try {
        const init = (dir: string) =>
          run(dir, ['config', 'init', '--env', 'sandbox', '--client-id', 'test_client_id', '--secret-stdin', '--key-source', 'keychain'], { stdin: TEST_SECRET, env: busEnv });
        // The control: with room on the disk, the same command leaves exactly one key behind.
        const roomy = mkdtempSync(join(scratch, 'roomy-'));
        const ok = await init(roomy);
        expect(ok.code, ok.stderr).toBe(0);
        const keysBefore = await keychainAccounts(bus.env);
        expect(keysBefore).toHaveLength(1);

        const mnt = join(scratch, 'full-new');
        mount(['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs'], mnt);
        const dir = join(mnt, 'store');
        mkdirSync(dir, { mode: 0o700 });
        fillLeaving(mnt, 0);
        const result = await init(dir);
        expect(result.code, result.stderr).toBe(3);
        expect(result.stderr).toMatch(FULL);
        expect(readdirSync(dir)).toEqual([]);
        expect(await keychainAccounts(bus.env)).toEqual(keysBefore);

        // A write that never begins (the lock cannot be used: a bad PLAIDBAL_LOCK_TIMEOUT_MS) leaves none either.
        const never = mkdtempSync(join(scratch, 'never-'));
        const refused = await run(never, ['config', 'init', '--env', 'sandbox', '--client-id', 'test_client_id', '--secret-stdin', '--key-source', 'keychain'], { stdin: TEST_SECRET, env: { ...busEnv, PLAIDBAL_LOCK_TIMEOUT_MS: '5' } });
        expect(refused.code, refused.stderr).toBe(3);
        expect(refused.stderr).toContain('PLAIDBAL_LOCK_TIMEOUT_MS must be a whole number');
        expect(readdirSync(never)).toEqual([]);
        expect(await keychainAccounts(bus.env)).toEqual(keysBefore);
      } finally {
        await bus.close();
      }
    });

    it('link --sandbox: refused before Plaid creates anything', async () => {
      const items = world.emulator.items().length;
      const result = await onFullDisk(['link', '--sandbox', '--name', 'nospace']);
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toMatch(/Cannot save to the store: the disk holding .* is full \(4 KiB free; saving needs about \d+ KiB\)\. Nothing was created at Plaid/);
      expect(world.emulator.items().length).toBe(items);
      expect(result.stdout).not.toContain('Linked');
    });

    it('link --sandbox: the disk fills while Plaid exchanges the token, so the new item is removed at Plaid again', async () => {
      const before = liveItems();
      const created = world.emulator.items().length;
      const result = await onFullDisk(['link', '--sandbox', '--name', 'filled'], { fillOn: '/item/public_token/exchange' });
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toMatch(FULL);
      expect(result.stderr).toContain('so it was removed at Plaid again');
      expect(result.stdout).not.toContain('Linked');
      expect(world.emulator.items().length).toBe(created + 1); // Plaid did create it…
      expect(liveItems()).toBe(before); // …and it is gone again: nothing left billing
    });

    it('link --sandbox: the disk fills while Plaid exchanges the token, and the removal fails too: the message names the item left at Plaid and who can remove it', async () => {
      const created = world.emulator.items().length;
      world.emulator.inject({ path: '/item/remove', status: 500, times: Infinity });
      let result;
      try {
        result = await onFullDisk(['link', '--sandbox', '--name', 'stranded'], { fillOn: '/item/public_token/exchange' });
      } finally {
        world.emulator.clearFaults();
      }
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toMatch(FULL);
      const item = world.emulator.items()[created]!;
      expect(item.removed).toBeFalsy();
      const said = result.stderr.replace(/\s+/g, ' ');
      expect(said).toContain(`! Saving the item failed, and removing it at Plaid failed too (`);
      expect(said).toContain(`item ${item.item_id} (sandbox, created `);
      expect(said).toContain('is left at Plaid without its token, and may bill until Plaid Support removes it. Ask them to, quoting that item_id.');
      expect(said).not.toContain('dashboard');
      expect(result.stderr).not.toContain(item.access_token);
    });

    it('link --sandbox: the disk fills while Plaid exchanges the token, and the removal\'s answer is lost: the repeated removal finds the item gone, counted as removed', async () => {
      const before = liveItems();
      // Plaid removes the item, and its answer never arrives (held past --timeout): plaidbal sends
      // the removal again, which Plaid refuses with ITEM_NOT_FOUND, the item being gone.
      const hold = world.emulator.holdNext('/item/remove');
      let result;
      try {
        result = await onFullDisk(['link', '--sandbox', '--name', 'retried', '--timeout', '2'], { fillOn: '/item/public_token/exchange' });
      } finally {
        hold.release();
      }
      expect(result.code, result.stderr).toBe(3);
      const removals = world.emulator.requests.filter((q) => q.path === '/item/remove').slice(-2);
      expect(removals.map((q) => (q.response as { error_code?: string }).error_code ?? null)).toEqual([null, 'ITEM_NOT_FOUND']);
      expect(result.stderr).toContain('! Saving the item failed, so it was removed at Plaid again (nothing is left billing; Plaid answered ITEM_NOT_FOUND to a repeated removal).');
      expect(liveItems()).toBe(before);
    });

    it("link --sandbox: the store is re-keyed while Plaid exchanges the token, then the disk fills: the save under the store's new key runs out of room, and the item is removed at Plaid again", async () => {
      const { mnt, dir } = tmpfsStore('full-rekeyed-link');
      const before = liveItems();
      const created = world.emulator.items().length;
      const hold = world.emulator.holdNext('/item/public_token/exchange');
      const linking = run(dir, ['link', '--sandbox', '--name', 'rekeyed', '--timeout', '60']);
      let rekeyed: Record<string, string>;
      try {
        await hold.arrived;
        // Another terminal moves the store to a new keychain key while Link waits for Plaid; then the disk fills.
        const rekey = await run(dir, ['config', 'rekey', '--to', 'keychain']);
        expect(rekey.code, rekey.stderr).toBe(0);
        rekeyed = snapshot(dir);
        fillLeaving(mnt, 4096);
      } finally {
        hold.release();
      }
      const result = await linking;
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toContain("! The store was re-keyed while the item was being linked: saving it under the store's key as it is now.");
      expect(result.stderr).toMatch(FULL);
      expect(result.stderr).toContain('so it was removed at Plaid again');
      expect(result.stdout).not.toContain('Linked');
      expect(snapshot(dir)).toEqual(rekeyed);
      expect(readdirSync(dir).filter((name) => name.includes('.tmp-'))).toEqual([]);
      expect(printed(result)).not.toContain(TEST_SECRET);
      expect(world.emulator.items().length).toBe(created + 1); // Plaid did create it…
      expect(liveItems()).toBe(before); // …and it is gone again: nothing left billing
    });

    it('items rename', async () => {
      const result = await onFullDisk(['items', 'rename', 'acct1', 'renamed']);
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toMatch(FULL);
      expect(result.stderr).not.toContain('Renamed');
    });

    it('items remove --local', async () => {
      const result = await onFullDisk(['items', 'remove', 'acct2', '--local', '--yes']);
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toMatch(FULL);
    });

    it('items remove: refused before Plaid removes anything', async () => {
      const before = liveItems();
      const result = await onFullDisk(['items', 'remove', 'acct3', '--yes']);
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toMatch(/Cannot save to the store: the disk holding .* is full .*Nothing was removed at Plaid/);
      expect(liveItems()).toBe(before);
    });

    it('items remove: the disk fills while Plaid removes the item, and the message says what is left to do', async () => {
      const result = await onFullDisk(['items', 'remove', 'acct4', '--yes'], { fillOn: '/item/remove' });
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toContain('"acct4" was removed at Plaid, but deleting its local copy failed.');
      expect(result.stderr).toMatch(FULL);
      expect(result.stderr).toContain('plaidbal items remove --local acct4 --yes');
    });

    it('items import: refused before Plaid is asked', async () => {
      const { access_token } = await createSandboxItem(world.emulator, { initial_products: ['auth'] });
      const gets = world.emulator.requests.filter((q) => q.path === '/item/get').length;
      const result = await onFullDisk(['items', 'import', '--name', 'imported'], { stdin: access_token });
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toMatch(/Cannot save to the store: the disk holding .* is full.*Nothing was imported, and the store was not changed\./s);
      expect(world.emulator.requests.filter((q) => q.path === '/item/get').length).toBe(gets);
      expect(printed(result)).not.toContain(access_token);
    });

    it('items import: the disk fills while Plaid verifies the token; nothing is claimed as saved', async () => {
      const { access_token } = await createSandboxItem(world.emulator, { initial_products: ['auth'] });
      const result = await onFullDisk(['items', 'import', '--name', 'imported'], { stdin: access_token, fillOn: '/item/get' });
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toMatch(FULL);
      expect(result.stderr).toContain('0 rows were saved in the store before it stopped; 1 was not imported.');
      expect(result.stdout).toBe('');
      expect(printed(result)).not.toContain(access_token);
    });

    it('items import: a batch saved, then the disk fills; the stop message tells the failed write from the saved one', async () => {
      const [first, second, third] = [await createSandboxItem(world.emulator, { initial_products: ['auth'] }), await createSandboxItem(world.emulator, { initial_products: ['auth'] }), await createSandboxItem(world.emulator, { initial_products: ['auth'] })];
      // One at a time, the second and third checks each answering 3 s later, past the 2 s batch
      // deadline: the first two rows are written when the second is verified. With --concurrency 1
      // the third check is sent only once that write is done; the disk fills as it reaches Plaid,
      // and the third row's write then fails.
      for (const item of [second, third]) world.emulator.setItemLatency(item!.access_token, 3_000);
      const { mnt, dir } = tmpfsStore('full-import-second-batch');
      let gets = 0;
      onArrival = (request) => {
        if (request.path === '/item/get' && ++gets === 3) fillLeaving(mnt, 4096);
      };
      try {
        const stdin = [first, second, third].map((item) => `${JSON.stringify({ access_token: item!.access_token })}\n`).join('');
        const result = await run(dir, ['items', 'import', '--format', 'ndjson', '--concurrency', '1'], { stdin });
        expect(result.code, result.stderr).toBe(3);
        expect(result.stderr).toMatch(FULL);
        // Not "…was left exactly as it was. 2 rows were saved…", which reads as a contradiction.
        expect(result.stderr).toContain("was left exactly as it was. That write changed nothing, but this import's other writes saved 2 rows in the store; 1 was not imported.");
        const stored = (JSON.parse(readFileSync(join(dir, 'store.json'), 'utf8')) as { items: { item_id: string }[] }).items.map((i) => i.item_id);
        expect([first, second, third].map((item) => stored.includes(item!.item_id))).toEqual([true, true, false]);
        for (const item of [first, second, third]) expect(printed(result)).not.toContain(item!.access_token);
      } finally {
        for (const item of [second, third]) world.emulator.setItemLatency(item!.access_token, 0);
      }
    });

    it('config rekey', async () => {
      const result = await onFullDisk(['config', 'rekey'], { env: { PLAIDBAL_NEW_PASSPHRASE: 'a whole new passphrase' } });
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toMatch(FULL);
    });

    it('balance on a nearly full disk: the time is recorded by a small append; store.json and its backup are not rewritten', async () => {
      const { mnt, dir } = tmpfsStore('nearly-full-balance');
      const before = snapshot(dir);
      fillLeaving(mnt, 4096);
      const result = await run(dir, ['balance', '--item', 'acct5', '--json']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).not.toContain('could not record');
      const after = snapshot(dir);
      expect(after['store.json']).toBe(before['store.json']);
      expect(after['store.json.bak']).toBe(before['store.json.bak']);
      expect(Object.keys(after).sort()).toEqual([...Object.keys(before), 'last-balance.ndjson'].sort());
      const items = JSON.parse((await run(dir, ['items', '--json'])).stdout).items as { alias: string; last_balance_at: string | null }[];
      expect(items.find((i) => i.alias === 'acct5')!.last_balance_at).toBe(JSON.parse(result.stdout).fetched_at);
    });

    it('balance: the billed result is printed, the bookkeeping failure is a warning, and the exit code is the result\'s', async () => {
      const result = await onFullDisk(['balance', '--item', 'acct5', '--json'], { leave: 0 });
      expect(result.code, result.stderr).toBe(0);
      const doc = JSON.parse(result.stdout) as { items: { name: string; accounts: unknown[] }[] };
      expect(doc.items[0]!.name).toBe('acct5');
      expect(doc.items[0]!.accounts.length).toBe(9);
      expect(result.stderr).toContain('! The balances were fetched, but the store could not record when (last_balance_at):');
      expect(result.stderr).toMatch(/Could not write .*last-balance\.ndjson: the disk holding .* is full\./);
      expect(result.stderr.match(/could not record/g)).toHaveLength(1);
    });
  });

  describe('a read-only store', () => {
    function readOnlyStore(name: string): { dir: string; writable: string } {
      const { mnt, dir } = tmpfsStore(`ro-src-${name}`);
      const ro = join(scratch, `ro-${name}`);
      mount(['--bind', mnt], ro);
      execFileSync('mount', ['-o', 'remount,bind,ro', ro]);
      return { dir: join(ro, 'store'), writable: dir };
    }

    it('every command that only reads works, and nothing changes', async () => {
      const { dir } = readOnlyStore('reads');
      const before = snapshot(dir);
      const account = JSON.parse((await run(dir, ['balance', '--item', 'acct6', '--json'])).stdout).items[0].accounts[0].account_id as string;
      for (const args of [
        ['items'],
        ['items', '--json'],
        ['items', 'status', 'acct6'],
        ['config', 'show'],
        ['config', 'show', '--json'],
        ['balance', '--item', 'acct6', '--cached'],
        ['check', '--item', 'acct6', '--account', account, '--amount', '1.00'],
      ]) {
        const result = await run(dir, args);
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
        expect(result.stdout.length, args.join(' ')).toBeGreaterThan(0);
        expect(result.stderr, args.join(' ')).not.toContain('read-only');
      }
      const balance = await run(dir, ['balance', '--item', 'acct6']);
      expect(balance.code, balance.stderr).toBe(0);
      expect(balance.stdout).toContain('Plaid Checking');
      expect(balance.stderr).toMatch(/could not record when \(last_balance_at\): Could not write .*last-balance\.ndjson: .* is on a read-only file system/);
      expect(snapshot(dir)).toEqual(before);
    });

    it.each([
      ['config init', ['config', 'init', '--env', 'production', '--client-id', 'prod_client_id', '--secret-stdin'], 'prod-secret-0123456789'],
      ['link --sandbox', ['link', '--sandbox', '--name', 'readonly'], undefined],
      ['items rename', ['items', 'rename', 'acct7', 'renamed'], undefined],
      ['items remove', ['items', 'remove', 'acct7', '--yes'], undefined],
      ['items remove --local', ['items', 'remove', 'acct7', '--local', '--yes'], undefined],
      ['config rekey', ['config', 'rekey'], undefined],
    ])('%s: exit 3, says the store is read-only, changes nothing here or at Plaid', async (_name, args, stdin) => {
      const { dir } = readOnlyStore(_name.replace(/[^a-z]/g, ''));
      const before = snapshot(dir);
      const items = world.emulator.items().length;
      const live = liveItems();
      const result = await run(dir, args, { stdin, env: { PLAIDBAL_NEW_PASSPHRASE: 'a whole new passphrase' } });
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toMatch(READ_ONLY);
      expect(result.stderr).toContain('Commands that only read the store');
      expect(snapshot(dir)).toEqual(before);
      expect(world.emulator.items().length).toBe(items);
      expect(liveItems()).toBe(live);
    });

    it('config init of a new store whose directory would be made on a read-only file system: says so (not ENOENT)', async () => {
      const { dir } = readOnlyStore('newstore');
      const fresh = join(dir, 'sub', 'store');
      const result = await run(fresh, ['config', 'init', '--env', 'sandbox', '--client-id', 'test_client_id', '--secret-stdin', '--key-source', 'passphrase'], { stdin: TEST_SECRET });
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toContain(`Cannot use ${fresh} as the store directory: ${dir} is on a read-only file system.`);
      expect(result.stderr).not.toContain('ENOENT');
      expect(printed(result)).not.toContain(TEST_SECRET);
    });
  });

  describe('the code cache (src/load.ts) on a full disk', () => {
    it('a cache write that runs out of room part-way leaves no file, says nothing, and the run is unaffected', async () => {
      const { dir } = tmpfsStore('cache-store');
      // Smaller than any unit's cache after a balance (30 KB for the balance unit's, hundreds of KB
      // for the others), so each write stops part-way.
      const cache = join(scratch, 'cache-full');
      mount(['-t', 'tmpfs', '-o', 'size=16k,mode=0700', 'tmpfs'], cache);
      // The user's cache directory, as without the suite's NODE_COMPILE_CACHE (which Node itself would also write to).
      const env = { NODE_COMPILE_CACHE: undefined, XDG_CACHE_HOME: cache, NODE_DEBUG: 'plaidbal' };
      for (const round of ['first', 'second']) {
        const result = await run(dir, ['balance', '--item', 'acct5', '--json'], { env });
        expect(result.code, result.stderr).toBe(0);
        const doc = JSON.parse(result.stdout) as { items: { name: string; accounts: unknown[]; error: unknown }[] };
        expect(doc.items.map((i) => [i.name, i.accounts.length, i.error])).toEqual([['acct5', 9, null]]);
        // Nothing but the loader's debug lines on stderr, and no cache claimed as written: each
        // write failed, so each run finds none (a file cut short would be "rejected" the second time).
        expect(result.stderr.replace(/^PLAIDBAL \d+: code cache: .*\n/gm, ''), round).toBe('');
        expect(codeCacheEvents(result.stderr), round).toEqual(['cli none', 'balance none', 'commands none', 'plaid none']);
        expect(filesUnder(cache), round).toEqual([]);
      }
      // The control: the same run with room for the cache writes it.
      const roomy = join(scratch, 'cache-roomy');
      const ok = await run(dir, ['balance', '--item', 'acct5', '--json'], { env: { ...env, XDG_CACHE_HOME: roomy } });
      expect(ok.code, ok.stderr).toBe(0);
      expect(codeCacheEvents(ok.stderr)).toEqual(['cli none', 'balance none', 'commands none', 'plaid none', 'cli written', 'balance written', 'commands written', 'plaid written']);
      expect(filesUnder(roomy).filter((f) => f.endsWith('.bin'))).toHaveLength(4);
    });
  });
});
