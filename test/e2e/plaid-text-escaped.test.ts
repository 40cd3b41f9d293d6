/**
 * Text from Plaid and the bank that reaches the terminal outside the balance table: currency
 * codes in the totals, items status, the items rotate table, check's "As of" line, the questions
 * items remove and items rotate ask, warnings that quote Plaid's message,
 * and the --debug line's request_id. Each shows its control characters as `\u001b`-style text
 * (README, "Text from Plaid on a terminal"), so an answer cannot retitle or clear the terminal.
 *
 * What the emulator cannot send (an item error with any code, any request_id) comes from a Plaid
 * in front of it that rewrites its answers.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSandboxItem } from '../emulator/index.js';
import type { CliResult } from '../helpers/cli.js';
import { runInTerminal, stripAnsi } from '../helpers/pty.js';
import { linkedWorld, TEST_CLIENT_ID, TEST_SECRET, type World } from '../helpers/world.js';

// An OSC that sets the terminal's title, ended by a bell.
const HOSTILE = '\u001b]0;PWNED\u0007';
const ESCAPED = '\\u001b]0;PWNED\\u0007';
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

let world: World;
beforeEach(async () => {
  world = await linkedWorld('demo', { inProcess: true });
});
afterEach(async () => world.close());

/** Neither stream carries a raw control character. */
function noRawControls(r: CliResult) {
  expect(r.stdout).not.toMatch(RAW_CONTROL);
  expect(r.stderr).not.toMatch(RAW_CONTROL);
}

type Body = Record<string, unknown>;

/**
 * A Plaid in front of the emulator: each answer is the emulator's, with `edit` applied to the
 * JSON body (the path says which call it answers). The URL goes in PLAIDBAL_BASE_URL.
 */
