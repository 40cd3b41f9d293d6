/**
 * Picking items with more than ten linked: every command asks "which item?" in the same words,
 * and every list of aliases in a message names the first ten and counts the rest
 * (src/commands/pick.ts, cappedList in src/text.ts). No Plaid call is made for a usage error.
 * And an alias used in both environments: a command with --env asks for it; `sandbox reset-login`,
 * which has none, takes the Sandbox item.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addItems } from '../helpers/bulk.js';
import { createWorld, type World } from '../helpers/world.js';

const FIRST_TEN = Array.from({ length: 10 }, (_, n) => `item-${String(n + 1).padStart(2, '0')}`).join(', ');
const CAPPED = `${FIRST_TEN} and 2 more`;

describe('twelve items linked', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld();
    expect((await world.init('passphrase')).code).toBe(0);
    await addItems(world.emulator, world.env, 'sandbox', 12);
  }, 60_000);
  afterAll(async () => world.close());

  /** Runs a command that must be refused: exit 2, nothing on stdout, no Plaid call; its stderr on one line. */
  async function refused(args: string[]): Promise<string> {
    const calls = world.emulator.requests.length;
    const r = await world.run(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(world.emulator.requests.length).toBe(calls);
    const stderr = r.stderr.replace(/\s+/g, ' ');
    expect(stderr).not.toContain('item-11');
    return stderr;
  }

  it('balance, check, items status and items rotate name the first ten aliases and count the rest', async () => {
    for (const [args, nameWith, all] of [
      [['balance'], '--item <item>', true],
      [['check', '--account', 'x', '--amount', '1'], '--item <item>', false],
      [['items', 'status'], 'plaidbal items status <item>', true],
      [['items', 'rotate', '--yes'], 'plaidbal items rotate <item>', true],
    ] as const) {
      const stderr = await refused([...args]);
      expect(stderr, args.join(' ')).toContain('Which item? More than one is linked.');
      expect(stderr, args.join(' ')).toContain(`Name one with ${nameWith}: ${CAPPED}${all ? '; or pass --all' : ''}.`);
    }
  });

  it('an unknown item, and the question before rotating them all, are capped too', async () => {
    expect(await refused(['balance', '--item', 'nope'])).toContain(`Known items: ${CAPPED}.`);
    expect(await refused(['items', 'rotate', '--all'])).toContain(`Rotating the access tokens of 12 sandbox items (${CAPPED}) needs confirmation, and plaidbal cannot ask here (no terminal).`);
  });

  it('doctor lists the first ten items and counts the rest', async () => {
    const r = await world.run(['doctor']);
    expect(r.stdout).toContain(`12 linked: ${CAPPED}; every access token opens`);
    expect(r.stdout).not.toContain('item-11');
  });
});

describe('an alias used in both environments', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld({}, {}, { inProcess: true });
    expect((await world.init('passphrase')).code).toBe(0);
    await world.link('demo');
    // A Production item of the same name (its token is never sent here).
    await addItems(world.emulator, world.env, 'production', 1, 'live-', () => 'demo');
  }, 60_000);
  afterAll(async () => world.close());

  it('balance asks which one; sandbox reset-login, which has no --env, takes the Sandbox one', async () => {
    const ambiguous = await world.run(['balance', '--item', 'demo']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('--env');
    const sandboxToken = world.emulator.items()[0]!.access_token;
    const r = await world.run(['sandbox', 'reset-login', 'demo']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('"demo" now needs its login (ITEM_LOGIN_REQUIRED).');
    const resets = world.emulator.requests.filter((q) => q.path === '/sandbox/item/reset_login');
    expect(resets.map((q) => (q.body as { access_token: string }).access_token)).toEqual([sandboxToken]);
  });

  it('items rename and items remove act on the item of --env, and only on it', async () => {
    const listed = async () => (JSON.parse((await world.run(['items', '--json'])).stdout).items as { alias: string; environment: string }[]).map((i) => `${i.environment} ${i.alias}`).sort();
    // Without --env, which one is meant is asked for, as elsewhere.
    const ambiguous = await world.run(['items', 'rename', 'demo', 'other']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('--env');
    const renamed = await world.run(['items', 'rename', 'demo', 'live', '--env', 'production']);
    expect(renamed.code, renamed.stderr).toBe(0);
    expect(await listed()).toEqual(['production live', 'sandbox demo']);
    // --env that names no such item: refused, nothing done (it was ignored, and the Sandbox item went).
    const removals = () => world.emulator.requests.filter((q) => q.path === '/item/remove').length;
    const wrong = await world.run(['items', 'remove', 'demo', '--env', 'production', '--yes']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('"demo" is linked in sandbox, not in production.');
    expect(removals()).toBe(0);
    const removed = await world.run(['items', 'remove', 'live', '--env', 'production', '--local', '--yes']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await listed()).toEqual(['sandbox demo']);
    expect(removals()).toBe(0);
  });
});
