/**
 * plaidbal on a real terminal: interactive config init (hidden secret, passphrase asked
 * twice), colour only on a TTY, NO_COLOR and --no-color, confirmation before removal,
 * and the passphrase prompt.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cheapenPassphraseStore } from '../helpers/cheap-kdf.js';
import { runInTerminal, stripAnsi } from '../helpers/pty.js';
import { createWorld, PASSPHRASE, TEST_SECRET, type World } from '../helpers/world.js';

const ENTER = '\r';
const DOWN = '\x1b[B';

describe('on a terminal', () => {
  let world: World;
  let tty: NodeJS.ProcessEnv;
  beforeAll(async () => {
    world = await createWorld();
    tty = { ...world.env, PLAIDBAL_PASSPHRASE: '' };
    delete tty.CI;
  });
  afterAll(async () => world.close());

  it('config init prompts for everything, hides the secret and asks for the new passphrase twice', async () => {
    const r = await runInTerminal(['config', 'init'], tty, [
      { expect: /Plaid environment/, send: ENTER }, // sandbox (the default)
      { expect: /client_id/, send: `test_client_id${ENTER}` },
      { expect: /secret \(hidden\)/, send: `${TEST_SECRET}${ENTER}` },
      { expect: /Client name/, send: `Support desk${ENTER}` },
      { expect: /Country codes/, send: ENTER },
      { expect: /Link language/, send: ENTER },
      { expect: /Protect the store with/, send: `${DOWN}${ENTER}` }, // a passphrase
      { expect: /New passphrase/, send: `${PASSPHRASE}${ENTER}` },
      { expect: /Repeat the passphrase/, send: `${PASSPHRASE}${ENTER}` },
    ]);
    const screen = stripAnsi(r.screen);
    expect(r.code, screen).toBe(0);
    expect(screen).toContain('Saved sandbox credentials for client_id test_client_id');
    expect(screen).not.toContain(TEST_SECRET);
    expect(screen).not.toContain(PASSPHRASE);
    const doc = JSON.parse(await readFile(world.store.file, 'utf8'));
    expect(doc.key.source).toBe('passphrase');
    expect(doc.profiles.sandbox).toMatchObject({ client_id: 'test_client_id', client_name: 'Support desk', country_codes: ['US'], language: 'en' });
  });

  // Ctrl-C at a prompt is a key press inquirer handles; SIGTERM and SIGHUP come from outside and
  // must end the prompt too (they abort the run's signal, which the prompts are given).
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    it(`${signal} while a prompt waits for an answer: exit 130 at once, nothing saved`, async () => {
      const before = await world.store.snapshot();
      const started = Date.now();
      const r = await runInTerminal(['config', 'init', '--env', 'production'], tty, [{ expect: /client_id/, send: '', signal }], 15_000);
      expect(r.code, stripAnsi(r.screen)).toBe(130);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await world.store.snapshot()).toEqual(before);
    });
  }

  // A closed terminal (a dropped SSH session, a closed window) ends the prompt's stdin, and
  // resetting it fails with EIO: here no SIGHUP reaches plaidbal (its shell ignores it), so that is
  // all it sees. The error crashed plaidbal (exit 1); the prompt now ends as a stop ends it. (That it
  // ends rather than waits shows in link-key-changed.test.ts, where a wait would lose the item.)
  it('the terminal closing while a prompt waits, with no SIGHUP reaching plaidbal: exit 130, nothing saved', async () => {
    const before = await world.store.snapshot();
    const r = await runInTerminal(['config', 'init', '--env', 'production'], tty, [{ expect: /client_id/, send: '', hangUp: true }], 15_000);
    expect(r.code, stripAnsi(r.screen)).toBe(130);
    expect(await world.store.snapshot()).toEqual(before);
  });

  it('asks for the passphrase on a terminal; a wrong one changes nothing', async () => {
    // The store the test above made, re-keyed to a cheap scrypt cost: what follows is about the
    // terminal, not scrypt (helpers/cheap-kdf.ts).
    await cheapenPassphraseStore(world.store.dir, PASSPHRASE);
    const linked = await world.run(['link', '--sandbox', '--name', 'demo']);
    expect(linked.code, linked.stderr).toBe(0);
    const before = await world.store.snapshot();
    const wrong = await runInTerminal(['balance', '--item', 'demo'], tty, [{ expect: /Passphrase to unlock/, send: `not it${ENTER}` }]);
    expect(wrong.code).toBe(3);
    expect(stripAnsi(wrong.screen)).toContain('Wrong passphrase');
    expect(await world.store.snapshot()).toEqual(before);
    const right = await runInTerminal(['balance', '--item', 'demo'], tty, [{ expect: /Passphrase to unlock/, send: `${PASSPHRASE}${ENTER}` }]);
    expect(right.code).toBe(0);
    expect(stripAnsi(right.screen)).toContain('$23,631.9805');
    expect(right.screen).not.toContain(PASSPHRASE);
  });

  it('colours the table on a terminal only, and honours NO_COLOR and --no-color', async () => {
    const env = { ...tty, PLAIDBAL_PASSPHRASE: PASSPHRASE };
    const coloured = await runInTerminal(['balance', '--item', 'demo'], env);
    expect(coloured.code).toBe(0);
    expect(coloured.screen).toMatch(/\x1b\[[0-9;]*m/);
    const noColor = await runInTerminal(['balance', '--item', 'demo'], { ...env, NO_COLOR: '1' });
    expect(noColor.code).toBe(0);
    expect(noColor.screen).not.toMatch(/\x1b\[[0-9;]*m/);
    const flag = await runInTerminal(['--no-color', 'balance', '--item', 'demo'], env);
    expect(flag.code).toBe(0);
    expect(flag.screen).not.toMatch(/\x1b\[[0-9;]*m/);
    const flagAfter = await runInTerminal(['balance', '--item', 'demo', '--no-color'], env);
    expect(flagAfter.screen).not.toMatch(/\x1b\[[0-9;]*m/);
    const piped = await world.run(['balance', '--item', 'demo'], { extraEnv: { PLAIDBAL_PASSPHRASE: PASSPHRASE } });
    expect(piped.stdout).not.toMatch(/\x1b\[/);
  });

  it('asks before removing an item; "no" keeps it', async () => {
    const env = { ...tty, PLAIDBAL_PASSPHRASE: PASSPHRASE };
    const before = await world.store.snapshot();
    // CI set on a terminal: plaidbal asks nothing, and says that CI is why (not that there is no terminal).
    const ci = await runInTerminal(['items', 'remove', 'demo'], { ...env, CI: 'true' });
    expect(ci.code).toBe(2);
    expect(stripAnsi(ci.screen).replace(/\s+/g, ' ')).toContain('Removing "demo" needs confirmation, and plaidbal cannot ask here (CI is set).');
    expect(await world.store.snapshot()).toEqual(before);
    const no = await runInTerminal(['items', 'remove', 'demo'], env, [{ expect: /Remove at Plaid and delete "demo"/, send: `n${ENTER}` }]);
    expect(no.code).toBe(8);
    expect(stripAnsi(no.screen)).toContain('Nothing was removed');
    expect(await world.store.snapshot()).toEqual(before);
    const yes = await runInTerminal(['items', 'remove', 'demo'], env, [{ expect: /Remove at Plaid and delete "demo"/, send: `y${ENTER}` }]);
    expect(yes.code).toBe(0);
    expect(JSON.parse((await world.run(['items', '--json'])).stdout).items).toEqual([]);
  });
});
