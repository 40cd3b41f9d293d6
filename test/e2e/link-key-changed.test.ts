/**
 * A link whose store changes key while Link is open. plaidbal unlocks (or, for a new store, makes)
 * the store's key before it exchanges the public token, so that a wrong passphrase costs no Plaid
 * item; from the exchange on, the item exists at Plaid and bills (plaid.com/docs/account/billing:
 * an Item counts once an access_token was generated). When the store's key has changed by the time
 * the item is saved, the item is saved under the key the store has now, rather than removed again:
 * - another plaidbal process's first link gave a brand-new store its key (two first links at once,
 *   as a script linking several Sandbox items in parallel does);
 * - `config rekey` ran in another terminal, to a new keychain key or a new passphrase.
 * Only a key that does not open (a new passphrase that this run does not know) ends with the item
 * removed at Plaid, the store as the rekey left it, and exit 3; and a stop at the prompt that asks
 * for it, or its terminal closing, with the item removed too, and exit 130.
 *
 * The exchange is held by the emulator (holdNext: a slow Plaid call) while the other process runs;
 * the runs that race are real processes, as they are for a user. The held links wait up to a
 * minute for an answer (`--timeout 60`, the per-request timeout of `link --sandbox`), well past
 * what the other process takes on a loaded machine.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { realContext } from '../../src/context.js';
import { CliError, ExitCode } from '../../src/errors.js';
import { runLinkSandbox } from '../../src/commands/link/sandbox.js';
import type { LinkOptions } from '../../src/commands/link/index.js';
import type { StoreDocument } from '../../src/store/document.js';
import type { RecordedRequest } from '../emulator/types.js';
import { bufferedIO } from '../helpers/in-process.js';
import { keychainAccounts, startPrivateBus, type PrivateBus } from '../helpers/keyring.js';
import { runInTerminal, stripAnsi } from '../helpers/pty.js';
import { createWorld, PASSPHRASE, TEST_CLIENT_ID, TEST_SECRET, type World } from '../helpers/world.js';

const EXCHANGE = '/item/public_token/exchange';
const NEW = 'a new passphrase, typed in another terminal';

let world: World | undefined;
let bus: PrivateBus | undefined;
afterEach(async () => {
  await world?.close();
  await bus?.close();
  world = bus = undefined;
});

const storeDoc = (w: World) => JSON.parse(readFileSync(join(w.store.dir, 'store.json'), 'utf8')) as StoreDocument;
const removals = (w: World) => w.emulator.requests.filter((q) => q.path === '/item/remove');
const exchangedToken = (request: RecordedRequest) => (request.response as { access_token: string }).access_token;

/** `balance --item <alias> --json` opens the item's token (so it is sealed under the store's key) and Plaid answers. */
async function opens(w: World, alias: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const r = await w.run(['balance', '--item', alias, '--json'], { extraEnv: env });
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout).items).toMatchObject([{ name: alias, error: null }]);
}

/**
 * Starts a link (`start`) with Plaid's answer to its exchange held; once the exchange has come (the
 * link has unlocked or made its key, and waits for Plaid), runs `meanwhile`, the other process, and
 * then lets Plaid answer. The link's result, its exchange as recorded, and what `meanwhile` gave.
 */
async function whileExchangeHeld<L, M>(w: World, start: () => Promise<L>, meanwhile: () => Promise<M>): Promise<{ linked: L; exchange: RecordedRequest; other: M }> {
  const hold = w.emulator.holdNext(EXCHANGE);
  const linking = start();
  // A link that ends before its exchange fails the test here, with what it printed.
  const exchange = await Promise.race([
    hold.arrived,
    linking.then((result) => {
      throw new Error(`the link ended before Plaid's exchange: ${JSON.stringify(result)}`);
    }),
  ]);
  let other: M;
  try {
    other = await meanwhile();
  } finally {
    hold.release();
  }
  return { linked: await linking, exchange, other };
}

/**
 * A world with a store made by `config init` with `keySource`, and `link --sandbox --name <alias>`
 * spawned, with `config rekey` (`rekey`: its extra arguments and environment) run while the link's
 * exchange is held; `after` reads what the test compares against once the rekey is done. The world,
 * the link's result, its exchange as recorded, and what `after` gave.
 */
async function linkDuringRekey<M>(keySource: 'keychain' | 'passphrase', alias: string, rekey: { args?: string[]; env?: NodeJS.ProcessEnv }, after: (w: World) => M | Promise<M>) {
  const w = (world = await createWorld());
  expect((await w.init(keySource)).code).toBe(0);
  const held = await whileExchangeHeld(
    w,
    () => w.run(['link', '--sandbox', '--name', alias, '--timeout', '60']),
    async () => {
      await rekeyStore(w, rekey);
      return after(w);
    },
  );
  return { w, ...held };
}

