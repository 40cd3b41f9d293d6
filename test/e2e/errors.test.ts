/**
 * Every documented exit code and error path, with the store's bytes compared before and
 * after: bad input, a Plaid error or a network failure must leave the store untouched.
 */
import { chmodSync, existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn as nodeSpawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { it as base, describe, type ExpectStatic } from 'vitest';
import { BIN, spawnCli, type CliResult } from '../helpers/cli.js';
import { arrival, signalWhileHeld, until, within } from '../helpers/wait.js';
import { createWorld, PASSPHRASE, printed, TEST_CLIENT_ID, TEST_SECRET, type World } from '../helpers/world.js';
import { createSandboxItem } from '../emulator/index.js';
import { addItems } from '../helpers/bulk.js';

/**
 * Each test has a world of its own (an emulator and a store), and the tests run concurrently
 * (describe.concurrent), all but one at the end of the file: most of this file's time is waiting
 * (Plaid's retry backoff, latencies the emulator adds, spawned processes), not CPU. A concurrent
 * test asserts with its own `expect`.
 */
const it = base.extend<{ world: World }>({
  world: async ({}, use) => {
    const world = await createWorld({}, {}, { inProcess: true });
    try {
      await use(world);
    } finally {
      await world.close();
    }
  },
});

async function linked(world: World, expect: ExpectStatic, alias = 'demo', ...flags: string[]) {
  expect((await world.init('passphrase')).code).toBe(0);
  await world.link(alias, ...flags);
}

/** A passphrase store with three Sandbox items: one, two and three. */
async function linkedThree(world: World, expect: ExpectStatic) {
  await linked(world, expect, 'one');
  await world.link('two', '--institution', 'ins_109511');
  await world.link('three', '--institution', 'ins_109511');
}

/** Runs `args` and asserts that the store directory is byte-identical afterwards. */
async function unchanged(world: World, expect: ExpectStatic, args: string[], extraEnv: NodeJS.ProcessEnv = {}, opts: { timeoutMs?: number } = {}): Promise<CliResult> {
  const before = await world.store.snapshot();
  const result = await world.run(args, { extraEnv, ...opts });
  expect(await world.store.snapshot()).toEqual(before);
  return result;
}

const noLeaks = (world: World, expect: ExpectStatic, r: CliResult) => {
  const tokens = world.emulator.items().map((i) => i.access_token);
  for (const secret of [TEST_SECRET, PASSPHRASE, ...tokens]) expect(printed(r)).not.toContain(secret);
};

describe.concurrent('exit 2: usage and bad input', () => {
  it('an unknown item names the known ones', async ({ world, expect }) => {
    await linked(world, expect);
    const r = await unchanged(world, expect, ['balance', '--item', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('No linked item is called "nope"');
    expect(r.stderr).toContain('Known items: demo');
    expect(r.stdout).toBe('');
  });

  it('control characters from arguments are never echoed raw to the terminal', async ({ world, expect }) => {
    await linked(world, expect);
    for (const args of [['balance', '--item', 'x\u001b[2Jy'], ['items', 'rename', 'a\u001b]0;pwned\u0007b', 'c'], ['balance', '--bogus\u009b31m']]) {
      const r = await unchanged(world, expect, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
      expect(r.stderr).toMatch(/\\u(001b|009b)/);
    }
  });

  it("Plaid's message beside a --json document is escaped too: an escape sequence never reaches the terminal", async ({ world, expect }) => {
    await linked(world, expect);
    world.emulator.inject({ path: '/accounts/balance/get', error_code: 'ITEM_LOCKED', error_message: 'locked \u001b[2J here \u0007' });
    const r = await world.run(['balance', '--item', 'demo', '--json']);
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stdout).items[0].error.error_message).toBe('locked \u001b[2J here \u0007');
    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(r.stderr).toContain('locked \\u001b[2J here \\u0007');
  });

  it('the retired development environment is refused with the reason', async ({ world, expect }) => {
    const r = await world.run(['link', '--sandbox', '--env', 'development']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Plaid retired the "development" environment');
    const initDev = await world.run(['config', 'init', '--client-id', 'abcdefgh12', '--secret-stdin'], { stdin: 'x', extraEnv: { PLAID_ENV: 'development' } });
    expect(initDev.code).toBe(2);
    expect(initDev.stderr).toContain('PLAID_ENV');
  });

  it('"balance" is not a Link product; link --sandbox is refused in production', async ({ world, expect }) => {
    await world.init('passphrase');
    const product = await unchanged(world, expect, ['link', '--sandbox', '--products', 'balance']);
    expect(product.code).toBe(2);
    expect(product.stderr).toContain('"balance" is not a Link product');
    const prod = await unchanged(world, expect, ['link', '--sandbox', '--env', 'production']);
    expect(prod.code).toBe(2);
    expect(prod.stderr).toContain('only works in Sandbox');
    expect(world.emulator.requests).toHaveLength(0);
  });

  it('remove without a terminal needs --yes; a duplicate alias is refused', async ({ world, expect }) => {
    await linked(world, expect);
    const r = await unchanged(world, expect, ['items', 'remove', 'demo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--yes');
    const dup = await unchanged(world, expect, ['link', '--sandbox', '--name', 'demo']);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain('already used');
    const badAlias = await unchanged(world, expect, ['items', 'rename', 'demo', 'has space']);
    expect(badAlias.code).toBe(2);
    const token = world.emulator.items()[0]!.access_token;
    const tokenAlias = await unchanged(world, expect, ['items', 'rename', 'demo', token]);
    expect(tokenAlias.code).toBe(2);
    expect(tokenAlias.stderr).toContain('an alias cannot look like a Plaid token');
    expect(printed(tokenAlias)).not.toContain(token);
    // rename and remove print nothing on stdout: --json (an option of `items`) is refused, not ignored.
    for (const args of [['items', 'rename', 'demo', 'other', '--json'], ['items', '--json', 'remove', 'demo', '--yes']]) {
      const json = await unchanged(world, expect, args);
      expect(json.code, args.join(' ')).toBe(2);
      expect(json.stderr).toMatch(/items (rename|remove) prints nothing on stdout, so it takes no --json/);
      expect(json.stdout).toBe('');
    }
    expect(world.emulator.items().filter((i) => !i.removed)).toHaveLength(1);
    // Linked, but in the other environment: said so, not "link one first".
    const otherEnv = await unchanged(world, expect, ['balance', '--item', 'demo', '--env', 'production']);
    expect(otherEnv.code).toBe(2);
    expect(otherEnv.stderr).toContain('"demo" is linked in sandbox, not in production.');
    expect(otherEnv.stderr).toContain('Drop --env, or pass --env sandbox.');
    // A token given where an item is named: refused, and never repeated.
    for (const args of [['balance', '--item', token], ['items', 'status', token], ['items', 'rename', token, 'x'], ['items', 'remove', token, '--yes']]) {
      const named = await unchanged(world, expect, args);
      expect(named.code, args.join(' ')).toBe(2);
      expect(named.stderr).toContain('An item was named by a Plaid token.');
      expect(named.stderr).toContain('plaidbal balance --access-token-stdin');
      expect(printed(named)).not.toContain(token);
    }
    expect(world.emulator.items().filter((i) => !i.removed)).toHaveLength(1);
  });

  it('config init cannot take the secret as an argument, and needs stdin without a terminal', async ({ world, expect }) => {
    const flag = await world.run(['config', 'init', '--client-id', 'abcdefgh12', '--secret', TEST_SECRET]);
    expect(flag.code).toBe(2);
    const noStdin = await world.run(['config', 'init', '--client-id', 'abcdefgh12']);
    expect(noStdin.code).toBe(2);
    expect(noStdin.stderr).toContain('--secret-stdin');
    const empty = await world.run(['config', 'init', '--client-id', 'abcdefgh12', '--secret-stdin'], { stdin: '' });
    expect(empty.code).toBe(2);
    const shortId = await world.run(['config', 'init', '--client-id', 'x', '--secret-stdin'], { stdin: TEST_SECRET });
    expect(shortId.code).toBe(2);
    expect(shortId.stderr).toContain('That does not look like a Plaid client_id: 6 to 64 letters, digits, _ or -.');
    // A whole file piped in by mistake: refused before anything is sealed or written.
    const file = await world.run(['config', 'init', '--client-id', 'abcdefgh12', '--secret-stdin'], { stdin: `${TEST_SECRET}\n`.repeat(200) });
    expect(file.code, file.stderr).toBe(2);
    expect(file.stderr).toContain('--secret-stdin read more than 1024 bytes, which is no Plaid secret (those are 30 characters), so nothing was saved.');
    expect(file.stderr).not.toContain(TEST_SECRET);
    expect(existsSync(world.store.file)).toBe(false);
  });
});

describe.concurrent('exit 3: configuration, credentials and store', () => {
  it('stdout on a full disk (`> /dev/full`): exit 3 and the cause on stderr, not a crash', async ({ world, expect }) => {
    await linked(world, expect);
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    for (const args of [['--version'], ['balance', '--item', 'demo', '--json'], ['balance', '--item', 'demo', '--format', 'csv']]) {
      const child = nodeSpawn('sh', ['-c', `${[process.execPath, BIN, ...args].map(quote).join(' ')} > /dev/full`], { env: world.env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code, `${args.join(' ')}: ${stderr}`).toBe(3);
      expect(stderr).toContain("Error: Could not write plaidbal's output to stdout: the disk is full (ENOSPC). What was not written is lost.");
      // No stack trace: Node's report of an uncaught error.
      expect(stderr).not.toMatch(/^\s+at /m);
    }
  });

  it('PLAIDBAL_BASE_URL that is not an http(s) URL: exit 3 before any call, the value not repeated', async ({ world, expect }) => {
    await linked(world, expect);
    for (const bad of ['notaurl', 'ftp://user:hunter2@proxy.example/']) {
      const r = await unchanged(world, expect, ['balance', '--item', 'demo'], { PLAIDBAL_BASE_URL: bad });
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain('PLAIDBAL_BASE_URL is set, but not to an http or https URL, so no call was made.');
      expect(r.stderr).not.toContain(bad);
    }
    // A proxy URL with a user and password: the failure names the host without them, and so does config show.
    for (const url of ['http://proxyuser:hunter2@127.0.0.1:9', 'http:\\\\proxyuser:hun@ter2@127.0.0.1:9']) {
      const proxy = await unchanged(world, expect, ['balance', '--item', 'demo'], { PLAIDBAL_BASE_URL: url });
      expect(proxy.code, proxy.stderr).toBe(5);
      expect(proxy.stderr).toContain('http://***@127.0.0.1:9');
      expect(printed(proxy)).not.toMatch(/hunter2|ter2/);
      for (const args of [['config', 'show'], ['config', 'show', '--json']]) {
        const shown = await unchanged(world, expect, args, { PLAIDBAL_BASE_URL: url });
        expect(shown.code, shown.stderr).toBe(0);
        expect(shown.stdout).toContain('http://***@127.0.0.1:9');
        expect(printed(shown)).not.toMatch(/hunter2|ter2/);
      }
    }
  });

  it('no credentials at all', async ({ world, expect }) => {
    const r = await world.run(['link', '--sandbox']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('No Plaid client id and secret for sandbox');
    expect(r.stderr).toContain('plaidbal config init --env sandbox');
  });

  it('INVALID_API_KEYS prints Plaid\'s error fields and a hint, never the secret', async ({ world, expect }) => {
    await linked(world, expect);
    const r = await unchanged(world, expect, ['balance', '--item', 'demo'], { PLAID_SECRET: 'wrong-secret-value' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('error_type:      INVALID_INPUT');
    expect(r.stderr).toContain('error_code:      INVALID_API_KEYS');
    expect(r.stderr).toMatch(/request_id:\s+[A-Za-z0-9]{15}/);
    expect(r.stderr).toContain('Hint:');
    expect(r.stderr).not.toContain('wrong-secret-value');
    noLeaks(world, expect, r);
  });

  it('bad credentials stop a multi-item run (exit 3), instead of a failed call and row for every item', async ({ world, expect }) => {
    await linkedThree(world, expect);
    const calls = (path: string) => world.emulator.requests.filter((q) => q.path === path).length;
    const [balances, gets] = [calls('/accounts/balance/get'), calls('/item/get')];
    const balance = await unchanged(world, expect, ['balance', '--all', '--concurrency', '1', '--format', 'ndjson'], { PLAID_SECRET: 'wrong-secret-value' });
    expect(balance.code, balance.stderr).toBe(3);
    expect(balance.stderr).toContain('INVALID_API_KEYS');
    expect(balance.stdout).toBe('');
    expect(calls('/accounts/balance/get') - balances).toBe(1);
    const status = await unchanged(world, expect, ['items', 'status', '--all', '--concurrency', '1', '--json'], { PLAID_SECRET: 'wrong-secret-value' });
    expect(status.code, status.stderr).toBe(3);
    expect(status.stderr).toContain('INVALID_API_KEYS');
    expect(calls('/item/get') - gets).toBe(1);
    noLeaks(world, expect, balance);
    noLeaks(world, expect, status);
  });

  it('a credential error in the middle of balance --all keeps the balances already answered (billed), then exits 3', async ({ world, expect }) => {
    await linkedThree(world, expect);
    const held = world.emulator.holdNext('/accounts/balance/get');
    const before = world.emulator.requests.length;
    const run = spawnCli(['balance', '--all', '--concurrency', '1', '--json'], world.env);
    const { out, closed } = run;
    const balanceCalls = () => world.emulator.requests.slice(before).filter((q) => q.path === '/accounts/balance/get');
    try {
      await arrival(held, run);
      // The first call is on its way (held); the next one is refused as Plaid refuses a revoked secret.
      world.emulator.inject({ path: '/accounts/balance/get', status: 400, error_type: 'INVALID_INPUT', error_code: 'INVALID_API_KEYS', error_message: 'invalid client_id or secret provided' });
    } finally {
      held.release();
    }
    const code = await within(closed, 'plaidbal to end', run.stderr);
    expect(code, out.stderr).toBe(3);
    expect(balanceCalls()).toHaveLength(2);
    expect(out.stderr).toContain('1 of 3 items had been answered, and is on stdout; the run stopped on the error below.');
    expect(out.stderr).toContain('INVALID_API_KEYS');
    const doc = JSON.parse(out.stdout) as { items: { name: string; error: unknown }[] };
    expect(doc.items.map((i) => [i.name, i.error])).toEqual([['one', null]]);
  });

  it('a credential error while other balance calls are on their way waits for them: their answers (billed) are printed, then exit 3', async ({ world, expect }) => {
    await linked(world, expect, 'one');
    await world.link('two', '--institution', 'ins_109511');
    const two = world.emulator.items().find((i) => i.institution_id === 'ins_109511')!;
    world.emulator.setItemLatency(two.item_id, 2_500);
    // The first call to arrive is refused as Plaid refuses a revoked secret, after the other is sent.
    world.emulator.inject({ path: '/accounts/balance/get', status: 400, error_type: 'INVALID_INPUT', error_code: 'INVALID_API_KEYS', error_message: 'invalid client_id or secret provided', latencyMs: 500 });
    const before = world.emulator.requests.filter((q) => q.path === '/accounts/balance/get').length;
    const r = await world.run(['balance', '--all', '--concurrency', '2', '--json']);
    world.emulator.setItemLatency(two.item_id, 0);
    expect(r.code, r.stderr).toBe(3);
    const sent = world.emulator.requests.filter((q) => q.path === '/accounts/balance/get').slice(before);
    expect(sent.map((q) => q.status).sort()).toEqual([200, 400]);
    expect(r.stderr).toContain('1 of 2 items had been answered, and is on stdout; the run stopped on the error below.');
    expect(r.stderr).toContain('INVALID_API_KEYS');
    const doc = JSON.parse(r.stdout) as { items: { item_id: string; error: unknown; accounts: unknown[] }[] };
    expect(doc.items).toHaveLength(1);
    expect(doc.items[0]!.error).toBeNull();
    expect(doc.items[0]!.accounts.length).toBeGreaterThan(0);
  });

  it('a credential error stops the calls still waiting for a pacing slot: they are never sent', async ({ world, expect }) => {
    await linked(world, expect, 'one');
    await world.link('two', '--institution', 'ins_109511');
    const calls = (path: string) => world.emulator.requests.filter((q) => q.path === path).length;
    const refused = { status: 400, error_type: 'INVALID_INPUT', error_code: 'INVALID_API_KEYS', error_message: 'invalid client_id or secret provided' };
    // --rate 5: one call at once, the next one 12 s later (ratelimit.ts, Pacer), so the second
    // item is waiting for its slot when the first is refused. Sent after the run had failed, its
    // call would be a second refused call here, and a billed one after, say, a store error.
    for (const [path, args] of [['/accounts/balance/get', ['balance', '--all', '--rate', '5', '--json']], ['/item/get', ['items', 'status', '--all', '--rate', '5', '--json']]] as const) {
      world.emulator.inject({ path, ...refused });
      const before = calls(path);
      const r = await unchanged(world, expect, [...args]);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain('INVALID_API_KEYS');
      expect(r.stdout).toBe('');
      expect(calls(path) - before, path).toBe(1);
    }
  });

  it('a wrong passphrase leaves the store byte-identical', async ({ world, expect }) => {
    await linked(world, expect);
    const r = await unchanged(world, expect, ['balance', '--item', 'demo'], { PLAIDBAL_PASSPHRASE: 'not the passphrase' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('Wrong passphrase');
    expect(r.stderr).not.toContain('not the passphrase');
    expect(world.emulator.requests.filter((q) => q.path === '/accounts/balance/get')).toHaveLength(0);
    const link = await unchanged(world, expect, ['link', '--sandbox', '--name', 'other'], { PLAIDBAL_PASSPHRASE: 'not the passphrase' });
    expect(link.code).toBe(3);
    expect(world.emulator.requests.filter((q) => q.path === '/item/public_token/exchange')).toHaveLength(1); // only the first link's
  });

  it('no passphrase and no terminal names PLAIDBAL_PASSPHRASE', async ({ world, expect }) => {
    await linked(world, expect);
    const r = await unchanged(world, expect, ['balance', '--item', 'demo'], { PLAIDBAL_PASSPHRASE: '' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('PLAIDBAL_PASSPHRASE');
  });

  // it.for, not it.each: only it.for hands a test its context (its world and expect).
  it.for([
    ['not JSON', '{"version": 1, "items": ['],
    ['random bytes', '\u0000\u00ff\u0013garbage'],
    ['the wrong shape', '{"version": 1, "store_id": "x", "key": null, "profiles": {}, "items": [{"alias": 3}]}'],
    ['a future version', '{"version": 99}'],
  ] as const)('a corrupt store (%s) is reported, and never cleared or rewritten', async ([_what, content], { world, expect }) => {
    await writeFile(world.store.file, content);
    for (const args of [['balance', '--item', 'demo'], ['items'], ['link', '--sandbox'], ['config', 'show'], ['items', 'remove', 'demo', '--yes']]) {
      const r = await unchanged(world, expect, args, { PLAID_CLIENT_ID: 'test_client_id', PLAID_SECRET: TEST_SECRET });
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toContain('cannot be read');
      expect(r.stderr).toContain('left exactly as it is');
    }
    expect(await readFile(world.store.file, 'utf8')).toBe(content);
  });

  it('two items with one alias in one environment (a store edited by hand): said so, with their item_ids', async ({ world, expect }) => {
    await linked(world, expect, 'one');
    await world.link('two', '--institution', 'ins_109511');
    const doc = JSON.parse(await readFile(world.store.file, 'utf8'));
    doc.items[1].alias = 'one';
    await writeFile(world.store.file, JSON.stringify(doc, null, '\t'), { mode: 0o600 });
    // sandbox reset-login too, which picks an alias's Sandbox item without --env: never the first of two.
    for (const args of [['balance', '--item', 'one'], ['sandbox', 'reset-login', 'one']]) {
      const r = await unchanged(world, expect, args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('2 items are called "one" in sandbox, where aliases are unique (the store was edited by hand?).');
      expect(r.stderr).toContain(`plaidbal items rename ${doc.items[1].item_id} <new-alias>`);
      expect(r.stderr).not.toContain('more than one environment');
    }
    expect(world.emulator.requests.filter((q) => q.path === '/sandbox/item/reset_login')).toHaveLength(0);
  });

  it('a store directory that is not a directory is exit 3, not a crash', async ({ world, expect }) => {
    const file = `${world.store.dir}/not-a-dir`;
    await writeFile(file, 'x');
    chmodSync(file, 0o644);
    const r = await world.run(['config', 'init', '--env', 'sandbox', '--client-id', 'test_client_id', '--secret-stdin', '--key-source', 'passphrase'], { stdin: TEST_SECRET, extraEnv: { PLAIDBAL_CONFIG_DIR: file } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('as the store directory: it is a file, not a directory.');
    expect(r.stderr).toContain('PLAIDBAL_CONFIG_DIR');
    expect(await readFile(file, 'utf8')).toBe('x');
    expect(statSync(file).mode & 0o777).toBe(0o644);
    // Below a file: that file is named as the cause.
    const below = await world.run(['config', 'init', '--env', 'sandbox', '--client-id', 'test_client_id', '--secret-stdin', '--key-source', 'passphrase'], { stdin: TEST_SECRET, extraEnv: { PLAIDBAL_CONFIG_DIR: `${file}/store` } });
    expect(below.code).toBe(3);
    expect(below.stderr).toContain(`Cannot use ${file}/store as the store directory: ${file} is a file, not a directory.`);
    expect(await readFile(file, 'utf8')).toBe('x');
  });

  it('a tampered access token is detected (AES-GCM tag) and nothing changes', async ({ world, expect }) => {
    await linked(world, expect);
    const doc = JSON.parse(await readFile(world.store.file, 'utf8'));
    const parts = doc.items[0].access_token.split('.');
    parts[2] = parts[2].slice(0, -2) + (parts[2].endsWith('AA') ? 'BA' : 'AA');
    doc.items[0].access_token = parts.join('.');
    await writeFile(world.store.file, JSON.stringify(doc));
    const r = await unchanged(world, expect, ['balance', '--item', 'demo']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('does not verify');
  });

  it('a token moved onto another item does not open (AAD binds environment and item_id)', async ({ world, expect }) => {
    await linked(world, expect);
    await world.link('other', '--institution', 'ins_109511');
    const doc = JSON.parse(await readFile(world.store.file, 'utf8'));
    doc.items[1].access_token = doc.items[0].access_token;
    await writeFile(world.store.file, JSON.stringify(doc));
    const r = await unchanged(world, expect, ['balance', '--item', 'other']);
    expect(r.code).toBe(3);
  });
});

describe.concurrent('exit 4: the item needs its user', () => {
  it('ITEM_LOGIN_REQUIRED points at link --update, in the table and in JSON', async ({ world, expect }) => {
    await linked(world, expect);
    const reset = await world.run(['sandbox', 'reset-login', 'demo']);
    expect(reset.code).toBe(0);
    const r = await unchanged(world, expect, ['balance', '--item', 'demo']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('ITEM_LOGIN_REQUIRED');
    expect(r.stderr).toContain('plaidbal link --update demo');
    expect(r.stdout).toBe('');
    // Never retried: one call.
    expect(world.emulator.requests.filter((q) => q.path === '/accounts/balance/get')).toHaveLength(1);
    const json = await unchanged(world, expect, ['balance', '--item', 'demo', '--json']);
    expect(json.code).toBe(4);
    const item = JSON.parse(json.stdout).items[0];
    expect(item.accounts).toEqual([]);
    expect(item.error).toMatchObject({ error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED' });
    expect(Object.keys(item.error)).toEqual(['error_type', 'error_code', 'error_message', 'display_message', 'request_id']);
    expect(item.request_id).toBe(item.error.request_id);
    // stderr shows the error as the table run does: Plaid's fields and the hint, beside the document.
    const shown = (run: CliResult) => run.stderr.split('\n').filter((line) => /^( {2}(error_type|error_code): |Hint: )/.test(line));
    expect(shown(json)).toEqual(shown(r));
    expect(json.stderr).toContain('  error_code:      ITEM_LOGIN_REQUIRED');
    expect(json.stderr).toContain(`  request_id:      ${item.error.request_id}`);
  });

  it('a Sandbox error password fails the link and saves nothing', async ({ world, expect }) => {
    await world.init('passphrase');
    const r = await unchanged(world, expect, ['link', '--sandbox', '--sandbox-password', 'error_ITEM_LOCKED']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('ITEM_LOCKED');
    // No item was made, so the hint cannot be update mode (which needs one).
    expect(r.stderr).toContain('Hint: The institution refused the login (ITEM_LOCKED), so nothing was linked and there is no item to update: run `plaidbal link` again (in Sandbox, `plaidbal link --sandbox` without --sandbox-password logs in as user_good).');
    expect(r.stderr).not.toContain('<item>');
  });
});

describe.concurrent('a link whose accounts cannot be listed yet', () => {
  it('--json: the item is saved (exit 0), and accounts_error says why accounts is empty', async ({ world, expect }) => {
    await world.init('passphrase');
    world.emulator.inject({ path: '/accounts/get', error_code: 'INSTITUTION_DOWN', error_type: 'INSTITUTION_ERROR', status: 400, times: 1 });
    const r = await world.run(['link', '--sandbox', '--name', 'no-accounts-yet', '--json']);
    world.emulator.clearFaults();
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { item: { alias: string }; accounts: unknown[]; accounts_error: { error_code: string; request_id: string | null } | null };
    expect(doc.item.alias).toBe('no-accounts-yet');
    expect(doc.accounts).toEqual([]);
    expect(doc.accounts_error).toMatchObject({ error_type: 'INSTITUTION_ERROR', error_code: 'INSTITUTION_DOWN' });
    expect(Object.keys(doc.accounts_error!)).toEqual(['error_type', 'error_code', 'error_message', 'display_message', 'request_id']);
    expect(JSON.parse((await world.run(['items', '--json'])).stdout).items.map((i: { alias: string }) => i.alias)).toEqual(['no-accounts-yet']);
    const ok = await world.run(['link', '--sandbox', '--name', 'listed', '--json']);
    expect(JSON.parse(ok.stdout)).toMatchObject({ accounts_error: null });
    expect(JSON.parse(ok.stdout).accounts.length).toBeGreaterThan(0);
  });
});

describe.concurrent('exit 5: Plaid, institution and network failures, after retries', () => {
  it('INSTITUTION_DOWN', async ({ world, expect }) => {
    await linked(world, expect, 'down', '--institution', 'ins_132361');
    const r = await unchanged(world, expect, ['balance', '--item', 'down']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('INSTITUTION_DOWN');
  });

  it('500s are retried with backoff, then give up', async ({ world, expect }) => {
    await linked(world, expect);
    world.emulator.inject({ path: '/accounts/balance/get', status: 500, times: Infinity });
    const r = await unchanged(world, expect, ['balance', '--item', 'demo', '--debug']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('INTERNAL_SERVER_ERROR');
    expect(world.emulator.requests.filter((q) => q.path === '/accounts/balance/get')).toHaveLength(4);
    expect(r.stderr).toMatch(/\[debug\] POST \/accounts\/balance\/get 500 \d+ms request_id=[A-Za-z0-9]{15}/);
    noLeaks(world, expect, r);
  });

  it('429s (per-item balance limit) are retried and then succeed', async ({ world, expect }) => {
    await linked(world, expect);
    world.emulator.inject({ path: '/accounts/balance/get', status: 429, error_type: 'RATE_LIMIT_EXCEEDED', error_code: 'BALANCE_LIMIT', times: 2 });
    const r = await world.run(['balance', '--item', 'demo', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).items[0].accounts).toHaveLength(9);
    expect(world.emulator.requests.filter((q) => q.path === '/accounts/balance/get').map((q) => q.status)).toEqual([429, 429, 200]);
  });

  it('a connection that is refused', async ({ world, expect }) => {
    await linked(world, expect);
    const r = await unchanged(world, expect, ['balance', '--item', 'demo'], { PLAIDBAL_BASE_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('ECONNREFUSED');
    expect(r.stderr).toContain('Check your network');
  });

  it('a response that is not a Plaid error (a proxy page, broken JSON)', async ({ world, expect }) => {
    await linked(world, expect);
    world.emulator.inject({ path: '/accounts/balance/get', kind: 'wrong-content-type', times: Infinity });
    const r = await unchanged(world, expect, ['balance', '--item', 'demo']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('without a Plaid error object');
  });

  it('a redirect is refused, not followed: exit 5, and the secret and token never reach the Location', async ({ world, expect }) => {
    await linked(world, expect);
    // In front of the emulator, answering every call with a 307 to the emulator itself.
    const redirector = createServer((req, res) => {
      req.resume();
      res.writeHead(307, { location: `${world.emulator.url}${req.url}` }).end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    try {
      const before = world.emulator.requests.length;
      const r = await unchanged(world, expect, ['balance', '--item', 'demo'], { PLAIDBAL_BASE_URL: `http://127.0.0.1:${(redirector.address() as AddressInfo).port}` });
      expect(r.code).toBe(5);
      expect(r.stderr).toContain('307');
      expect(r.stdout).toBe('');
      expect(world.emulator.requests.slice(before)).toEqual([]);
      noLeaks(world, expect, r);
    } finally {
      await new Promise((resolve) => redirector.close(resolve));
    }
  });

  it('a timeout (--timeout) on a hung server', async ({ world, expect }) => {
    await linked(world, expect);
    world.emulator.inject({ path: '/accounts/balance/get', kind: 'hang', times: Infinity });
    const r = await unchanged(world, expect, ['balance', '--item', 'demo', '--timeout', '0.5']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('timed out');
    expect(r.stderr).toContain('Plaid can take 30 s or more for real-time balances; raise --timeout');
    // --cached asks the free /accounts/get, which is not slow that way: the hint does not say it is.
    world.emulator.inject({ path: '/accounts/get', kind: 'hang', times: Infinity });
    const cached = await unchanged(world, expect, ['balance', '--item', 'demo', '--cached', '--timeout', '0.5']);
    expect(cached.code).toBe(5);
    expect(cached.stderr).toContain('timed out');
    expect(cached.stderr).toContain('Plaid did not answer in time: try again later (or with a longer --timeout, where the command takes one).');
    expect(cached.stderr).not.toContain('real-time');
  });
});

describe.concurrent('exit 6: some items failed', () => {
  it('--all on a store of one failing item is still a many-item run: exit 6 and an error row; --item exits 4', async ({ world, expect }) => {
    await linked(world, expect, 'bad');
    await world.run(['sandbox', 'reset-login', 'bad']);
    const all = await world.run(['balance', '--all']);
    expect(all.code, all.stderr).toBe(6);
    expect(all.stdout).toContain('ITEM_LOGIN_REQUIRED');
    expect(all.stderr).toContain('1 of 1 items failed.');
    const json = await world.run(['balance', '--all', '--json']);
    expect(json.code).toBe(6);
    expect(JSON.parse(json.stdout).items[0].error.error_code).toBe('ITEM_LOGIN_REQUIRED');
    const one = await world.run(['balance', '--item', 'bad']);
    expect(one.code).toBe(4);
    expect(one.stderr).toContain('plaidbal link --update bad');
  });

  it('one failing item never loses the others', async ({ world, expect }) => {
    await linked(world, expect, 'good');
    await world.link('bad', '--institution', 'ins_109511');
    await world.run(['sandbox', 'reset-login', 'bad']);
    const r = await world.run(['balance', '--item', 'good', '--item', 'bad', '--json']);
    expect(r.code).toBe(6);
    const [good, bad] = JSON.parse(r.stdout).items;
    expect(good).toMatchObject({ name: 'good', error: null });
    expect(good.accounts).toHaveLength(9);
    expect(bad).toMatchObject({ name: 'bad', accounts: [], error: { error_code: 'ITEM_LOGIN_REQUIRED' } });
    const table = await world.run(['balance', '--item', 'good', '--item', 'bad']);
    expect(table.code).toBe(6);
    expect(table.stdout).toContain('Plaid Checking ••0000');
    expect(table.stdout).toContain('ITEM_LOGIN_REQUIRED');
  });
});

// For the tests of 'exit 130: interrupted' and 'Ctrl-C after Plaid has acted'.
/** Starts `plaidbal <args>`, collecting its output. */
const start = (world: World, args: string[]) => spawnCli(args, world.env);
const balanceCalls = (world: World) => world.emulator.requests.filter((q) => q.path === '/accounts/balance/get').length;

describe.concurrent('exit 130: interrupted', () => {
  /** The items whose balance the store has recorded (last_balance_at), sorted. */
  const recordedAliases = async (world: World) => {
    const items = JSON.parse((await world.run(['items', '--json'])).stdout).items as { alias: string; last_balance_at: string | null }[];
    return items.filter((i) => i.last_balance_at !== null).map((i) => i.alias).sort();
  };

  /** Runs `args`, presses Ctrl-C once while its balance call is on its way, and waits for the end. */
  const ctrlCDuringBalanceCall = async (world: World, args: string[]) => {
    const held = world.emulator.holdNext('/accounts/balance/get');
    const before = balanceCalls(world);
    const run = start(world, args);
    await signalWhileHeld(held, run, 'Ctrl-C: no new calls; waiting for');
    const code = await within(run.closed, 'plaidbal to end', run.stderr);
    return { code, out: run.out, calls: balanceCalls(world) - before };
  };

  it("link --sandbox: Ctrl-C while the institution's name is looked up stops it there, before any item exists (exit 130)", async ({ world, expect }) => {
    expect((await world.init('passphrase')).code).toBe(0);
    const before = await world.store.snapshot();
    world.emulator.inject({ path: '/institutions/get_by_id', kind: 'hang', times: Infinity });
    const run = start(world, ['link', '--sandbox', '--name', 'demo', '--timeout', '60']);
    await until(() => world.emulator.requests.some((q) => q.path === '/institutions/get_by_id'), 'the institution lookup');
    run.child.kill('SIGINT');
    const code = await within(run.closed, 'plaidbal to end', run.stderr);
    world.emulator.clearFaults();
    // The name is asked for first: after the exchange it would hold the only copy of the new token
    // in this process, and Ctrl-C would wait out the hung call (`--timeout`) to save it.
    expect(code, run.out.stderr).toBe(130);
    expect(run.out.stderr).not.toContain('still exchanging');
    expect(run.out.stderr).not.toContain('Could not look up');
    for (const path of ['/sandbox/public_token/create', '/item/public_token/exchange']) expect(world.emulator.requests.filter((q) => q.path === path), path).toHaveLength(0);
    expect(world.emulator.items()).toHaveLength(0);
    expect(await world.store.snapshot()).toEqual(before);
  });

  it("link --sandbox: a lookup Plaid refuses (credentials, an unknown institution) is the run's error, shown once, and nothing is created", async ({ world, expect }) => {
    expect((await world.init('passphrase')).code).toBe(0);
    for (const [extra, env, code] of [
      [['--institution', 'ins_1'], {}, 'INVALID_INSTITUTION'],
      [[], { PLAID_CLIENT_ID: 'test_client_id', PLAID_SECRET: 'wrong-secret-value' }, 'INVALID_API_KEYS'],
    ] as const) {
      const r = await unchanged(world, expect, ['link', '--sandbox', ...extra], env);
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr.split(code).length - 1, r.stderr).toBe(2); // the message and its error_code line
      expect(r.stderr).not.toContain('Could not look up');
    }
    expect(world.emulator.requests.filter((q) => q.path === '/sandbox/public_token/create')).toHaveLength(0);
    expect(world.emulator.items()).toHaveLength(0);
  });

  /** `balance --access-token-stdin --timeout <timeout>` on a new Sandbox item's token, with `path` hanging at Plaid. */
  const oneShotHanging = async (world: World, path: string, timeout: string) => {
    const { access_token } = await createSandboxItem(world.emulator, { institution_id: 'ins_109508', initial_products: ['auth'] });
    world.emulator.inject({ path, kind: 'hang', times: Infinity });
    const child = nodeSpawn(process.execPath, [BIN, 'balance', '--access-token-stdin', '--timeout', timeout], { env: { ...world.env, PLAID_CLIENT_ID: TEST_CLIENT_ID, PLAID_SECRET: TEST_SECRET }, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin!.end(access_token);
    const out = { stdout: '', stderr: '' };
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    return { child, out, closed };
  };

  it("balance --access-token-stdin: Ctrl-C while the institution's name is looked up stops it there, before the billed call (exit 130)", async ({ world, expect }) => {
    const { child, out, closed } = await oneShotHanging(world, '/institutions/get_by_id', '60');
    await until(() => world.emulator.requests.some((q) => q.path === '/institutions/get_by_id'), 'the institution lookup');
    child.kill('SIGINT');
    const code = await within(closed, 'plaidbal to end', () => out.stderr);
    world.emulator.clearFaults();
    expect(code, out.stderr).toBe(130);
    expect(out.stderr).not.toContain('Could not look up');
    expect(out.stdout).toBe('');
    expect(world.emulator.requests.filter((q) => q.path === '/accounts/balance/get')).toHaveLength(0);
  });

  /**
   * `balance --all --cached --json` over SLOW_READER_ITEMS items into a pipe nobody reads yet: one
   * document, several times what the socket pair Node's spawn makes (its send buffer,
   * net.core.wmem_default) and this process's read-ahead hold together, so that much of it waits
   * in plaidbal's buffer once the run is over. With a document close to that size, how much was
   * left waiting turned on how many items had been answered. Resolves once the process is started;
   * it is killed when the test ends.
   */
  const SLOW_READER_ITEMS = 200;
  const slowReader = async (world: World, onTestFinished: (fn: () => void) => void, extra: string[] = []) => {
    const init = await world.init('passphrase');
    if (init.code !== 0) throw new Error(`config init failed: ${init.stderr}`);
    await addItems(world.emulator, world.env, 'sandbox', SLOW_READER_ITEMS);
    const child = nodeSpawn(process.execPath, [BIN, 'balance', '--all', '--cached', '--json', ...extra], { env: world.env, stdio: ['ignore', 'pipe', 'pipe'] });
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout!.pause();
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    // 'close' waits for stdout's end too, which a paused reader never reaches: 'exit' does not.
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    return { child, closed, exited, stderr: () => stderr };
  };

  /** slowReader's run, stopped (Ctrl-C) once it is over but for writing its output: resolves when plaidbal has said it waits. */
  const stoppedWhileWriting = async (world: World, onTestFinished: (fn: () => void) => void) => {
    const run = await slowReader(world, onTestFinished);
    // The document is written in one go at the end of the run: once its first bytes are in the
    // pipe, the run is over but for returning. Returning still takes a turn of plaidbal's event
    // loop or more (a Ctrl-C sent at once was at times taken in by the run itself, before main's
    // last step: docs/benchmarks.md, "Tests that could lose a race"), and nothing plaidbal prints
    // marks its end: the Ctrl-C waits a second.
    await until(() => run.child.stdout!.readableLength > 0, 'the document begun');
    await new Promise((r) => setTimeout(r, 1_000));
    run.child.kill('SIGINT');
    await until(() => run.stderr().includes('Ctrl-C: still writing'), 'the message');
    return run;
  };

  it('Ctrl-C once the run is over but its output is still on its way to a slow reader: waited for, none of it lost', async ({ world, expect, onTestFinished }) => {
    const { child, closed, stderr } = await stoppedWhileWriting(world, onTestFinished);
    const chunks: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => chunks.push(d));
    child.stdout!.resume();
    const end = await within(closed, 'plaidbal to end', stderr);
    // Left to Node, the Ctrl-C ended the process (signal SIGINT) with most of the document unwritten.
    expect(end, stderr()).toEqual({ code: 0, signal: null });
    expect(stderr()).toContain("Ctrl-C: still writing plaidbal's output to stdout, which its reader has not taken yet. Ctrl-C again quits without it.");
    const out = Buffer.concat(chunks);
    expect((JSON.parse(out.toString('utf8')) as { items: unknown[] }).items).toHaveLength(SLOW_READER_ITEMS);
  });

  it('…and when its reader goes away after that Ctrl-C (a terminal stops the whole pipeline), the output is lost: exit 130, not 0', async ({ world, expect, onTestFinished }) => {
    const { child, closed, stderr } = await stoppedWhileWriting(world, onTestFinished);
    child.stdout!.destroy();
    expect(await within(closed, 'plaidbal to end', stderr), stderr()).toEqual({ code: 130, signal: null });
  });

  it('…and when the run itself was stopped, the next stop quits at once, as its message said: exit 130', async ({ world, expect, onTestFinished }) => {
    // The first call is held, so that the run is still on its way when Ctrl-C comes, after every
    // other call was sent: the calls on their way are waited for, and all the balances make the
    // document (written into the buffer) before the run ends.
    const held = world.emulator.holdNext('/accounts/get');
    const { child, exited, stderr } = await slowReader(world, onTestFinished);
    await until(() => world.emulator.requests.filter((q) => q.path === '/accounts/get').length >= SLOW_READER_ITEMS, () => `every call sent; plaidbal's stderr:\n${stderr()}`);
    await signalWhileHeld(held, { child, closed: exited, stderr }, 'Ctrl-C: no new calls; waiting for');
    await until(() => stderr().includes('Interrupted'), () => `the end of the run; plaidbal's stderr:\n${stderr()}`);
    expect(child.stdout!.readableLength).toBeGreaterThan(0);
    child.kill('SIGINT');
    // Ended with nothing read: the process does not wait for its reader.
    expect(await within(exited, 'plaidbal to exit', stderr), stderr()).toEqual({ code: 130, signal: null });
    child.stdout!.resume();
    expect(stderr()).not.toContain('still writing');
  });

  it('balance --access-token-stdin: Ctrl-C during the call, which then times out: the failure is shown in the table, then exit 130', async ({ world, expect }) => {
    // --timeout 5: the Ctrl-C, sent once the call arrived, must reach the child before its own timer ends the call.
    const { child, out, closed } = await oneShotHanging(world, '/accounts/balance/get', '5');
    await until(() => world.emulator.requests.some((q) => q.path === '/accounts/balance/get'), 'the balance call');
    child.kill('SIGINT');
    const code = await within(closed, 'plaidbal to end', () => out.stderr);
    world.emulator.clearFaults();
    expect(code, out.stderr).toBe(130);
    // What the wait was for: the call's outcome, not only "Interrupted.".
    expect(out.stdout).toContain('timed out');
    expect(out.stderr).toContain('Interrupted, after the item had been answered (on stdout).');
    expect(world.emulator.requests.filter((q) => q.path === '/accounts/balance/get')).toHaveLength(1);
  });

  it('Ctrl-C during a balance call waits for its answer (Plaid bills it): printed, recorded, exit 130', async ({ world, expect }) => {
    await linked(world, expect);
    const run = await ctrlCDuringBalanceCall(world, ['balance', '--item', 'demo', '--json']);
    expect(run.code, run.out.stderr).toBe(130);
    expect(run.out.stderr).toContain('Ctrl-C: no new calls; waiting for the real-time balance call already sent. Ctrl-C again cancels them.');
    expect(run.out.stderr).toContain('Interrupted, after the item had been answered (on stdout).');
    const doc = JSON.parse(run.out.stdout) as { items: { name: string; error: unknown; accounts: unknown[] }[] };
    expect(doc.items.map((i) => [i.name, i.error, i.accounts.length > 0])).toEqual([['demo', null, true]]);
    expect(run.calls).toBe(1);
    expect(await recordedAliases(world)).toEqual(['demo']);
  });

  it('a second Ctrl-C cancels the call on its way: exit 130 at once, nothing printed, the store byte-identical', async ({ world, expect }) => {
    await linked(world, expect);
    world.emulator.setLatency(10_000, '/accounts/balance/get');
    const before = await world.store.snapshot();
    const calls = balanceCalls(world);
    const run = start(world, ['balance', '--item', 'demo']);
    await until(() => balanceCalls(world) > calls, 'the balance call');
    run.child.kill('SIGINT');
    await until(() => run.out.stderr.includes('waiting for'), 'the first Ctrl-C to be answered');
    const second = Date.now();
    run.child.kill('SIGINT');
    const code = await within(run.closed, 'plaidbal to end', run.stderr);
    world.emulator.setLatency(0, '/accounts/balance/get');
    expect(code).toBe(130);
    expect(Date.now() - second).toBeLessThan(5_000);
    expect(run.out.stderr).toContain('Ctrl-C: cancelling the calls still on their way; their answers are lost.');
    expect(run.out.stderr).toContain('Interrupted.');
    expect(run.out.stdout).toBe('');
    expect(await world.store.snapshot()).toEqual(before);
  });

  it('check: Ctrl-C during its balance call waits for the answer, prints the verdict, and still exits 130', async ({ world, expect }) => {
    await linked(world, expect);
    const accounts = JSON.parse((await world.run(['balance', '--item', 'demo', '--json'])).stdout).items[0].accounts as { account_id: string; mask: string }[];
    const checking = accounts.find((a) => a.mask === '0000')!.account_id;
    const run = await ctrlCDuringBalanceCall(world, ['check', '--item', 'demo', '--account', checking, '--amount', '25']);
    expect(run.code, run.out.stderr).toBe(130);
    expect(run.out.stderr).toContain('Ctrl-C: no new calls; waiting for the real-time balance call already sent. Ctrl-C again cancels them.');
    expect(run.out.stdout).toContain('Sufficient: $100.00 available ≥ $25.00 requested');
    expect(run.out.stderr).toContain('Interrupted, after the balance was answered (the verdict is on stdout).');
    expect(run.calls).toBe(1);
  });

  it('check: when the answer Ctrl-C waited for is a Plaid error, that error and its hint are shown, then exit 130', async ({ world, expect }) => {
    await linked(world, expect);
    const accounts = JSON.parse((await world.run(['balance', '--item', 'demo', '--json'])).stdout).items[0].accounts as { account_id: string; mask: string }[];
    world.emulator.inject({ path: '/accounts/balance/get', error_code: 'ITEM_LOGIN_REQUIRED' });
    const run = await ctrlCDuringBalanceCall(world, ['check', '--item', 'demo', '--account', accounts[0]!.account_id, '--amount', '25']);
    expect(run.code, run.out.stderr).toBe(130);
    expect(run.out.stderr).toContain('error_code:      ITEM_LOGIN_REQUIRED');
    expect(run.out.stderr).toContain('plaidbal link --update demo');
    expect(run.out.stderr.trim().endsWith('Interrupted.')).toBe(true);
  });

  it('items status: Ctrl-C during its call cancels it, and that is an interruption, not a network failure', async ({ world, expect }) => {
    await linked(world, expect);
    world.emulator.inject({ path: '/item/get', kind: 'hang', times: Infinity });
    const run = start(world, ['items', 'status', 'demo']);
    await until(() => world.emulator.requests.some((q) => q.path === '/item/get'), 'the call');
    run.child.kill('SIGINT');
    const code = await within(run.closed, 'plaidbal to end', run.stderr);
    world.emulator.clearFaults();
    expect(code, run.out.stderr).toBe(130);
    expect(run.out.stderr).toBe('Interrupted.\n');
  });

  it('check: when the call Ctrl-C waited for times out, that failure is shown, then exit 130', async ({ world, expect }) => {
    await linked(world, expect);
    const accounts = JSON.parse((await world.run(['balance', '--item', 'demo', '--json'])).stdout).items[0].accounts as { account_id: string }[];
    world.emulator.inject({ path: '/accounts/balance/get', kind: 'hang', times: Infinity });
    // --timeout 5: the Ctrl-C, sent once the call arrived, must reach the child before its own timer ends the call.
    const run = start(world, ['check', '--item', 'demo', '--account', accounts[0]!.account_id, '--amount', '25', '--timeout', '5']);
    await until(() => world.emulator.requests.filter((q) => q.path === '/accounts/balance/get').length === 2, 'the check\'s balance call');
    run.child.kill('SIGINT');
    const code = await within(run.closed, 'plaidbal to end', run.stderr);
    world.emulator.clearFaults();
    expect(code, run.out.stderr).toBe(130);
    // What the wait was for, not only "Interrupted.".
    expect(run.out.stderr).toContain('timed out');
    expect(run.out.stderr).toContain('Plaid can take 30 s or more for real-time balances');
    expect(run.out.stderr.trim().endsWith('Interrupted.')).toBe(true);
  });

  for (const format of [['--json'], []]) {
    it(`Ctrl-C during balance --all ${format.join(' ') || '(a table)'}: no new calls, the one on its way is waited for, and every balance Plaid answered is printed and recorded`, async ({ world, expect }) => {
      await linkedThree(world, expect);
      const [first, second] = [world.emulator.holdNext('/accounts/balance/get'), world.emulator.holdNext('/accounts/balance/get')];
      const calls = balanceCalls(world);
      const run = start(world, ['balance', '--all', '--concurrency', '1', ...format]);
      // Ctrl-C while the second call is on its way: the first has been answered, the third never starts.
      await arrival(first, run);
      first.release();
      await signalWhileHeld(second, run, 'Ctrl-C: no new calls; waiting for');
      const code = await within(run.closed, 'plaidbal to end', run.stderr);
      expect(code, run.out.stderr).toBe(130);
      expect(balanceCalls(world) - calls).toBe(2);
      expect(run.out.stderr).toContain('waiting for the real-time balance call already sent');
      expect(run.out.stderr).toContain('Interrupted: 2 of 3 items had been answered, and are on stdout; the others were not fetched.');
      if (format.length) {
        const doc = JSON.parse(run.out.stdout) as { items: { name: string; error: unknown; accounts: unknown[] }[] };
        expect(doc.items.map((i) => [i.name, i.error, i.accounts.length > 0])).toEqual([['one', null, true], ['two', null, true]]);
      } else {
        for (const name of ['one', 'two']) expect(run.out.stdout).toContain(name);
        expect(run.out.stdout).not.toContain('three');
        expect(run.out.stdout).toContain('Plaid Checking');
      }
      expect(await recordedAliases(world)).toEqual(['one', 'two']);
    });
  }
});

describe.concurrent('Ctrl-C after Plaid has acted', () => {
  it('during the public-token exchange: plaidbal finishes it and saves the item, even on a second Ctrl-C', async ({ world, expect }) => {
    expect((await world.init('passphrase')).code).toBe(0);
    const held = world.emulator.holdNext('/item/public_token/exchange');
    const run = start(world, ['link', '--sandbox', '--name', 'demo']);
    const { out } = run;
    await signalWhileHeld(held, run, 'Ctrl-C: still exchanging the public token', { presses: 2 });
    const code = await within(run.closed, 'plaidbal to end', run.stderr);
    expect(code, out.stderr).toBe(0);
    expect(out.stderr).toContain('Ctrl-C: still exchanging the public token and saving the new item (stopping now could leave a billed item at Plaid without its token); plaidbal stops as soon as that is safe.');
    expect(out.stdout).toContain('"demo"');
    // Saved; its accounts were not asked for after the Ctrl-C (the run was to stop), and it says so.
    expect(world.emulator.requests.filter((q) => q.path === '/accounts/get')).toHaveLength(0);
    expect(out.stdout).toContain('could not list accounts yet: plaidbal was stopped (Ctrl-C, SIGTERM or SIGHUP) while it saved the item, so they were not asked for');
    // Exchanged once, and the one item Plaid has is the one in the store.
    expect(world.emulator.requests.filter((q) => q.path === '/item/public_token/exchange')).toHaveLength(1);
    const [item] = world.emulator.items();
    const stored = JSON.parse((await world.run(['items', '--json'])).stdout).items;
    expect(stored.map((i: { item_id: string; alias: string }) => [i.alias, i.item_id])).toEqual([['demo', item!.item_id]]);
    expect((await world.run(['balance', '--item', 'demo', '--json'])).code).toBe(0);
    for (const secret of [TEST_SECRET, PASSPHRASE, item!.access_token]) expect(`${out.stdout}\n${out.stderr}`).not.toContain(secret);
  });

  it('during items remove: plaidbal finishes the removal at Plaid and deletes the local copy, even on a second Ctrl-C', async ({ world, expect }) => {
    await linked(world, expect);
    const held = world.emulator.holdNext('/item/remove');
    const run = start(world, ['items', 'remove', 'demo', '--yes']);
    const { out } = run;
    await signalWhileHeld(held, run, 'Ctrl-C: still removing "demo" at Plaid', { presses: 2 });
    const code = await within(run.closed, 'plaidbal to end', run.stderr);
    // Left there, the item would be gone at Plaid and still listed here, its token dead.
    expect(code, out.stderr).toBe(0);
    expect(out.stderr).toContain('Ctrl-C: still removing "demo" at Plaid and deleting its local copy; plaidbal stops as soon as that is safe.');
    expect(out.stderr).toContain('Removed "demo".');
    expect(world.emulator.requests.filter((q) => q.path === '/item/remove')).toHaveLength(1);
    expect(world.emulator.items().filter((i) => !i.removed)).toHaveLength(0);
    expect(JSON.parse((await world.run(['items', '--json'])).stdout).items).toEqual([]);
  });

  it('Ctrl-C during an exchange that then fails: the failure and what to do about it, not "Interrupted"', async ({ world, expect }) => {
    expect((await world.init('passphrase')).code).toBe(0);
    const before = await world.store.snapshot();
    // A 500, answered after the Ctrl-C: Plaid may have made the item, and only this message says how to find it.
    world.emulator.inject({ path: '/item/public_token/exchange', status: 500 });
    const held = world.emulator.holdNext('/item/public_token/exchange');
    const run = start(world, ['link', '--sandbox', '--name', 'demo']);
    const { out } = run;
    await signalWhileHeld(held, run, 'Ctrl-C: still exchanging the public token');
    const code = await within(run.closed, 'plaidbal to end', run.stderr);
    expect(code, out.stderr).toBe(5);
    expect(out.stderr).toContain('Ctrl-C: still exchanging the public token');
    expect(out.stderr).toContain('The public-token exchange failed without a usable answer');
    expect(out.stderr).toContain('ask Plaid Support to remove it');
    expect(out.stderr).not.toContain('Interrupted');
    expect(world.emulator.requests.filter((q) => q.path === '/item/public_token/exchange')).toHaveLength(1);
    expect(await world.store.snapshot()).toEqual(before);
  });

  it('stderr closed by its reader during the exchange (`--debug link … 2>&1 | head`): the item is saved all the same', async ({ world, expect }) => {
    expect((await world.init('passphrase')).code).toBe(0);
    const held = world.emulator.holdNext('/item/public_token/exchange');
    // Node's own spawn, not the suite's spawner: the test must hold the read end of the real pipe to close it.
    const child = nodeSpawn(process.execPath, [BIN, '--debug', 'link', '--sandbox', '--name', 'demo'], { env: world.env, stdio: ['ignore', 'ignore', 'pipe'] });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await arrival(held, { closed });
      // The exchange's answer is logged on stderr (--debug) before the item is saved: that write fails.
      child.stderr.destroy();
    } finally {
      held.release();
    }
    const code = await within(closed, 'plaidbal to end');
    expect(code).toBe(0);
    const [item] = world.emulator.items();
    const stored = JSON.parse((await world.run(['items', '--json'])).stdout).items;
    expect(stored.map((i: { item_id: string; alias: string }) => [i.alias, i.item_id])).toEqual([['demo', item!.item_id]]);
    expect(world.emulator.items().filter((i) => !i.removed)).toHaveLength(1);
    expect((await world.run(['balance', '--item', 'demo', '--json'])).code).toBe(0);
  });
});

describe.concurrent('stderr lost outside a critical section', () => {
  it('stderr closed by its reader during balance --all (`--debug`): the run goes on, every balance reaches stdout, exit 0', async ({ world, expect }) => {
    await linkedThree(world, expect);
    world.emulator.setLatency(1_000, '/accounts/balance/get');
    const before = world.emulator.requests.length;
    // Node's own spawn: the test closes the read end of the real stderr pipe.
    const child = nodeSpawn(process.execPath, [BIN, '--debug', 'balance', '--all', '--concurrency', '1', '--format', 'ndjson'], { env: world.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    await until(() => world.emulator.requests.slice(before).some((q) => q.path === '/accounts/balance/get'), 'the first balance call');
    // Each answer is logged on stderr (--debug): those writes now fail with EPIPE.
    child.stderr.destroy();
    const code = await within(closed, 'plaidbal to end');
    world.emulator.setLatency(0, '/accounts/balance/get');
    expect(code).toBe(0);
    const names = stdout.trim().split('\n').map((line) => (JSON.parse(line) as { item_name: string }).item_name);
    expect([...new Set(names)].sort()).toEqual(['one', 'three', 'two']);
  });

  it('the terminal closing during balance --all (SIGHUP, and EIO on stderr): the calls on their way are waited for and written to stdout, exit 130', async ({ world, expect }) => {
    await linkedThree(world, expect);
    // The hangup goes through script(1) and a shell, and plaidbal's stderr is gone with the
    // terminal, so nothing tells when it was taken in: 5 s for it to land while the calls wait.
    world.emulator.setLatency(5_000, '/accounts/balance/get');
    const dir = await mkdtemp(join(tmpdir(), 'plaidbal-hangup-'));
    try {
      const [out, exit] = [join(dir, 'out.ndjson'), join(dir, 'exit')];
      const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
      // stdout to a file, stderr on a terminal (util-linux script). The shell passes the hangup on, as
      // an interactive shell does to its jobs, and outlives it to write down the exit code.
      const inner = `${quote(process.execPath)} ${quote(BIN)} balance --all --format ndjson > ${quote(out)} & pid=$!; trap 'kill -HUP $pid' HUP; wait $pid; wait $pid; echo $? > ${quote(exit)}`;
      const terminal = nodeSpawn('script', ['-qfec', inner, '/dev/null'], { env: world.env, stdio: ['pipe', 'ignore', 'ignore'] });
      const before = world.emulator.requests.length;
      const calls = () => world.emulator.requests.slice(before).filter((q) => q.path === '/accounts/balance/get').length;
      await until(() => calls() === 3, 'the three balance calls');
      // The terminal goes away (an SSH session dropped): the kernel hangs up its session, and writes to it fail.
      terminal.kill('SIGKILL');
      await until(() => existsSync(exit), 'the shell to write down the exit code');
      expect((await readFile(exit, 'utf8')).trim()).toBe('130');
      const names = (await readFile(out, 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as { item_name: string }).item_name);
      expect([...new Set(names)].sort()).toEqual(['one', 'three', 'two']);
    } finally {
      world.emulator.setLatency(0, '/accounts/balance/get');
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.concurrent('removal', () => {
  it('an item Plaid already forgot (ITEM_NOT_FOUND: removed; INVALID_ACCESS_TOKEN: its token rotated elsewhere) is still deleted locally', async ({ world, expect }) => {
    await linked(world, expect);
    await world.link('rotated', '--institution', 'ins_109511');
    const call = (path: string, access_token: string) =>
      fetch(`${world.emulator.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'PLAID-CLIENT-ID': 'test_client_id', 'PLAID-SECRET': TEST_SECRET, 'Plaid-Version': '2020-09-14' },
        body: JSON.stringify({ access_token }),
      });
    const [demo, rotated] = world.emulator.items();
    expect((await call('/item/remove', demo!.access_token)).status).toBe(200);
    expect((await call('/item/access_token/invalidate', rotated!.access_token)).status).toBe(200);
    const gone = await unchanged(world, expect, ['balance', '--item', 'demo']);
    expect(gone.code).toBe(4);
    expect(gone.stderr).toContain('ITEM_NOT_FOUND');
    expect(gone.stderr).toContain('Plaid no longer has this item');
    const dead = await unchanged(world, expect, ['balance', '--item', 'rotated']);
    expect(dead.code).toBe(3);
    expect(dead.stderr).toContain('INVALID_ACCESS_TOKEN');
    // A rotation by another plaidbal ends the same way for a run that read the old token: the hint says to run again first.
    expect(dead.stderr).toContain('If another plaidbal was rotating it just now (items rotate), run the command again');
    for (const alias of ['demo', 'rotated']) {
      const r = await world.run(['items', 'remove', alias, '--yes']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('only the local copy was deleted');
    }
    expect(JSON.parse((await world.run(['items', '--json'])).stdout).items).toEqual([]);
  });

  it('a failed /item/remove keeps the item', async ({ world, expect }) => {
    await linked(world, expect);
    world.emulator.inject({ path: '/item/remove', status: 500, times: Infinity });
    const r = await unchanged(world, expect, ['items', 'remove', 'demo', '--yes']);
    expect(r.code).toBe(5);
  });
});

describe.concurrent('orphans', () => {
  it('when saving fails after the exchange, the item is removed at Plaid again', async ({ world, expect }) => {
    await world.init('passphrase');
    // The store is spoilt while Plaid exchanges the token (held until then), after link's own checks.
    const held = world.emulator.holdNext('/item/public_token/exchange');
    const run = world.run(['link', '--sandbox', '--name', 'doomed']);
    try {
      await arrival(held, { closed: run });
      await writeFile(world.store.file, 'corrupted while linking');
    } finally {
      held.release();
    }
    const r = await run;
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('removed at Plaid again');
    const [item] = world.emulator.items();
    expect(item!.removed).toBe(true);
    expect(await readFile(world.store.file, 'utf8')).toBe('corrupted while linking');
  });
});

/**
 * Not concurrent: this runs after all the tests above, alone. It runs in this process and stops
 * through the CLI's own stop (stopRun), which reads what src/critical.ts keeps for the process (an
 * open critical section, the calls a drain waits for): another run in this process at the same
 * time would be read as this one's. The stop comes on the event loop's check phase after the debug
 * line, so always within the backoff that p-retry arms from that same turn; a SIGINT sent to a
 * child from this process raced the child's backoff timer instead.
 */
describe('exit 130: interrupted, alone in this process', () => {
  it('Ctrl-C during a retry\'s backoff makes no further attempt: one call, exit 130, the store byte-identical', async ({ world, expect }) => {
    await linked(world, expect);
    world.emulator.inject({ path: '/accounts/balance/get', status: 500, times: Infinity });
    const before = await world.store.snapshot();
    const calls = balanceCalls(world);
    const r = await world.runInProcess(['--debug', 'balance', '--item', 'demo'], { stopWhen: (stderr) => stderr.includes('attempt 1 failed; retrying') });
    world.emulator.clearFaults();
    expect(r.stderr).toContain('attempt 1 failed; retrying');
    expect(r.code, r.stderr).toBe(130);
    expect(balanceCalls(world) - calls).toBe(1);
    expect(r.stderr).toContain('Interrupted.');
    expect(r.stderr).not.toContain('waiting for');
    expect(await world.store.snapshot()).toEqual(before);
  });
});
