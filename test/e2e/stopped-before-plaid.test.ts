/**
 * A run stopped (Ctrl-C, SIGTERM, SIGHUP: its signal aborted) after its checks but before the call
 * that makes Plaid act (the public-token exchange, the token rotation, the removal) makes no such call: nothing
 * has happened at Plaid yet, so stopping there is safe, and the critical section it would have
 * opened (src/critical.ts) is never entered. Unlocking the store, which comes just before, can take
 * a noticeable time (scrypt, the keychain). In process, with the run's signal aborted up front.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callPlaid } from '../emulator/client.js';
import { Interruption } from '../../src/cli.js';
import { realContext } from '../../src/context.js';
import { exchangeAndSave } from '../../src/commands/link/save.js';
import { runItemsRotate } from '../../src/commands/items/rotate.js';
import { runItemsRemove } from '../../src/commands/items/run.js';
import { bufferedIO } from '../helpers/in-process.js';
import { linkedWorld, TEST_SECRET, type World } from '../helpers/world.js';

let world: World;
beforeAll(async () => {
  world = await linkedWorld();
});
afterAll(async () => world?.close());

function stoppedContext() {
  const { io } = bufferedIO();
  const controller = new AbortController();
  controller.abort(new Interruption(false));
  return { ctx: realContext({ io, env: world.env, debug: false, signal: controller.signal }), reason: controller.signal.reason as Interruption };
}

const calls = (path: string) => world.emulator.requests.filter((q) => q.path === path).length;

it('link: the public token is not exchanged', async () => {
  const created = await callPlaid(world.emulator.url, '/sandbox/public_token/create', { institution_id: 'ins_109508', initial_products: ['auth'] }, { headers: { 'PLAID-SECRET': TEST_SECRET } });
  const publicToken = created.body.public_token as string;
  const { ctx, reason } = stoppedContext();
  const store = await ctx.store();
  const plaid = await ctx.plaid('sandbox');
  const before = await world.store.snapshot();
  const exchanges = calls('/item/public_token/exchange');
  await expect(exchangeAndSave(ctx, store, plaid, { publicToken, alias: 'stopped', products: ['auth'], institutionId: 'ins_109508', institutionName: 'First Platypus Bank' })).rejects.toBe(reason);
  expect(calls('/item/public_token/exchange')).toBe(exchanges);
  expect(await world.store.snapshot()).toEqual(before);
});

it('items rotate: the token is not rotated', async () => {
  const { ctx, reason } = stoppedContext();
  const before = await world.store.snapshot();
  const rotations = calls('/item/access_token/invalidate');
  await expect(runItemsRotate(ctx, 'demo', { yes: true })).rejects.toBe(reason);
  expect(calls('/item/access_token/invalidate')).toBe(rotations);
  expect(await world.store.snapshot()).toEqual(before);
});

it('items remove: the item is not removed at Plaid, nor here', async () => {
  const { ctx, reason } = stoppedContext();
  const before = await world.store.snapshot();
  const removals = calls('/item/remove');
  await expect(runItemsRemove(ctx, 'demo', { yes: true })).rejects.toBe(reason);
  expect(calls('/item/remove')).toBe(removals);
  expect(await world.store.snapshot()).toEqual(before);
});