/** `config rekey` with `rekey`'s extra arguments and environment, which must succeed. */
async function rekeyStore(w: World, rekey: { args?: string[]; env?: NodeJS.ProcessEnv }): Promise<void> {
  const r = await w.run(['config', 'rekey', ...(rekey.args ?? [])], { extraEnv: rekey.env });
  expect(r.code, r.stderr).toBe(0);
}

/**
 * `link --sandbox` in this process, with `answers` typed at its passphrase prompts in turn (an
 * Error is thrown there instead): plaidbal asks before the exchange (the old passphrase) and again
 * once it finds the store re-keyed, which `config rekey` does while the exchange is held. Its exit
 * code or what it threw, the prompts' messages, what it printed, and the store as the rekey left it.
 */
async function linkTyping(answers: (string | Error)[]) {
  const w = (world = await createWorld());
  expect((await w.init('passphrase')).code).toBe(0);
  const { io, stdout, stderr } = bufferedIO();
  const typing = { ...io, canPrompt: true };
  const signal = new AbortController().signal;
  const env = { ...w.env, PLAIDBAL_PASSPHRASE: undefined };
  const typed: string[] = [];
  const password = async (message: string) => {
    const answer = answers[typed.push(message) - 1];
    if (answer === undefined) throw new Error(`asked once more than expected: ${message}`);
    if (answer instanceof Error) throw answer;
    return answer;
  };
  const ctx = realContext({ io: typing, env, debug: false, signal, prompt: { ...realContext({ io: typing, env, debug: false, signal }).prompt, password } });
  const { linked, exchange, other: rekeyed } = await whileExchangeHeld(
    w,
    () => runLinkSandbox(ctx, { sandbox: true, institution: 'ins_109508', name: 'typed', timeout: 60 } as LinkOptions).then(
      (code) => code,
      (error: unknown) => error,
    ),
    async () => {
      await rekeyStore(w, { env: { PLAIDBAL_PASSPHRASE: PASSPHRASE, PLAIDBAL_NEW_PASSPHRASE: NEW } });
      return w.store.snapshot();
    },
  );
  return { outcome: linked, typed, stdout: stdout(), stderr: stderr(), exchange, rekeyed };
}