async function rewritingPlaid(edit: (path: string, body: Body) => void): Promise<{ env: NodeJS.ProcessEnv; close(): Promise<void> }> {
  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  const server = createServer((req, res) => {
    void (async () => {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name, value]) => typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name))) as Record<string, string>;
      const answer = await fetch(`${world.emulator.url}${req.url}`, { method: req.method, headers, body: await read(req) });
      const body = (await answer.json()) as Body;
      edit(new URL(req.url ?? '/', 'http://x').pathname, body);
      res.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    })().catch(() => res.writeHead(599).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    env: { PLAIDBAL_BASE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('text from Plaid outside the balance table', () => {
  it('balance: a currency code in the totals (headings and notes) is escaped', async () => {
    const [item] = world.emulator.items();
    world.emulator.setAccounts(item!.item_id, [
      {
        account_id: 'HOSTILEcurrency000000000000000000000000'.slice(0, 37),
        // No available balance: the totals' notes name the currency too.
        balances: { available: null, current: 1.5, limit: null, iso_currency_code: null, unofficial_currency_code: `BTC${HOSTILE}` },
        mask: '1006',
        name: 'Wallet',
        official_name: null,
        subtype: 'checking',
        type: 'depository',
      },
    ]);
    const r = await world.run(['balance', '--item', 'demo']);
    expect(r.code).toBe(0);
    noRawControls(r);
    const totals = r.stdout.slice(r.stdout.indexOf('Totals'));
    expect(totals.split('\n').find((line) => line.includes('Totals'))).toContain(`BTC${ESCAPED}`);
    expect(totals).toContain(`BTC${ESCAPED}: no figure from Plaid`);
  });

  it("items status: Plaid's error_code, message and request_id in the table, the details and the line on stderr are escaped", async () => {
    const itemError = (error_type: string, error_code: string) => ({ error_type, error_code, error_message: `locked${HOSTILE}`, display_message: null, request_id: `req${HOSTILE}`, causes: [], status: 400 });
    let error: Body = itemError('ITEM_ERROR', `ITEM_LOCKED${HOSTILE}`);
    const plaid = await rewritingPlaid((path, body) => {
      if (path === '/item/get') (body.item as Body).error = error;
    });
    try {
      // An ITEM_ERROR: the item needs its user.
      const needs = await world.run(['items', 'status', 'demo'], { extraEnv: plaid.env });
      expect(needs.code).toBe(4);
      noRawControls(needs);
      expect(needs.stdout).toContain(`ITEM_LOCKED${ESCAPED}`); // the Status cell and the details
      expect(needs.stdout).toContain(`locked${ESCAPED}`);
      expect(needs.stdout).toContain(`request_id: req${ESCAPED}`);
      expect(needs.stderr).toContain(`needs its user (ITEM_LOCKED${ESCAPED})`);

      // An institution error: the hint built from the code names it.
      error = itemError('INSTITUTION_ERROR', `INSTITUTION_DOWN${HOSTILE}`);
      const down = await world.run(['items', 'status', 'demo'], { extraEnv: plaid.env });
      noRawControls(down);
      expect(down.stderr).toContain(`Plaid reports INSTITUTION_DOWN${ESCAPED} on "demo".`);
      expect(down.stderr).toContain(`could not serve the request (INSTITUTION_DOWN${ESCAPED})`);

      // --all: the same table, without the stderr line.
      const all = await world.run(['items', 'status', '--all'], { extraEnv: plaid.env });
      noRawControls(all);
      expect(all.stdout).toContain(`INSTITUTION_DOWN${ESCAPED}`);
    } finally {
      await plaid.close();
    }
  });

  it('items rotate --all: the error_code, request_id and institution in its table are escaped', async () => {
    const plaid = await rewritingPlaid((path, body) => {
      if (path === '/institutions/get_by_id') (body.institution as Body).name = `Bank${HOSTILE}`;
      if (typeof body.request_id === 'string') body.request_id = `req${HOSTILE}`;
    });
    try {
      // Linked through the rewriting Plaid: the store keeps the institution's name as Plaid sent it.
      expect((await world.run(['link', '--sandbox', '--name', 'hostile'], { extraEnv: plaid.env })).code).toBe(0);
      world.emulator.inject({ path: '/item/access_token/invalidate', error_type: 'INVALID_REQUEST', error_code: `REFUSED${HOSTILE}`, status: 400, times: Infinity });
      const r = await world.run(['items', 'rotate', '--all', '--yes'], { extraEnv: plaid.env });
      noRawControls(r);
      expect(r.stdout).toContain(`REFUSED${ESCAPED} (request_id req${ESCAPED})`);
      expect(r.stdout).toContain(`Bank${ESCAPED}`);
    } finally {
      await plaid.close();
    }
  });

  it("check: the 'As of' line, from Plaid's last_updated_datetime, is escaped", async () => {
    // Date.parse takes a parenthesised comment, so such a value still dates the balance.
    const at = `2026-12-01 (${HOSTILE})`;
    expect(Number.isNaN(Date.parse(at))).toBe(false);
    const plaid = await rewritingPlaid((path, body) => {
      if (path === '/accounts/balance/get') for (const account of body.accounts as { balances: Body }[]) account.balances.last_updated_datetime = at;
    });
    try {
      const account = world.emulator.items()[0]!.accounts.find((a) => a.type === 'depository' && a.balances.available !== null)!;
      const r = await world.run(['check', '--item', 'demo', '--account', account.account_id, '--amount', '1'], { extraEnv: plaid.env });
      expect(r.code, r.stderr).toBe(0);
      noRawControls(r);
      expect(r.stdout).toContain(`As of:`);
      expect(r.stdout).toContain(`2026-12-01 (${ESCAPED})`);
    } finally {
      await plaid.close();
    }
  });

  it('items remove and items rotate: the question before acting names the institution escaped', async () => {
    const plaid = await rewritingPlaid((path, body) => {
      if (path === '/institutions/get_by_id') (body.institution as Body).name = `Bank${HOSTILE}`;
    });
    try {
      // Linked through the rewriting Plaid: the store keeps the institution's name as Plaid sent it.
      expect((await world.run(['link', '--sandbox', '--name', 'hostile'], { extraEnv: plaid.env })).code).toBe(0);
    } finally {
      await plaid.close();
    }
    const tty = { ...world.env };
    delete tty.CI;
    for (const [args, asked] of [
      [['items', 'remove', 'hostile'], /Remove at Plaid and delete "hostile"/],
      [['items', 'rotate', 'hostile'], /Rotate the access token of "hostile"/],
    ] as const) {
      const r = await runInTerminal([...args], tty, [{ expect: asked, send: 'n\r' }]);
      expect(r.code, stripAnsi(r.screen)).toBe(8);
      expect(r.screen).not.toContain(HOSTILE);
      expect(stripAnsi(r.screen)).toContain(`Bank${ESCAPED}`);
    }
  });

  it("balance --access-token-stdin: the warning that quotes Plaid's message is escaped", async () => {
    const { access_token } = await createSandboxItem(world.emulator, { institution_id: 'ins_109511', initial_products: ['auth'] });
    world.emulator.inject({ path: '/institutions/get_by_id', error_code: 'INVALID_INSTITUTION', error_message: `gone${HOSTILE}`, times: Infinity });
    const r = await world.run(['balance', '--access-token-stdin'], { stdin: access_token, extraEnv: { PLAID_CLIENT_ID: TEST_CLIENT_ID, PLAID_SECRET: TEST_SECRET } });
    expect(r.code).toBe(0);
    noRawControls(r);
    expect(r.stderr).toContain("! Could not look up the institution's name (");
    expect(r.stderr).toContain(`gone${ESCAPED}`);
  });

  it("items import: the warning that quotes Plaid's message is escaped", async () => {
    const { access_token } = await createSandboxItem(world.emulator, { institution_id: 'ins_109511', initial_products: ['auth'] });
    world.emulator.inject({ path: '/institutions/get_by_id', error_code: 'INVALID_INSTITUTION', error_message: `gone${HOSTILE}`, times: Infinity });
    const r = await world.run(['items', 'import', '--name', 'imported'], { stdin: access_token });
    expect(r.code).toBe(0);
    noRawControls(r);
    expect(r.stderr).toContain('! Could not look up the name of institution ins_109511 (');
    expect(r.stderr).toContain(`gone${ESCAPED}`);
  });

  it("--debug: Plaid's request_id on the debug line is escaped", async () => {
    const plaid = await rewritingPlaid((_path, body) => {
      if (typeof body.request_id === 'string') body.request_id = `req${HOSTILE}`;
    });
    try {
      const r = await world.run(['balance', '--item', 'demo', '--debug'], { extraEnv: plaid.env });
      expect(r.code).toBe(0);
      noRawControls(r);
      expect(r.stderr).toMatch(new RegExp(`POST /accounts/balance/get 200 \\d+ms request_id=req${ESCAPED.replace(/[\\[\]]/g, '\\$&')}`));
    } finally {
      await plaid.close();
    }
  });
});
