/**
 * Commands called through their run functions, as gh's tests call a command's run with options
 * they built: `runBalance(ctx, opts)` on testContext (test/helpers/in-process.ts), which is
 * plaidbal's own context with an in-memory keychain, a store directory of the test's own, the
 * real Plaid client against an in-process emulator, and streams that say which of them are
 * terminals. The options are the ones commander gives for the command line in each comment
 * (test/unit/parse.test.ts checks that parsing). A run function returns its exit code, or throws
 * the CliError that runProgram (src/cli.ts) prints and exits with.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBalance } from '../../src/commands/balance/run.js';
import { runConfigInit } from '../../src/commands/config/init.js';
import { runItemsList } from '../../src/commands/items/run.js';
import { runLinkSandbox } from '../../src/commands/link/sandbox.js';
import { startEmulator, TEST_CLIENT_ID, TEST_SECRET, type Emulator } from '../emulator/index.js';
import { testContext, type TestContext } from '../helpers/in-process.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator.close());

const ESC = '\u001b[';

/** `config init --client-id … --secret-stdin --key-source <source>`, then `link --sandbox --name demo`, each in a context of its own on one store. */
async function linkedStore(keySource: 'keychain' | 'passphrase', env: NodeJS.ProcessEnv = {}): Promise<TestContext> {
  const init = testContext({ emulator, stdin: TEST_SECRET, env });
  expect(await runConfigInit(init, { env: 'sandbox', clientId: TEST_CLIENT_ID, secretStdin: true, keySource }), init.stderr()).toBe(0);
  const link = testContext({ emulator, keychain: init.keychain, configDir: init.configDir, env });
  expect(await runLinkSandbox(link, { sandbox: true, name: 'demo', institution: 'ins_109508', browser: true }), link.stderr()).toBe(0);
  return link;
}

describe('run functions on testContext', () => {
  it('config init, link --sandbox and balance --json on an in-memory keychain: the store key is there, the token sealed', async () => {
    const linked = await linkedStore('keychain');
    const store = readFileSync(join(linked.configDir, 'store.json'), 'utf8');
    const account = (JSON.parse(store) as { key: { source: string; account: string } }).key;
    expect(account.source).toBe('keychain');
    // The key went to the keychain the context was given, not to the OS keychain.
    expect(await linked.keychain.get(account.account)).toMatch(/\S{20,}/);
    const token = emulator.items().at(-1)!.access_token;
    expect(store).not.toContain(token);

    const ctx = testContext({ emulator, keychain: linked.keychain, configDir: linked.configDir });
    expect(await runBalance(ctx, { item: ['demo'], json: true }), ctx.stderr()).toBe(0);
    const doc = JSON.parse(ctx.stdout()) as { items: Array<{ name: string; error: unknown; accounts: Array<{ name: string }> }> };
    expect(doc.items).toHaveLength(1);
    expect(doc.items[0]).toMatchObject({ name: 'demo', error: null });
    expect(doc.items[0]!.accounts.map((a) => a.name)).toContain('Plaid Checking');
    expect(ctx.stdout() + ctx.stderr()).not.toContain(token);

    // Another keychain does not open the store: its key is only in the one it was made with.
    const stranger = testContext({ emulator, configDir: linked.configDir });
    await expect(runBalance(stranger, { item: ['demo'], json: true })).rejects.toMatchObject({ exitCode: 3, message: expect.stringContaining('The OS keychain has no plaidbal key for the store') });
    expect(stranger.stdout()).toBe('');
  });

  it('stdout a terminal: a coloured table no wider than the terminal; piped, or NO_COLOR: no escapes', async () => {
    const linked = await linkedStore('keychain');
    const onTerminal = testContext({ emulator, keychain: linked.keychain, configDir: linked.configDir, tty: { stdout: true, columns: 100 } });
    expect(onTerminal.io.stdoutIsTTY).toBe(true);
    expect(await runBalance(onTerminal, { item: ['demo'] }), onTerminal.stderr()).toBe(0);
    expect(onTerminal.stdout()).toContain(ESC);
    const piped = testContext({ emulator, keychain: linked.keychain, configDir: linked.configDir });
    expect(await runBalance(piped, { item: ['demo'] }), piped.stderr()).toBe(0);
    expect(piped.stdout()).not.toContain(ESC);
    expect(piped.stdout()).toContain('Plaid Checking');
    const strip = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');
    const widest = Math.max(...strip(onTerminal.stdout()).split('\n').map((line) => [...line].length));
    expect(widest).toBeLessThanOrEqual(100);
    // NO_COLOR on the same terminal: no escapes.
    const noColor = testContext({ emulator, keychain: linked.keychain, configDir: linked.configDir, tty: { stdout: true, columns: 100 }, env: { NO_COLOR: '1' } });
    expect(await runBalance(noColor, { item: ['demo'] })).toBe(0);
    expect(noColor.stdout()).not.toContain(ESC);
  });

  it('a passphrase store: asked on a terminal (stdin and stderr), through the context\'s prompt; not asked with CI set or without a terminal', async () => {
    const passphrase = 'direct run passphrase';
    const linked = await linkedStore('passphrase', { PLAIDBAL_PASSPHRASE: passphrase });
    const asked: string[] = [];
    const prompt = {
      async password(message: string) {
        asked.push(message);
        return passphrase;
      },
    };
    const onTerminal = testContext({ emulator, configDir: linked.configDir, tty: { stdin: true, stderr: true }, prompt });
    expect(onTerminal.io.canPrompt).toBe(true);
    expect(await runBalance(onTerminal, { item: ['demo'], json: true }), onTerminal.stderr()).toBe(0);
    expect(asked).toEqual([expect.stringMatching(/^Passphrase to /)]);
    expect(JSON.parse(onTerminal.stdout())).toMatchObject({ items: [{ name: 'demo', error: null }] });

    const before = readFileSync(join(linked.configDir, 'store.json'));
    for (const [tty, env, why] of [
      [{ stdin: true, stderr: true }, { CI: 'true' }, 'CI is set'],
      [{ stdin: true, stderr: false }, {}, 'no terminal'],
      [{ stdin: false, stderr: true }, {}, 'no terminal'],
      [{}, {}, 'no terminal'],
    ] as const) {
      const ctx = testContext({ emulator, configDir: linked.configDir, tty, env, prompt });
      expect(ctx.io.canPrompt).toBe(false);
      await expect(runBalance(ctx, { item: ['demo'], json: true })).rejects.toMatchObject({
        exitCode: 3,
        message: expect.stringContaining(`plaidbal cannot ask for it here (${why})`),
        hint: expect.stringContaining('PLAIDBAL_PASSPHRASE'),
      });
      expect(ctx.stdout()).toBe('');
    }
    expect(asked).toHaveLength(1);
    expect(readFileSync(join(linked.configDir, 'store.json')).equals(before)).toBe(true);
  });

  it('items --json lists what link saved, without unlocking anything', async () => {
    const linked = await linkedStore('keychain');
    const ctx = testContext({ emulator, configDir: linked.configDir, keychain: { probe: async () => ({ available: false, reason: 'none here' }), get: failing, set: failing, delete: failing } });
    expect(await runItemsList(ctx, { json: true }), ctx.stderr()).toBe(0);
    expect(JSON.parse(ctx.stdout())).toMatchObject({ items: [{ alias: 'demo', institution_name: 'First Platypus Bank', environment: 'sandbox' }] });
  });
});

async function failing(): Promise<never> {
  throw new Error('the keychain was read');
}
