/**
 * The OS keychain key source against a real Secret Service (gnome-keyring, started by
 * scripts/test.mjs): a missing entry, no keychain at all (the announced passphrase
 * fallback), and a keychain that hangs.
 */
import { spawn as nodeSpawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { osKeychain } from '../../src/store/keychain.js';
import { hungDbusAddress, noDbusEnv, NO_SECRET_SERVICE_MESSAGE, secretServiceAvailable } from '../helpers/keyring.js';
import { BIN, runCli } from '../helpers/cli.js';
import { createWorld, TEST_CLIENT_ID, TEST_SECRET, type World } from '../helpers/world.js';

let world: World;
beforeEach(async () => {
  world = await createWorld();
});
afterEach(async () => world.close());

describe('the OS keychain key source', () => {
  it('a real Secret Service is there (scripts/test.mjs starts one)', async () => {
    expect(await secretServiceAvailable(), NO_SECRET_SERVICE_MESSAGE).toBe(true);
  });

  it('keeps the key in the keychain, not in the store', async () => {
    expect((await world.init('keychain')).code).toBe(0);
    const doc = JSON.parse(await readFile(world.store.file, 'utf8'));
    expect(doc.key).toMatchObject({ source: 'keychain', account: `store-${doc.store_id}` });
    const key = await osKeychain().get(doc.key.account);
    expect(Buffer.from(key!, 'base64')).toHaveLength(32);
    expect(await readFile(world.store.file, 'utf8')).not.toContain(key!);
  });

  it('a missing keychain entry (new machine, wiped keychain) is exit 3, names what is lost, and changes nothing', async () => {
    expect((await world.init('keychain')).code).toBe(0);
    await world.link('demo');
    const doc = JSON.parse(await readFile(world.store.file, 'utf8'));
    expect(await osKeychain().delete(doc.key.account)).toBe(true);
    const before = await world.store.snapshot();
    const r = await world.run(['balance', '--item', 'demo']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('has no plaidbal key');
    expect(r.stderr).toContain('These items can no longer be opened: demo');
    expect(r.stderr).toContain('plaidbal link');
    expect(await world.store.snapshot()).toEqual(before);
    // Listing needs no key; the lost item can still be deleted locally.
    expect((await world.run(['items'])).code).toBe(0);
    const removed = await world.run(['items', 'remove', 'demo', '--yes', '--local']);
    expect(removed.code).toBe(0);
    expect(removed.stderr).toContain('still exists at Plaid');
    // The hint's own commands, as given, make room for a new store: config init then works.
    const moves = [...r.stderr.replace(/\s+/g, ' ').matchAll(/mv "([^"]+)" "([^"]+)"/g)];
    expect(moves.map((m) => [m[1], m[2]])).toEqual([
      [world.store.file, `${world.store.file}.lost`],
      [`${world.store.file}.bak`, `${world.store.file}.bak.lost`],
    ]);
    for (const [, from, to] of moves) await rename(from!, to!);
    const fresh = await world.run(['config', 'init', '--env', 'sandbox', '--client-id', TEST_CLIENT_ID, '--secret-stdin', '--key-source', 'keychain'], { stdin: TEST_SECRET });
    expect(fresh.code, fresh.stderr).toBe(0);
  });

  it('with no keychain at all, says so once and falls back to the passphrase', async () => {
    const env = { ...noDbusEnv(world.env), PLAID_CLIENT_ID: 'test_client_id', PLAID_SECRET: TEST_SECRET };
    const first = await runCli(['link', '--sandbox', '--name', 'demo'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('No OS keychain answered');
    expect(first.stderr).toContain('passphrase');
    expect(JSON.parse(await readFile(world.store.file, 'utf8')).key.source).toBe('passphrase');
    // Once: later runs use the passphrase without another notice.
    const second = await runCli(['balance', '--item', 'demo'], { env });
    expect(second.code).toBe(0);
    expect(second.stderr).not.toContain('No OS keychain answered');
  });

  it('--key-source keychain with no keychain is exit 3, not a silent fallback', async () => {
    const env = noDbusEnv(world.env);
    const r = await runCli(['config', 'init', '--env', 'sandbox', '--client-id', 'test_client_id', '--secret-stdin', '--key-source', 'keychain'], { env, stdin: TEST_SECRET });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('No OS keychain answered');
    expect(r.stderr).toContain('--key-source passphrase');
  });

  it('a keychain helper still running when plaidbal exits (a second Ctrl-C) ends with it, though the terminal\'s signals do not reach it', async () => {
    const hung = await hungDbusAddress();
    const env = { ...noDbusEnv(world.env), DBUS_SESSION_BUS_ADDRESS: hung.address, PLAIDBAL_KEYCHAIN_TIMEOUT_MS: '60000' };
    // plaidbal leads a process group of its own, as a shell's foreground job does.
    const child = nodeSpawn(process.execPath, [BIN, 'config', 'init', '--env', 'sandbox', '--client-id', TEST_CLIENT_ID, '--secret-stdin', '--key-source', 'keychain'], { env, stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    child.stdin.end(TEST_SECRET);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    let helper: number | undefined;
    try {
      // Its keychain helper, waiting on the Secret Service that never answers.
      const started = Date.now();
      while (helper === undefined && Date.now() - started < 15_000) {
        for (const name of readdirSync('/proc')) {
          if (!/^\d+$/.test(name)) continue;
          try {
            const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
            if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === child.pid && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('keychain-helper')) helper = Number(name);
          } catch {
            // gone already
          }
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(helper, stderr).toBeDefined();
      // Ctrl-C twice at the terminal: to the whole foreground group; the second ends plaidbal at once.
      process.kill(-child.pid!, 'SIGINT');
      await new Promise((r) => setTimeout(r, 300));
      process.kill(-child.pid!, 'SIGINT');
      expect(await closed).toBe(130);
      const ended = Date.now();
      while (alive(helper!) && Date.now() - ended < 5_000) await new Promise((r) => setTimeout(r, 20));
      expect(alive(helper!)).toBe(false);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
      if (helper !== undefined && alive(helper)) process.kill(helper, 'SIGKILL');
      await hung.close();
    }
  });

  it('a hung Secret Service cannot hang plaidbal: exit 3 after the keychain timeout, store untouched', async () => {
    expect((await world.init('keychain')).code).toBe(0);
    await world.link('demo');
    const hung = await hungDbusAddress();
    try {
      const before = await world.store.snapshot();
      const env = { ...noDbusEnv(world.env), DBUS_SESSION_BUS_ADDRESS: hung.address, PLAIDBAL_KEYCHAIN_TIMEOUT_MS: '1500' };
      const started = Date.now();
      const r = await runCli(['balance', '--item', 'demo'], { env, timeoutMs: 20_000 });
      const elapsed = Date.now() - started;
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('keychain');
      expect(elapsed).toBeLessThan(10_000);
      expect(await world.store.snapshot()).toEqual(before);
    } finally {
      await hung.close();
    }
  });
});
