/**
 * One test per row of the README's "Plaid errors, exit codes and retries" table: the emulator
 * answers a call with the code, and the test asserts the exit code, what plaidbal tells the user,
 * how many calls reached Plaid (1: not retried; 4: the first try and 3 retries), and that the
 * store is byte-identical. Also: the public-token exchange, which is never retried, and the
 * Sandbox's 30-day item expiry.
 *
 * The rows run in this process (test/helpers/in-process.ts), but for the first row of each exit
 * code, which is spawned from the built CLI: that one shows the code as the shell sees it. The
 * exchange (connections, timeouts) and the expiry are spawned.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CliResult } from '../helpers/cli.js';
import { createWorld, type World } from '../helpers/world.js';

const DAY_MS = 86_400_000;
let world: World;
/** Added to the emulator's clock: the Sandbox's 30-day expiry without waiting 30 days. */
let clockOffsetMs = 0;

beforeAll(async () => {
  world = await createWorld({ clock: () => Date.now() + clockOffsetMs });
  expect((await world.init('passphrase')).code).toBe(0);
  await world.link('demo');
}, 60_000);
afterAll(async () => world.close());
beforeEach(() => {
  world.emulator.clearFaults();
  clockOffsetMs = 0;
});

const calls = (path: string) => world.emulator.requests.filter((q) => q.path === path).length;

/**
 * Runs `args` with `path` answering `error_code` every time, spawned or in process; asserts the
 * store is byte-identical and returns the result and the number of calls made.
 */
async function failing(path: string, error_code: string, args: string[], where: 'spawned' | 'in process'): Promise<{ r: CliResult; made: number }> {
  world.emulator.inject({ path, error_code, times: Infinity });
  const before = await world.store.snapshot();
  const start = calls(path);
  const r = where === 'spawned' ? await world.run(args) : await world.runInProcess(args);
  expect(await world.store.snapshot()).toEqual(before);
  expect(r.stdout).toBe('');
  return { r, made: calls(path) - start };
}

const BALANCE = ['balance', '--item', 'demo'];
const RETRIED = 4;
const ONCE = 1;

