/**
 * A concurrent and crash-safe store: parallel plaidbal processes lose no update, a held
 * lock gives a clear error after its timeout, and SIGKILL at any point of link, rename or
 * remove leaves a store that opens with the earlier items intact.
 *
 * The processes that race each other, wait on a lock or are killed are spawned from the built
 * CLI; the checks of the store they leave run in this process (test/helpers/in-process.ts).
 */
import { spawn } from '../helpers/spawner.js';
import { readFile, readdir } from 'node:fs/promises';
import lockfile from 'proper-lockfile';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, spawnCli, type CliResult } from '../helpers/cli.js';
import { arrival, until, within } from '../helpers/wait.js';
import { createWorld, type World } from '../helpers/world.js';

let world: World;
beforeEach(async () => {
  world = await createWorld({ rateLimits: { perClient: 10_000, perItem: 10_000 } });
  expect((await world.init('passphrase')).code).toBe(0);
});
afterEach(async () => world.close());

/** A check of the store, in this process. */
const check = (args: string[]): Promise<CliResult> => world.runInProcess(args);
const aliases = async () => JSON.parse((await check(['items', '--json'])).stdout).items.map((i: { alias: string }) => i.alias).sort();

describe('several processes at once', () => {
  it('ten parallel `link --sandbox` runs leave ten items', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `p${i}`);
    const results = await Promise.all(names.map((n) => world.run(['link', '--sandbox', '--name', n])));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(await aliases()).toEqual([...names].sort());
    // And every token still opens.
    const balance = await check(['balance', '--all', '--json', '--cached']);
    expect(balance.code, balance.stderr).toBe(0);
    expect(JSON.parse(balance.stdout).items).toHaveLength(10);
  });

  it('parallel links without --name get distinct default aliases', async () => {
    const results = await Promise.all(Array.from({ length: 4 }, () => world.run(['link', '--sandbox'])));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(await aliases()).toEqual(['first-platypus-bank', 'first-platypus-bank-2', 'first-platypus-bank-3', 'first-platypus-bank-4']);
  });

  it('a lock held elsewhere gives a clear error after PLAIDBAL_LOCK_TIMEOUT_MS, and nothing changes', async () => {
    await world.link('demo');
    const release = await lockfile.lock(world.store.file, { realpath: false, lockfilePath: `${world.store.file}.lock`, stale: 60_000, update: 1_000 });
    try {
      const before = await world.store.snapshot();
      const r = await world.run(['items', 'rename', 'demo', 'renamed'], { extraEnv: { PLAIDBAL_LOCK_TIMEOUT_MS: '600' } });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('The store is busy');
      expect(r.stderr).toContain('store.json.lock');
      expect(await world.store.snapshot()).toEqual(before);
    } finally {
      await release();
    }
    expect((await world.run(['items', 'rename', 'demo', 'renamed'])).code).toBe(0);
  });
});

describe('a PLAIDBAL_LOCK_TIMEOUT_MS the store lock would refuse', () => {
  it('stops link and items remove before Plaid acts (exit 3, nothing at Plaid, the store unchanged)', async () => {
    await world.link('kept');
    const before = await world.store.snapshot();
    const calls = world.emulator.requests.length;
    for (const args of [
      ['link', '--sandbox', '--name', 'refused'],
      ['items', 'remove', 'kept', '--yes'],
    ]) {
      const r = await world.runInProcess(args, { extraEnv: { PLAIDBAL_LOCK_TIMEOUT_MS: '5' } });
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain('PLAIDBAL_LOCK_TIMEOUT_MS must be a whole number of milliseconds from 100 to 600000 (got "5").');
      expect(r.stderr).toMatch(/Nothing was (created|removed) at Plaid, and the store was not changed\./);
    }
    // Not one call: a link would have exchanged a public token (a billed item) and removed it again.
    expect(world.emulator.requests.slice(calls).map((q) => q.path)).toEqual([]);
    expect(await world.store.snapshot()).toEqual(before);
    expect((await world.runInProcess(['items', 'remove', 'kept', '--yes'])).code).toBe(0);
  });
});

