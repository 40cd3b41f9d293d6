/**
 * `plaidbal config rekey`: a new passphrase, keychain <-> passphrase, and a kill -9 at any
 * point leaving a store that opens with the old key or the new one, never neither.
 *
 * The commands run in this process (test/helpers/in-process.ts), but for the rekeys that are
 * killed, which only a real process can show: those are spawned from the built CLI, and run
 * to their end once as well. A rekey stopped by Ctrl-C runs `runConfigRekey` with a context of
 * the test's own, whose signal the test aborts at a known point of the rekey.
 */
import { spawn } from '../helpers/spawner.js';
import { spawn as nodeSpawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Interruption } from '../../src/cli.js';
import { runConfigRekey } from '../../src/commands/config/rekey.js';
import { recoveryRecord, writeRecovery } from '../../src/commands/items/recovery.js';
import { runItemsRemove } from '../../src/commands/items/run.js';
import { passphraseProvider, realContext, type Ctx } from '../../src/context.js';
import { finishing } from '../../src/critical.js';
import { osKeychain, type Keychain } from '../../src/store/keychain.js';
import { aad } from '../../src/store/seal.js';
import { Store } from '../../src/store/store.js';
import { callPlaid } from '../emulator/client.js';
import { CHEAP_SCRYPT_N, cheapenPassphraseStore } from '../helpers/cheap-kdf.js';
import { BIN } from '../helpers/cli.js';
import { bufferedIO } from '../helpers/in-process.js';
import { keychainAccounts } from '../helpers/keyring.js';
import { createWorld, PASSPHRASE, TEST_SECRET, type World } from '../helpers/world.js';

let world: World;
beforeEach(async () => {
  world = await createWorld({}, {}, { inProcess: true });
});
afterEach(async () => world.close());

const NEW = 'a brand new passphrase';
const doc = async () => JSON.parse(await readFile(world.store.file, 'utf8'));
const opensWith = async (passphrase: string) => (await world.run(['balance', '--all', '--cached', '--json'], { extraEnv: { PLAIDBAL_PASSPHRASE: passphrase } })).code === 0;

/** The store's keychain entries: its first key's `store-<id>`, and each rekey's `store-<id>.<suffix>`. */
const storeEntries = async () => {
  const { store_id } = await doc();
  return (await keychainAccounts(world.env)).filter((account) => account.startsWith(`store-${store_id}`));
};

/**
 * What `items rotate` leaves when the store cannot be saved after Plaid answered: Plaid (the
 * emulator) has rotated the item's token, and the new one is in a recovery file, sealed with the
 * store's key by the same writer rotate uses.
 */
async function pendingRotation(alias: string): Promise<{ file: string; token: string }> {
  const ctx = realContext({ io: bufferedIO().io, env: world.env, debug: false, signal: new AbortController().signal });
  const store = await ctx.store();
  const item = store.doc.items.find((i) => i.alias === alias)!;
  const old = world.emulator.items().find((i) => i.item_id === item.item_id)!.access_token;
  const reply = await callPlaid(world.emulator.url, '/item/access_token/invalidate', { access_token: old });
  expect(reply.status).toBe(200);
  const token = reply.body.new_access_token as string;
  const sealer = await store.unlock();
  const written = writeRecovery(store, recoveryRecord(store, item, sealer.seal(token, aad.accessToken(item.environment, item.item_id)), reply.body.request_id as string, new Date()));
  if (!('failures' in written)) return { file: written.path, token };
  throw new Error(`no recovery file could be written: ${written.failures.join('; ')}`);
}

/**
 * A context for `runConfigRekey` in this process, on a terminal, with `signal` as the run's: the
 * new passphrase (NEW) is typed at the prompt, and `onConfirm` runs as it is confirmed (the second
 * prompt), a known point after the first checks and before the lock.
 */
function rekeyTyped(signal: AbortSignal, onConfirm: () => Promise<void>): { ctx: Ctx; stderr: () => string; asked: () => number } {
  const { io, stderr } = bufferedIO();
  const base = realContext({ io, env: { ...world.env, PLAIDBAL_NEW_PASSPHRASE: undefined }, debug: false, signal });
  let asked = 0;
  const ctx: Ctx = {
    ...base,
    io: { ...io, canPrompt: true },
    prompt: {
      ...base.prompt,
      password: async () => {
        if (++asked === 2) await onConfirm();
        return NEW;
      },
    },
  };
  return { ctx, stderr, asked: () => asked };
}