// [error_code, exit code, calls made, what the hint must say, what it must not say]
const ROWS: Array<[string, number, number, RegExp, RegExp | null]> = [
  ['INVALID_API_KEYS', 3, ONCE, /plaidbal config init --env sandbox/, null],
  ['UNAUTHORIZED_ENVIRONMENT', 3, ONCE, /not enabled for sandbox/, null],
  ['INVALID_ACCESS_TOKEN', 3, ONCE, /plaidbal items remove demo/, null],
  ['INVALID_PUBLIC_TOKEN', 5, ONCE, /exchanged once, within 30 minutes/, null],
  ['INVALID_ACCOUNT_ID', 2, ONCE, /plaidbal balance --item demo/, null],
  ['INVALID_PRODUCT', 3, ONCE, /not enabled for that product/, null],
  ['INVALID_FIELD', 2, ONCE, /Plaid error INVALID_FIELD/, null],
  ['LAST_UPDATED_DATETIME_OUT_OF_RANGE', 5, ONCE, /--min-last-updated/, null],
  ['ITEM_LOGIN_REQUIRED', 4, ONCE, /plaidbal link --update demo/, /30 days/],
  ['ITEM_LOCKED', 4, ONCE, /plaidbal link --update demo/, null],
  ['PRODUCTS_NOT_SUPPORTED', 4, ONCE, /update mode will not change that.*--cached/, /link --update/],
  ['NO_ACCOUNTS', 4, ONCE, /update mode will not bring them back.*plaidbal items remove demo/, /link --update/],
  ['ITEM_NOT_SUPPORTED', 4, ONCE, /update mode will not change that.*plaidbal items remove demo/, /link --update/],
  ['ITEM_NOT_FOUND', 4, ONCE, /update mode cannot bring it back.*plaidbal items remove demo.*link the account again/, /link --update|later/i],
  ['PRODUCT_NOT_ENABLED', 4, ONCE, /update mode cannot add it.*plaidbal link/, /link --update|later/i],
  ['USER_PERMISSION_REVOKED', 4, ONCE, /revoked your application's access.*plaidbal link --update demo.*if that fails.*plaidbal items remove demo/, /later/i],
  ['ADDITIONAL_CONSENT_REQUIRED', 4, ONCE, /plaidbal link --update demo/, /later/i],
  ['INSTITUTION_DOWN', 5, ONCE, /try again later/, null],
  ['INSTITUTION_NOT_RESPONDING', 5, ONCE, /try again later/, null],
  ['INSTITUTION_NOT_AVAILABLE', 5, ONCE, /try again later/, null],
  ['UNSUPPORTED_RESPONSE', 5, ONCE, /Plaid Support.*Retrying or waiting will not fix this/, /later/i],
  ['INSTITUTION_NO_LONGER_SUPPORTED', 5, ONCE, /no longer supports this institution.*Retrying or waiting will not fix this.*plaidbal items remove demo/, /later/i],
  ['UNAUTHORIZED_INSTITUTION', 3, ONCE, /not authorized for this institution.*us-oauth-institutions/, /later/i],
  ['INSTITUTION_REGISTRATION_REQUIRED', 3, ONCE, /Security Questionnaire/, /later/i],
  ['INSTITUTION_NOT_ENABLED_IN_ENVIRONMENT', 2, ONCE, /not enabled in sandbox.*ins_109508/, /later/i],
  ['BALANCE_LIMIT', 5, RETRIED, /wait a minute/, null],
  ['ACCOUNTS_BALANCE_GET_LIMIT', 5, RETRIED, /shared with every application/, null],
  ['INSTITUTION_RATE_LIMIT', 5, RETRIED, /wait a minute/, null],
  ['RATE_LIMIT', 5, ONCE, /general rate limit.*few minutes/, /wait a minute/],
  ['CREDITS_EXHAUSTED', 3, ONCE, /free usage.*request full Production access/, /later/i],
  ['INTERNAL_SERVER_ERROR', 5, RETRIED, /internal error even after retries/, null],
  ['PLANNED_MAINTENANCE', 5, RETRIED, /planned maintenance/, null],
];

/** The first row of each exit code is spawned; the others run in process. */
const SPAWNED = new Set(ROWS.filter(([, exit], i) => ROWS.findIndex(([, other]) => other === exit) === i).map(([code]) => code));

describe('every row of the error table, on /accounts/balance/get', () => {
  it.each(ROWS.map(([code, ...rest]) => [code, SPAWNED.has(code) ? 'spawned' : 'in process', ...rest] as const))('%s (%s): exit %i, %i call(s)', async (code, where, exit, made, says, never) => {
    const { r, made: actual } = await failing('/accounts/balance/get', code, BALANCE, where);
    expect(r.code, r.stderr).toBe(exit);
    expect(actual).toBe(made);
    expect(r.stderr).toContain(`Plaid error ${code}`);
    expect(r.stderr.replace(/\s+/g, ' ')).toMatch(says);
    if (never) expect(r.stderr.split(`Plaid error ${code}`)[1]).not.toMatch(never);
  }, 30_000);

  it('ACCOUNTS_LIMIT (on /accounts/get, with --cached): exit 5, retried', async () => {
    const { r, made } = await failing('/accounts/get', 'ACCOUNTS_LIMIT', [...BALANCE, '--cached'], 'in process');
    expect(r.code, r.stderr).toBe(5);
    expect(made).toBe(RETRIED);
    expect(r.stderr).toContain('wait a minute');
  }, 30_000);
});

describe('the public-token exchange: once, never retried', () => {
  const exchanges = () => calls('/item/public_token/exchange');

  async function failedLink(fault: Parameters<World['emulator']['inject']>[0], extra: string[] = []) {
    world.emulator.inject({ ...fault, times: Infinity });
    const before = await world.store.snapshot();
    const start = exchanges();
    const itemsBefore = world.emulator.items().length;
    const r = await world.run(['link', '--sandbox', '--name', 'lost', ...extra]);
    expect(await world.store.snapshot()).toEqual(before);
    expect(r.stdout).toBe('');
    expect(exchanges() - start).toBe(1);
    // /sandbox/public_token/create made the item at Plaid; nothing removed it, and plaidbal has no token for it.
    const created = world.emulator.items().slice(itemsBefore);
    expect(created).toHaveLength(1);
    expect(created[0]!.removed).toBe(false);
    expect(r.stderr).not.toContain(created[0]!.access_token);
    return r;
  }

  const saysItemMayExist = (r: CliResult) => {
    const text = r.stderr.replace(/\s+/g, ' ');
    expect(text).toContain('Plaid may have created the item at First Platypus Bank (ins_109508)');
    expect(text).toContain('plaidbal did not retry: a public token can be exchanged only once');
    expect(text).toContain('/item/remove needs the item\'s access token, which plaidbal never received');
    expect(text).toContain('ask Plaid Support to remove it');
    expect(text).toContain('In Sandbox that costs nothing');
  };

  it('a lost answer (the server hangs past --timeout): exit 5, the item may exist at Plaid', async () => {
    const r = await failedLink({ path: '/item/public_token/exchange', kind: 'hang' }, ['--timeout', '1']);
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toContain('timed out');
    saysItemMayExist(r);
  }, 30_000);

  it('a reset connection: exit 5, the item may exist at Plaid', async () => {
    const r = await failedLink({ path: '/item/public_token/exchange', kind: 'reset' });
    expect(r.code, r.stderr).toBe(5);
    saysItemMayExist(r);
  }, 30_000);

  it('goes on a connection of its own, so a server closing a kept-alive connection as it arrives cannot lose it', async () => {
    // /sandbox/public_token/create leaves a kept-alive connection behind; an exchange written on
    // it would be reset unread (the emulator's keep-alive-race), and an exchange is never retried.
    world.emulator.inject({ path: '/item/public_token/exchange', kind: 'keep-alive-race', times: Infinity });
    const start = exchanges();
    const r = await world.run(['link', '--sandbox', '--name', 'kept-alive', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ item: { alias: 'kept-alive' } });
    const sent = world.emulator.requests.filter((q) => q.path === '/item/public_token/exchange').slice(start);
    expect(sent.map((q) => [q.reusedConnection, q.status])).toEqual([[false, 200]]);
  }, 30_000);

  it('a 500 from Plaid: exit 5, not retried, with its request_id', async () => {
    const r = await failedLink({ path: '/item/public_token/exchange', error_code: 'INTERNAL_SERVER_ERROR' });
    expect(r.code, r.stderr).toBe(5);
    saysItemMayExist(r);
    expect(r.stderr.replace(/\s+/g, ' ')).toMatch(/request_id [A-Za-z0-9]{15}/);
  }, 30_000);

  it('a definite refusal (INVALID_PUBLIC_TOKEN): exit 5, and it says no access token was issued', async () => {
    const r = await failedLink({ path: '/item/public_token/exchange', error_code: 'INVALID_PUBLIC_TOKEN' });
    expect(r.code, r.stderr).toBe(5);
    const text = r.stderr.replace(/\s+/g, ' ');
    expect(text).toContain('Plaid error INVALID_PUBLIC_TOKEN');
    expect(text).toContain('Plaid refused it, so it issued no access token');
    expect(text).toContain('exchanged once, within 30 minutes');
  }, 30_000);
});

describe('a Sandbox item 30 days old turns ITEM_LOGIN_REQUIRED by itself', () => {
  it('the emulator expires it, and plaidbal says why', async () => {
    // 31 days pass, for the emulator and for the item's linked_at alike.
    const doc = JSON.parse(await readFile(world.store.file, 'utf8')) as { items: Array<{ alias: string; linked_at: string }> };
    const original = await readFile(world.store.file);
    const demo = doc.items.find((i) => i.alias === 'demo')!;
    demo.linked_at = new Date(Date.parse(demo.linked_at) - 31 * DAY_MS).toISOString();
    await writeFile(world.store.file, JSON.stringify(doc, null, 2));
    clockOffsetMs = 31 * DAY_MS;
    try {
      const before = await world.store.snapshot();
      const start = calls('/accounts/balance/get');
      const r = await world.run(BALANCE);
      expect(r.code, r.stderr).toBe(4);
      expect(calls('/accounts/balance/get') - start).toBe(ONCE);
      const text = r.stderr.replace(/\s+/g, ' ');
      expect(text).toContain('Plaid error ITEM_LOGIN_REQUIRED');
      expect(text).toContain("Sandbox items turn ITEM_LOGIN_REQUIRED by themselves 30 days after they are created (Plaid's Sandbox docs), and this one was linked 31 days ago");
      expect(text).toContain('plaidbal link --update demo');
      expect(await world.store.snapshot()).toEqual(before);

      const status = await world.run(['items', 'status', 'demo']);
      expect(status.code, status.stderr).toBe(4);
      expect(status.stderr.replace(/\s+/g, ' ')).toContain('this one was linked 31 days ago');

      // A day short of 30, the emulator still serves it.
      clockOffsetMs = 29 * DAY_MS;
      expect((await world.run(BALANCE)).code).toBe(0);
    } finally {
      await writeFile(world.store.file, original);
    }
  }, 30_000);
});

describe('items remove, when Plaid no longer has the item', () => {
  it.each(['INVALID_ACCESS_TOKEN', 'ITEM_NOT_FOUND'])('%s: the local copy is deleted, and the message says why', async (code) => {
    const alias = `gone-${code.toLowerCase().replace(/_/g, '-')}`;
    await world.link(alias);
    world.emulator.inject({ path: '/item/remove', error_code: code, times: Infinity });
    const r = await world.runInProcess(['items', 'remove', alias, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain(`Plaid no longer knew the item (${code}), so only the local copy was deleted.`);
    const items = JSON.parse((await world.runInProcess(['items', '--json'])).stdout).items as { alias: string }[];
    expect(items.map((i) => i.alias)).not.toContain(alias);
  });

  it('any other error keeps the item (exit 3 for bad credentials)', async () => {
    await world.link('kept');
    world.emulator.inject({ path: '/item/remove', error_code: 'INVALID_API_KEYS', times: Infinity });
    const before = await world.store.snapshot();
    const r = await world.runInProcess(['items', 'remove', 'kept', '--yes']);
    expect(r.code).toBe(3);
    expect(await world.store.snapshot()).toEqual(before);
  });
});