describe('a busy store after Plaid has created an item', () => {
  it('link waits for the lock as long as it is held, instead of removing the new (billed) item again', async () => {
    const release = await lockfile.lock(world.store.file, { realpath: false, lockfilePath: `${world.store.file}.lock`, stale: 60_000, update: 1_000 });
    let released = false;
    try {
      const { out, closed, stderr } = spawnCli(['link', '--sandbox', '--name', 'held'], { ...world.env, PLAIDBAL_LOCK_TIMEOUT_MS: '600' });
      const waiting = '! The store is busy (another plaidbal process holds its lock): waiting for it to save the new item, which Plaid has created.';
      // Released once link says it waits, past the 600 ms after which any other write gives up
      // on the lock: a fixed sleep could end before a slow link even reached the lock.
      await until(() => out.stderr.includes(waiting), () => `link to say it waits; its stderr:\n${out.stderr}`, 30_000);
      expect(world.emulator.requests.filter((q) => q.path === '/item/public_token/exchange')).toHaveLength(1);
      // Still waiting well past the lock timeout: nothing removed at Plaid meanwhile.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(world.emulator.requests.filter((q) => q.path === '/item/remove')).toHaveLength(0);
      await release();
      released = true;
      const code = await within(closed, 'link to end', stderr);
      expect(code, out.stderr).toBe(0);
      expect(out.stdout).toContain('as "held"');
    } finally {
      if (!released) await release();
    }
    expect(world.emulator.requests.filter((q) => q.path === '/item/remove')).toHaveLength(0);
    expect(await aliases()).toEqual(['held']);
  });
});

describe('an alias taken while Link was open', () => {
  it('the item is saved under the next free alias and says so, instead of being removed again at Plaid', async () => {
    // The first link's exchange is held at Plaid until the second link has saved, however long
    // the second takes to start on a busy machine.
    const held = world.emulator.holdNext('/item/public_token/exchange');
    const first = world.run(['link', '--sandbox', '--name', 'checking', '--json']);
    try {
      await arrival(held, { closed: first });
      // Another process links under the same name and saves first.
      const second = await world.run(['link', '--sandbox', '--name', 'checking']);
      expect(second.code, second.stderr).toBe(0);
    } finally {
      held.release();
    }
    const r = await first;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('! The alias "checking" was taken by another plaidbal process while Link was open, so the item is saved as "checking-2". Rename it with: plaidbal items rename checking-2 <alias>');
    expect(JSON.parse(r.stdout).item.alias).toBe('checking-2');
    expect(await aliases()).toEqual(['checking', 'checking-2']);
    expect(world.emulator.requests.filter((q) => q.path === '/item/remove')).toHaveLength(0);
  });
});

describe('crashes', () => {
  /** Starts plaidbal and SIGKILLs it after `afterMs`. */
  function killed(args: string[], afterMs: number): Promise<void> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: world.env, stdio: 'ignore' });
      const timer = setTimeout(() => child.kill('SIGKILL'), afterMs);
      child.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  it('kill -9 at any point of link, rename and remove leaves a store that opens, earlier items intact', async () => {
    await world.link('keep1');
    await world.link('keep2', '--institution', 'ins_109511');
    const keepIds = JSON.parse(await readFile(world.store.file, 'utf8')).items.map((i: { item_id: string }) => i.item_id);
    // Spread the kills over the whole run: start-up, scrypt, the Plaid calls and the write.
    const delays = [30, 90, 150, 220, 300, 380, 450, 520, 600, 700, 800, 950];
    for (const [i, delay] of delays.entries()) {
      await killed(['link', '--sandbox', '--name', `crash${i}`], delay);
      await killed(['items', 'rename', 'keep2', i % 2 ? 'keep2' : `keep2-${i}`], delay);
      await killed(['items', 'remove', `crash${i}`, '--yes'], delay);
      // Undo a rename that completed, so the next round starts from the same names.
      const names = await aliases();
      if (names.includes(`keep2-${i}`)) expect((await check(['items', 'rename', `keep2-${i}`, 'keep2'])).code).toBe(0);

      const doc = JSON.parse(await readFile(world.store.file, 'utf8')); // parses: old or new, never torn
      expect(doc.items.map((x: { item_id: string }) => x.item_id)).toEqual(expect.arrayContaining(keepIds));
      const list = await check(['items', '--json']);
      expect(list.code, list.stderr).toBe(0);
    }
    // The surviving items' tokens still open.
    const balance = await check(['balance', '--item', 'keep1', '--item', 'keep2', '--json', '--cached']);
    expect(balance.code, balance.stderr).toBe(0);
    // Killed writers may leave their temporary files; never a half-written store.json or backup.
    const leftovers = (await readdir(world.store.dir)).filter((f) => f !== 'store.json' && f !== 'store.json.bak' && !f.startsWith('store.json.lock'));
    for (const f of leftovers) expect(f).toMatch(/^store\.json(\.bak)?\.tmp-/);
    // The backup (the last version written, or the one before if a kill fell between the two writes) parses and keeps the earlier items.
    const backup = JSON.parse(await readFile(`${world.store.file}.bak`, 'utf8'));
    expect(backup.items.map((x: { item_id: string }) => x.item_id)).toEqual(expect.arrayContaining(keepIds));
  }, 180_000);
});