describe('config rekey', () => {
  it('changes the passphrase: the old one stops working, every secret re-sealed', async () => {
    await world.init('passphrase');
    await world.link('one');
    await world.link('two', '--institution', 'ins_109511');
    const before = await doc();
    const r = await world.run(['config', 'rekey'], { extraEnv: { PLAIDBAL_NEW_PASSPHRASE: NEW } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Re-sealed 2 access tokens');
    const after = await doc();
    expect(after.key.kdf.salt).not.toBe(before.key.kdf.salt);
    expect(after.items[0].access_token).not.toBe(before.items[0].access_token);
    expect(after.profiles.sandbox.secret).not.toBe(before.profiles.sandbox.secret);
    expect(await opensWith(PASSPHRASE)).toBe(false);
    expect(await opensWith(NEW)).toBe(true);
    // The re-sealed Plaid secret still works for a new link.
    expect((await world.run(['link', '--sandbox', '--name', 'three'], { extraEnv: { PLAIDBAL_PASSPHRASE: NEW } })).code).toBe(0);
    expect(r.stderr).not.toContain(NEW);
    expect(r.stderr).not.toContain(TEST_SECRET);
  });

  it('moves passphrase -> keychain -> keychain (a new key) -> passphrase, deleting old keychain entries', async () => {
    await world.init('passphrase');
    await world.link('one');
    expect((await world.run(['config', 'rekey', '--to', 'keychain'])).code).toBe(0);
    const k1 = (await doc()).key;
    expect(k1.source).toBe('keychain');
    expect(await opensWith('')).toBe(true); // no passphrase needed now
    expect((await world.run(['config', 'rekey'])).code).toBe(0);
    const k2 = (await doc()).key;
    expect(k2.account).not.toBe(k1.account);
    expect(await osKeychain().get(k1.account)).toBeNull();
    expect(await opensWith('')).toBe(true);
    const r = await world.run(['config', 'rekey', '--to', 'passphrase'], { extraEnv: { PLAIDBAL_NEW_PASSPHRASE: NEW } });
    expect(r.code, r.stderr).toBe(0);
    expect((await doc()).key.source).toBe('passphrase');
    expect(await osKeychain().get(k2.account)).toBeNull();
    expect(await opensWith(NEW)).toBe(true);
  });

  it('a wrong old passphrase, a missing new one, or a tampered secret change nothing', async () => {
    await world.init('passphrase');
    await world.link('one');
    const before = await world.store.snapshot();
    const wrong = await world.run(['config', 'rekey'], { extraEnv: { PLAIDBAL_PASSPHRASE: 'wrong passphrase', PLAIDBAL_NEW_PASSPHRASE: NEW } });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('Wrong passphrase');
    const missing = await world.run(['config', 'rekey']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('PLAIDBAL_NEW_PASSPHRASE');
    expect(await world.store.snapshot()).toEqual(before);

    const d = await doc();
    d.items[0].access_token = d.items[0].access_token.replace(/\.(.)/, (_m: string, c: string) => `.${c === 'A' ? 'B' : 'A'}`);
    await writeFile(world.store.file, JSON.stringify(d));
    const tampered = await world.store.snapshot();
    const r = await world.run(['config', 'rekey', '--to', 'keychain']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('does not verify');
    expect(await world.store.snapshot()).toEqual(tampered);
  });

  for (const source of ['keychain', 'passphrase'] as const) {
    it(`${source} store: refuses while a rotation waits in a recovery file, changing nothing; after --recover it re-keys`, async () => {
      await world.init(source);
      await world.link('demo');
      const { file, token } = await pendingRotation('demo');
      const before = await world.store.snapshot();
      const entries = await storeEntries();
      const refused = await world.run(['config', 'rekey'], { extraEnv: { PLAIDBAL_NEW_PASSPHRASE: NEW } });
      expect(refused.code, refused.stderr).toBe(3);
      expect(refused.stderr).toContain(`A token rotation is not finished: its new token is kept in ${file}, sealed with the store's current key, which a rekey would retire. Nothing was re-keyed.`);
      expect(refused.stderr).toContain('Finish first with: plaidbal items rotate --recover');
      expect(await world.store.snapshot()).toEqual(before);
      // No new keychain entry made, and the old one, the only key to the file, still there.
      expect(await storeEntries()).toEqual(entries);

      const recovered = await world.run(['items', 'rotate', '--recover']);
      expect(recovered.code, recovered.stderr).toBe(0);
      expect(existsSync(file)).toBe(false);
      const rekeyed = await world.run(['config', 'rekey'], { extraEnv: { PLAIDBAL_NEW_PASSPHRASE: NEW } });
      expect(rekeyed.code, rekeyed.stderr).toBe(0);
      // The rotated token, saved by --recover, is re-sealed under the new key and is the one used.
      const balance = await world.run(['balance', '--item', 'demo', '--json'], { extraEnv: { PLAIDBAL_PASSPHRASE: source === 'passphrase' ? NEW : PASSPHRASE } });
      expect(balance.code, balance.stderr).toBe(0);
      expect((world.emulator.requests.at(-1)!.body as { access_token: string }).access_token).toBe(token);
    });
  }

  it('a recovery file sealed under an earlier key does not hold up a rekey: it is past saving already', async () => {
    await world.init('passphrase');
    await world.link('demo');
    const { file } = await pendingRotation('demo');
    // As a rekey made before this check would have left it.
    const stale = { ...JSON.parse(readFileSync(file, 'utf8')), key_check: 'a key this store no longer has' };
    writeFileSync(file, JSON.stringify(stale));
    const r = await world.run(['config', 'rekey'], { extraEnv: { PLAIDBAL_NEW_PASSPHRASE: NEW } });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(JSON.stringify(stale));
    const after = { PLAIDBAL_PASSPHRASE: NEW };
    // --recover says what is left to do, and that works: the item's token is past saving, so its copy can go.
    const recover = await world.run(['items', 'rotate', '--recover'], { extraEnv: after });
    expect(recover.code).toBe(3);
    expect(recover.stderr).toContain('was sealed with a key this store no longer has (it was re-keyed since). Nothing was changed.');
    expect(recover.stderr).toContain('link the institution again, then delete this copy with: plaidbal items remove --local demo --yes');
    const removed = await world.run(['items', 'remove', '--local', 'demo', '--yes'], { extraEnv: after });
    expect(removed.code, removed.stderr).toBe(0);
  });

  it('a recovery file written while the rekey is under way (a rotation failing meanwhile) is found again under the lock: refused, nothing written', async () => {
    await world.init('passphrase');
    await world.link('demo');
    const before = await world.store.snapshot();
    let file = '';
    // The new passphrase is confirmed after the first check and before the lock: a rotation of
    // another process fails to save then, and keeps its token in a recovery file.
    const { ctx, stderr, asked } = rekeyTyped(new AbortController().signal, async () => {
      file = (await pendingRotation('demo')).file;
    });
    const refused = await runConfigRekey(ctx, {}).then(
      () => null,
      (error: unknown) => error as Error,
    );
    expect(asked()).toBe(2);
    expect(refused?.message, stderr()).toContain(`A token rotation is not finished: its new token is kept in ${file}, sealed with the store's current key, which a rekey would retire. Nothing was re-keyed.`);
    // The store directory as it was, but for the recovery file.
    const after = await world.store.snapshot();
    expect([...after.keys()].filter((name) => !before.has(name)).map((name) => join(world.store.dir, name))).toEqual([file]);
    for (const [name, bytes] of before) expect(after.get(name), name).toEqual(bytes);
    // The file still opens with the store's key: --recover finishes it.
    const recovered = await world.run(['items', 'rotate', '--recover']);
    expect(recovered.code, recovered.stderr).toBe(0);
  });

  it('items remove finds a recovery file written while it waited (a rotation failing meanwhile) under the lock: refused, the item kept', async () => {
    await world.init('passphrase');
    await world.link('demo');
    const release = await lockfile.lock(world.store.file, { realpath: false, lockfilePath: `${world.store.file}.lock`, stale: 60_000, update: 1_000 });
    let released = false;
    try {
      // In process, with the store's update watched: the recovery file is written once the
      // remove has made its first check and is waiting for the lock, not after a fixed sleep.
      const base = realContext({ io: bufferedIO().io, env: world.env, debug: false, signal: new AbortController().signal });
      let waiting!: () => void;
      const updating = new Promise<void>((resolve) => (waiting = resolve));
      const ctx: Ctx = {
        ...base,
        async store() {
          const store = await base.store();
          const update = store.update.bind(store);
          store.update = (...args) => {
            const written = update(...args);
            waiting();
            return written;
          };
          return store;
        },
      };
      const removing = runItemsRemove(ctx, 'demo', { local: true, yes: true });
      removing.catch(() => {});
      // Failing at once, with its error, if the remove ends before it writes.
      await Promise.race([updating, removing.then(() => Promise.reject(new Error('items remove ended before its write')))]);
      const { file } = await pendingRotation('demo');
      await release();
      released = true;
      await expect(removing).rejects.toMatchObject({ exitCode: 2, message: `"demo" was rotated while it was being removed, and its new token is kept in ${file}. Nothing was removed here.` });
    } finally {
      if (!released) await release();
    }
    expect(JSON.parse((await world.run(['items', '--json'])).stdout).items.map((i: { alias: string }) => i.alias)).toEqual(['demo']);
  });

  it('--recover finishes every file it can, and names each one it cannot, instead of stopping at the first', async () => {
    await world.init('passphrase');
    for (const alias of ['one', 'two', 'three']) await world.link(alias);
    const files = new Map<string, string>();
    for (const alias of ['one', 'two', 'three']) files.set(alias, (await pendingRotation(alias)).file);
    // Two of them as a rekey would have left them: sealed with a key the store no longer has.
    for (const alias of ['one', 'three']) {
      const file = files.get(alias)!;
      writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), key_check: 'a key this store no longer has' }));
    }
    const r = await world.run(['items', 'rotate', '--recover']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('Finished the rotation of "two"');
    for (const alias of ['one', 'three']) expect(r.stderr).toContain(`${files.get(alias)} was sealed with a key this store no longer has`);
    expect(r.stderr).toContain('2 of 3 recovery files could not be finished (above); 1 other file was.');
    expect((await world.run(['balance', '--item', 'two', '--json'])).code).toBe(0);
  });

  it('Ctrl-C once the new passphrase is given: nothing is written, the run ends as interrupted, the old passphrase opens the store', async () => {
    await world.init('passphrase');
    await world.link('demo');
    const before = await world.store.snapshot();
    const controller = new AbortController();
    const ctrlC = new Interruption(false);
    // The new passphrase typed twice, then Ctrl-C (main() aborts the run's signal so), while the
    // new key is derived: the rekey has begun and has not written yet.
    const { ctx, asked } = rekeyTyped(controller.signal, async () => controller.abort(ctrlC));
    await expect(runConfigRekey(ctx, {})).rejects.toBe(ctrlC);
    expect(asked()).toBe(2);
    expect(await world.store.snapshot()).toEqual(before);
    expect(await opensWith(PASSPHRASE)).toBe(true);
  });

  it('a stop during the switch waits for it: the write and the old keychain entry\'s delete are one critical section', async () => {
    await world.init('keychain');
    await world.link('demo');
    const oldAccount = (await doc()).key.account as string;
    const { io } = bufferedIO();
    const controller = new AbortController();
    const base = realContext({ io, env: world.env, debug: false, signal: controller.signal });
    const real = osKeychain({ env: world.env });
    let whileDeleting: string | null | undefined;
    // Ctrl-C as the old entry is being deleted: main() aborts the run's signal, deferred when a
    // critical section is open, and says what it is finishing (finishing()).
    const keychain: Keychain = {
      probe: () => real.probe(),
      get: (account) => real.get(account),
      set: (account, secret) => real.set(account, secret),
      delete: async (account) => {
        if (account === oldAccount) {
          whileDeleting = finishing();
          controller.abort(new Interruption(whileDeleting !== null));
        }
        return real.delete(account);
      },
    };
    const store = Store.open({ env: world.env, keyDeps: { keychain, passphrase: passphraseProvider(io, world.env, base.prompt), notice: () => {}, now: () => new Date() } });
    const ctx: Ctx = { ...base, store: async () => store };
    expect(await runConfigRekey(ctx, {})).toBe(0);
    expect(whileDeleting).toBe('switching the store to the new key and deleting the old keychain entry');
    expect(finishing()).toBeNull();
    expect(await real.get(oldAccount)).toBeNull();
    expect((await doc()).key.account).not.toBe(oldAccount);
    expect(await opensWith('')).toBe(true);
  });

  it("Ctrl-C at the terminal during the old keychain entry's delete (SIGINT to the whole foreground group) does not kill the keychain helper: the entry is deleted", async () => {
    await world.init('keychain');
    await world.link('demo');
    const oldAccount = (await doc()).key.account as string;
    // plaidbal leads a process group of its own, as a shell's foreground job does.
    const child = nodeSpawn(process.execPath, [BIN, 'config', 'rekey'], { env: world.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.resume();
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    // The keychain helpers it starts: the first probes the keychain, the second makes the new key's
    // entry, the third deletes the old one, inside the critical section. The terminal's Ctrl-C
    // comes while the third runs.
    // Its own helpers only (their parent is this plaidbal): other files' plaidbal start helpers too.
    const seen = new Set<number>();
    let signalled = false;
    const helpers = () => {
      for (const name of readdirSync('/proc')) {
        if (!/^\d+$/.test(name) || seen.has(Number(name))) continue;
        try {
          const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
          const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
          if (parent === child.pid && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('keychain-helper')) seen.add(Number(name));
        } catch {
          // gone already
        }
      }
    };
    const watching = setInterval(() => {
      helpers();
      if (!signalled && seen.size >= 3 && child.pid !== undefined) {
        signalled = true;
        try {
          process.kill(-child.pid, 'SIGINT');
        } catch {
          // the group has ended
        }
      }
    }, 2);
    let code: number | null;
    try {
      code = await closed;
    } finally {
      clearInterval(watching);
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
    expect(seen.size, stderr).toBe(3);
    expect(signalled).toBe(true);
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('Ctrl-C: still switching the store to the new key and deleting the old keychain entry');
    expect(stderr).not.toContain('could not be deleted');
    const now = (await doc()).key.account as string;
    expect(now).not.toBe(oldAccount);
    expect(await storeEntries()).toEqual([now]);
    expect(await opensWith('')).toBe(true);
  });

  it('kill -9 at any point leaves a store that opens with the old passphrase or the new one', async () => {
    await world.init('passphrase');
    await world.link('one');
    let current = PASSPHRASE;
    /** Runs a rekey to `next`, killed with SIGKILL after `killAfterMs` unless it has ended by then. */
    const rekey = (next: string, killAfterMs = Infinity) =>
      new Promise<{ code: number | null; ms: number }>((resolve) => {
        const started = performance.now();
        const child = spawn(process.execPath, [BIN, 'config', 'rekey'], { env: { ...world.env, PLAIDBAL_PASSPHRASE: current, PLAIDBAL_NEW_PASSPHRASE: next }, stdio: 'ignore' });
        const timer = Number.isFinite(killAfterMs) ? setTimeout(() => child.kill('SIGKILL'), killAfterMs) : undefined;
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, ms: performance.now() - started });
        });
      });
    let salt: string = (await doc()).key.kdf.salt;
    /**
     * Whether the store switched to `next`, after checking that it opens with the passphrase its
     * file says it has: the old one while the old scrypt salt is there, else `next`. (The other
     * passphrase cannot open it: the key check is sealed under the key from that salt. Trying it
     * too would double the scrypt work, which is most of this test's time on a busy machine.)
     */
    const check = async (next: string, what: string) => {
      const text = await readFile(world.store.file, 'utf8');
      let now: string;
      try {
        now = JSON.parse(text).key.kdf.salt;
      } catch {
        throw new Error(`${what}: store.json is not a store any more: ${JSON.stringify(text.slice(0, 200))}`);
      }
      const switched = now !== salt;
      expect(await opensWith(switched ? next : current), `${what}: the store opens with the ${switched ? 'new' : 'old'} passphrase`).toBe(true);
      if (switched) {
        current = next;
        // The rekey wrote the real cost (N = 2^17). Re-keyed cheap again once checked, so that
        // every rekey below starts from a store like the one the whole run was timed on.
        await cheapenPassphraseStore(world.store.dir, current);
        salt = (await doc()).key.kdf.salt;
      }
      return switched;
    };

    // A rekey run to its end says how long one takes here and now (about a second on an idle
    // machine, several on a loaded one), so the kills below land across a whole run, before
    // and after the switch, however busy the machine is. That run, and every rekey below,
    // starts from a store at the cheap cost (world.init's, then re-keyed after each switch):
    // a rekey that opens a store at the real cost takes longer than the run timed, and the kills
    // meant for around the write would nearly all land before it.
    expect((await doc()).key.kdf.N).toBe(CHEAP_SCRYPT_N);
    const whole = await rekey('passphrase number 0');
    expect(whole.code).toBe(0);
    expect(await check('passphrase number 0', 'after a rekey that ran to its end')).toBe(true);

    // Deriving the new key at the real cost takes most of a run and the store is written at its
    // very end, so most kills land near the end, around the write.
    const fractions = [0.02, 0.25, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 1, 1.1];
    let switched = 0;
    for (const [i, fraction] of fractions.entries()) {
      const next = `passphrase number ${i + 1}`;
      const delay = Math.round(fraction * whole.ms);
      await rekey(next, delay);
      if (await check(next, `after a kill at ${delay} ms (${fraction} of a whole rekey)`)) switched += 1;
    }
    // The kill at 2% of a run comes before the switch, whatever the load.
    expect(switched).toBeLessThan(fractions.length);
  }, 120_000);
});