describe('the store changes key while Link is open', () => {
  it('two first links into a brand-new store at once: the later save adopts the keychain key the other gave the store, and its own key is deleted', async () => {
    // A gnome-keyring of its own: the suite's shared one gains and loses keys from other files
    // running at the same time, so only a private one shows which keys this race leaves.
    bus = await startPrivateBus({ secretService: true });
    const busEnv = Object.fromEntries(Object.entries(bus.env).filter(([name]) => name.startsWith('DBUS_') || name.startsWith('XDG_') || name === 'HOME'));
    // No config init: the credentials come from the environment, and the first save makes the store.
    world = await createWorld({}, { PLAID_CLIENT_ID: TEST_CLIENT_ID, PLAID_SECRET: TEST_SECRET, ...busEnv });
    const w = world;
    const { linked: r, exchange: held, other: key } = await whileExchangeHeld(
      w,
      () => w.run(['link', '--sandbox', '--name', 'first', '--timeout', '60']),
      async () => {
        const second = await w.run(['link', '--sandbox', '--name', 'second']);
        expect(second.code, second.stderr).toBe(0);
        const made = storeDoc(w).key!;
        if (made.source !== 'keychain') throw new Error(`the second link made a ${made.source} key, not a keychain one`);
        return made;
      },
    );

    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("! The store got a key from another plaidbal process while the item was being linked: saving it under the store's key as it is now.");
    expect(r.stdout).toContain('Linked First Platypus Bank as "first"');
    const doc = storeDoc(world);
    expect(doc.key).toEqual(key);
    expect(doc.items.map((i) => i.alias)).toEqual(['second', 'first']);
    expect(doc.items[1]!.item_id).toBe((held.response as { item_id: string }).item_id);
    // Nothing removed at Plaid: both items are there, and both open with the store's one key.
    expect(removals(world)).toEqual([]);
    expect(world.emulator.items().find((i) => i.access_token === exchangedToken(held))).toMatchObject({ removed: false });
    await opens(world, 'first');
    await opens(world, 'second');
    // The key the first run made for the store, which never landed, is not left in the keychain.
    expect(await keychainAccounts(bus.env)).toEqual([key.account]);
  });

  it('config rekey to a new keychain key while Link is open: the item is saved under the new key', async () => {
    const { w, linked: r, exchange: held, other: key } = await linkDuringRekey('keychain', 'during', { args: ['--to', 'keychain'] }, (after) => storeDoc(after).key!);

    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("! The store was re-keyed while the item was being linked: saving it under the store's key as it is now.");
    expect(storeDoc(w).key).toEqual(key);
    expect(storeDoc(w).items.map((i) => [i.alias, i.item_id])).toEqual([['during', (held.response as { item_id: string }).item_id]]);
    expect(removals(w)).toEqual([]);
    await opens(w, 'during');
  });

  it('config rekey to a new passphrase, typed at the prompt of the linking run (a mistyped one first): the item is saved under it', async () => {
    // The old passphrase before the exchange; after the rekey, a typing error, then the new one.
    const { outcome, typed, stdout, stderr } = await linkTyping([PASSPHRASE, 'not the new passphrase', NEW]);

    expect(outcome).toBe(0);
    expect(typed).toHaveLength(3);
    for (const message of typed) expect(message).toMatch(/^Passphrase to unlock the store at /);
    expect(stderr).toContain('! That passphrase does not open the store. Type it again:');
    expect(stderr).toContain("! The store was re-keyed while the item was being linked: saving it under the store's key as it is now.");
    expect(stdout).toContain('Linked First Platypus Bank as "typed"');
    expect(removals(world!)).toEqual([]);
    await opens(world!, 'typed', { PLAIDBAL_PASSPHRASE: NEW });
  });

  it('a stop at that prompt: the item is removed at Plaid again, and the run ends as interrupted (130), saying why', async () => {
    // What inquirer rejects with when a stop comes while it waits (src/prompt.ts).
    const stopped = Object.assign(new Error('Prompt was aborted'), { name: 'AbortPromptError' });
    const { outcome, typed, stderr, exchange, rekeyed } = await linkTyping([PASSPHRASE, stopped]);

    expect(typed).toHaveLength(2);
    expect(outcome).toBeInstanceOf(CliError);
    expect(outcome).toMatchObject({
      exitCode: ExitCode.INTERRUPTED,
      message: "plaidbal was stopped while it asked for the store's passphrase (the store was re-keyed while the item was being linked), so the item was not saved.",
    });
    expect(stderr).toContain('! Saving the item failed, so it was removed at Plaid again (nothing is left billing).');
    expect(removals(world!).map((q) => (q.body as { access_token: string }).access_token)).toEqual([exchangedToken(exchange)]);
    expect(await world!.store.snapshot()).toEqual(rekeyed);
  });

  it('the terminal closing at that prompt, with no SIGHUP reaching plaidbal: the item is removed at Plaid again, exit 130', async () => {
    // A real terminal: once it closes, stdin ends and resetting it fails with EIO, which used to
    // crash plaidbal here and leave the item billing at Plaid with its token nowhere; a prompt that
    // missed the end would wait for ever, and the process end with the item neither saved nor removed.
    const w = (world = await createWorld());
    expect((await w.init('passphrase')).code).toBe(0);
    const tty: NodeJS.ProcessEnv = { ...w.env, PLAIDBAL_PASSPHRASE: '' };
    delete tty.CI;
    const { linked, exchange, other: rekeyed } = await whileExchangeHeld(
      w,
      () =>
        runInTerminal(
          ['link', '--sandbox', '--name', 'closed', '--timeout', '60'],
          tty,
          [
            { expect: /Passphrase to unlock/, send: `${PASSPHRASE}\r` },
            { expect: /re-keyed while the item was being linked[^]*Passphrase to unlock/, send: '', hangUp: true },
          ],
          90_000,
        ),
      async () => {
        await rekeyStore(w, { env: { PLAIDBAL_PASSPHRASE: PASSPHRASE, PLAIDBAL_NEW_PASSPHRASE: NEW } });
        return w.store.snapshot();
      },
    );

    expect(linked.code, stripAnsi(linked.screen)).toBe(130);
    expect(removals(w).map((q) => (q.body as { access_token: string }).access_token)).toEqual([exchangedToken(exchange)]);
    expect(w.emulator.items().find((i) => i.access_token === exchangedToken(exchange))).toMatchObject({ removed: true });
    expect(await w.store.snapshot()).toEqual(rekeyed);
  });

  it('config rekey to a new passphrase this run does not know: the item is removed at Plaid again, the store left as the rekey wrote it, exit 3', async () => {
    // PLAIDBAL_PASSPHRASE holds the old passphrase, and there is no terminal to ask for the new one.
    const { w, linked: r, exchange: held, other: rekeyed } = await linkDuringRekey('passphrase', 'lost', { env: { PLAIDBAL_NEW_PASSPHRASE: NEW } }, (after) => after.store.snapshot());

    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('The store was re-keyed while the item was being linked, and its key as it is now did not open (Wrong passphrase: it does not open the store), so the item was not saved.');
    expect(r.stderr).toContain('! Saving the item failed, so it was removed at Plaid again (nothing is left billing).');
    expect(r.stderr).toContain("Link it again with the store's key as it is now. Check PLAIDBAL_PASSPHRASE (or type it again).");
    expect(removals(w).map((q) => (q.body as { access_token: string }).access_token)).toEqual([exchangedToken(held)]);
    expect(w.emulator.items().find((i) => i.access_token === exchangedToken(held))).toMatchObject({ removed: true });
    expect(await w.store.snapshot()).toEqual(rekeyed);
    expect(r.stderr).not.toContain(NEW);
    expect(r.stderr).not.toContain(PASSPHRASE);
  });
});
