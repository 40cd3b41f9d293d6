/**
 * `plaidbal items import` and `plaidbal balance --access-token-stdin`, end to end against the
 * emulator. Tokens are minted the way an application would get them (the emulator's own
 * /sandbox/public_token/create + /item/public_token/exchange), then brought into plaidbal.
 * Every bad input exits 2 with its line numbers, makes no Plaid call and leaves the store
 * byte-identical; no token ever reaches stdout, stderr or argv.
 */
import { spawn } from '../helpers/spawner.js';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callPlaid, createSandboxItem } from '../emulator/index.js';
import { BIN, baseEnv, runCli, type CliResult } from '../helpers/cli.js';
import { runInProcess } from '../helpers/in-process.js';
import { runInTerminal, stripAnsi } from '../helpers/pty.js';
import { signalWhileHeld, until, within } from '../helpers/wait.js';
import { createWorld, printed, TEST_CLIENT_ID, TEST_SECRET, type World } from '../helpers/world.js';

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats.default(ajv);
const validateImport = ajv.compile(JSON.parse(readFileSync(new URL('../../docs/schema/import.schema.json', import.meta.url), 'utf8')));
const validateBalance = ajv.compile(JSON.parse(readFileSync(new URL('../../docs/schema/balance.schema.json', import.meta.url), 'utf8')));
/** Parses an --json document and checks it against its schema in docs/schema. */
const importDoc = (stdout: string) => {
  const doc = JSON.parse(stdout);
  expect(validateImport(doc), JSON.stringify(validateImport.errors)).toBe(true);
  return doc;
};

let world: World;
const ITEM_GET = '/item/get';
const BY_ID = '/institutions/get_by_id';
const BALANCE = '/accounts/balance/get';

const calls = (path?: string) => world.emulator.requests.filter((q) => path === undefined || q.path === path).length;
/** Added to the emulator's clock: an item Plaid created weeks ago, without waiting weeks. */
let clockOffsetMs = 0;
const mint = async (institution_id = 'ins_109508') => (await createSandboxItem(world.emulator, { institution_id, initial_products: ['auth'] })).access_token;
const ndjson = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const storeItems = () => JSON.parse(readFileSync(world.store.file, 'utf8')).items as { alias: string; item_id: string; institution_name: string | null; products: string[]; access_token: string }[];

/** No token the emulator ever issued, nor anything shaped like one, in `text`. */
function expectNoToken(text: string) {
  for (const item of world.emulator.items()) expect(text).not.toContain(item.access_token);
  expect(text).not.toMatch(/access-(sandbox|production)-[0-9a-f]{8}-/);
}

const importRun = (args: string[], stdin: string, extraEnv?: NodeJS.ProcessEnv) => world.run(['items', 'import', ...args], { stdin, extraEnv });

beforeAll(async () => {
  world = await createWorld({ clock: () => Date.now() + clockOffsetMs }, {}, { inProcess: true });
  expect((await world.init('passphrase')).code).toBe(0);
  await world.link('demo');
});
afterAll(async () => world?.close());

describe('items import: bad input exits 2, names the lines, calls nothing, changes nothing', () => {
  it('every kind of bad input', async () => {
    const good = await mint();
    const other = await mint();
    const demoId = storeItems()[0]!.item_id;
    const cases: { name: string; args: string[]; stdin: string; expect: (string | RegExp)[] }[] = [
      {
        name: 'malformed NDJSON lines',
        args: ['--format', 'ndjson'],
        stdin: `${JSON.stringify({ access_token: good })}\nnot json\n[1]\n{"name":"x"}\n${JSON.stringify({ access_token: other, name: 'has space' })}\n{"access_token":"public-sandbox-abc"}\n{"access_token":5}\n{"access_token":"access-development-abc"}\n{"access_token":"sk_live_abc"}\n`,
        expect: [
          'The input has 8 problems',
          'line 2: not valid JSON',
          'line 3: not a JSON object',
          'line 4: no "access_token" field',
          'line 5: bad name: an alias cannot contain spaces',
          'line 6: access_token is a public token, not an access token',
          'line 7: access_token is not a string',
          'line 8: access_token is a Development token',
          'line 9: access_token is not a Plaid access token',
        ],
      },
      { name: 'CSV without an access_token column', args: ['--format', 'csv'], stdin: `token,name\r\n${good},x\r\n`, expect: ['line 1: the header has no access_token column'] },
      {
        name: 'CSV rows that do not fit',
        args: ['--format', 'csv'],
        stdin: `access_token,name\n${good}\n${other},a,b\n"unclosed,x\n`,
        expect: ['line 2: 1 field where the header has 2', 'line 3: 3 fields where the header has 2', 'line 4: not valid CSV: a quoted field is never closed'],
      },
      { name: 'CSV with a stray quote', args: ['--format', 'csv'], stdin: `access_token,name\n${good},ab"c\n`, expect: ['line 2: not valid CSV: a quote inside an unquoted field'] },
      { name: 'the same token twice', args: ['--format', 'ndjson'], stdin: ndjson([{ access_token: good }, { access_token: other }, { access_token: good, name: 'again' }]), expect: ['line 3: the same access_token as line 1'] },
      { name: 'the same name twice', args: ['--format', 'csv'], stdin: `access_token,name\n${good},acme\n${other},acme\n`, expect: ['line 3: the name "acme" is also on line 2'] },
      { name: 'two environments', args: ['--format', 'ndjson'], stdin: ndjson([{ access_token: good }, { access_token: 'access-production-0f0e0d0c-0000-0000-0000-000000000000' }]), expect: ['line 2: a production token, while line 1 holds a sandbox one'] },
      { name: '--env that disagrees', args: ['--env', 'production'], stdin: good, expect: ['line 1: a sandbox token, but --env is production'] },
      { name: 'a name that is a stored item_id', args: ['--name', demoId], stdin: good, expect: [/cannot look like a Plaid item_id|is a stored item's item_id/] },
      { name: 'a name that is a stored item_id (NDJSON)', args: ['--format', 'ndjson'], stdin: ndjson([{ access_token: good, name: `${demoId.slice(0, 36)}-` }, { access_token: other, name: demoId }]), expect: [/line 2: bad name: an alias cannot look like a Plaid item_id/] },
      { name: 'two tokens for --format token', args: [], stdin: `${good}\n${other}\n`, expect: ['line 1: stdin holds more than one word or line'] },
      { name: 'nothing on stdin', args: ['--format', 'ndjson'], stdin: '\n\n', expect: ['No access token on stdin'] },
      { name: '--name with a batch format', args: ['--format', 'csv', '--name', 'x'], stdin: `access_token\n${good}\n`, expect: ['--name is for one token'] },
      { name: 'an unknown format', args: ['--format', 'xml'], stdin: good, expect: [/argument 'xml' is invalid/] },
      { name: '--rate above /item/get\'s limit', args: ['--rate', '5001'], stdin: good, expect: [/5,?000/, /\/item\/get/] },
    ];
    const before = await world.store.snapshot();
    const requests = calls();
    for (const c of cases) {
      const r = await importRun(c.args, c.stdin);
      expect(r.code, `${c.name}\n${r.stderr}`).toBe(2);
      expect(r.stdout, c.name).toBe('');
      for (const text of c.expect) expect(r.stderr, c.name).toMatch(typeof text === 'string' ? new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : text);
      if (c.expect[0] !== 'No access token on stdin' && !c.args.includes('xml') && !c.args.includes('--name') && !c.args.includes('--rate')) expect(r.stderr, c.name).toMatch(/nothing was imported and the store was not changed/);
      expectNoToken(printed(r));
      expect(await world.store.snapshot(), c.name).toEqual(before);
    }
    expect(calls(), 'no Plaid call for bad input').toBe(requests);
  });

  it('a token typed on a terminal is refused before it can be echoed', async () => {
    const tty = { ...world.env };
    delete tty.CI;
    const before = await world.store.snapshot();
    const r = await runInTerminal(['items', 'import', '--name', 'typed'], tty);
    expect(r.code).toBe(2);
    expect(stripAnsi(r.screen)).toContain('stdin is a terminal');
    expect(stripAnsi(r.screen)).toContain("printf '%s' \"$TOKEN\" | plaidbal items import");
    expect(await world.store.snapshot()).toEqual(before);
  });
});

describe('items import: happy paths', () => {
  it('one token (--format token): imported under --name, verified with /item/get, usable by balance', async () => {
    const token = await mint('ins_109511');
    const [gets, byId] = [calls(ITEM_GET), calls(BY_ID)];
    const r = await importRun(['--name', 'acme-42'], token);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/│ 1\s+│ acme-42\s+│ \S+\s+│ Tartan Bank\s+│ imported/);
    expect(r.stderr).toContain('1 imported, 0 updated, 0 unchanged, 0 failed (sandbox).');
    expect(calls(ITEM_GET)).toBe(gets + 1);
    expect(calls(BY_ID)).toBe(byId + 1);
    const stored = storeItems().find((i) => i.alias === 'acme-42')!;
    const emulated = world.emulator.items().find((i) => i.access_token === token)!;
    expect(stored).toMatchObject({ item_id: emulated.item_id, institution_name: 'Tartan Bank', products: ['auth'] });
    expect(stored.access_token).not.toContain(token); // sealed
    const balance = await world.run(['balance', '--item', 'acme-42', '--json']);
    expect(balance.code, balance.stderr).toBe(0);
    expect((world.emulator.requests.at(-1)!.body as { access_token: string }).access_token).toBe(token);
    expectNoToken(printed(r) + printed(balance) + readFileSync(world.store.file, 'utf8'));
  });

  it("an imported item's linked_at is when Plaid created it (/item/get's created_at), so the Sandbox's 30-day age counts from there", async () => {
    clockOffsetMs = -40 * 86_400_000;
    let token: string;
    try {
      token = await mint();
    } finally {
      clockOffsetMs = 0;
    }
    const r = await importRun(['--name', 'old-one'], token);
    expect(r.code, r.stderr).toBe(0);
    const emulated = world.emulator.items().find((i) => i.access_token === token)!;
    const listed = (JSON.parse((await world.run(['items', '--json'])).stdout).items as { alias: string; linked_at: string }[]).find((i) => i.alias === 'old-one')!;
    // /item/get's created_at has whole seconds (the spec's example: "2019-02-15T15:51:39Z").
    expect(listed.linked_at).toBe(new Date(Math.floor(Date.parse(emulated.created_at) / 1000) * 1000).toISOString());
    expect(Date.now() - Date.parse(listed.linked_at)).toBeGreaterThan(39 * 86_400_000);
  });

  it('NDJSON and CSV batches (--json): aliases derived like link, one /institutions/get_by_id per institution', async () => {
    const [a, b, c] = [await mint(), await mint(), await mint('ins_109509')];
    const byId = calls(BY_ID);
    const r = await importRun(['--format', 'ndjson', '--json'], `${JSON.stringify({ access_token: a, extra: 'ignored' })}\n\n${JSON.stringify({ access_token: b, name: null })}\n${JSON.stringify({ access_token: c, name: 'gingham' })}\n`);
    expect(r.code, r.stderr).toBe(0);
    const doc = importDoc(r.stdout);
    expect(Object.keys(doc)).toEqual(['environment', 'imported_at', 'summary', 'rows']);
    expect(doc.summary).toEqual({ imported: 3, updated: 0, unchanged: 0, failed: 0 });
    // Derived aliases as link makes them: the institution's name, then -2, -3… (demo is First Platypus Bank too, but named).
    expect(doc.rows.map((row: { line: number; alias: string; status: string }) => [row.line, row.alias, row.status])).toEqual([
      [1, 'first-platypus-bank', 'imported'],
      [3, 'first-platypus-bank-2', 'imported'],
      [4, 'gingham', 'imported'],
    ]);
    expect(Object.keys(doc.rows[0])).toEqual(['line', 'alias', 'item_id', 'institution_id', 'institution_name', 'status', 'item_error', 'message', 'error']);
    expect(doc.rows[2]).toMatchObject({ institution_id: 'ins_109509', institution_name: 'First Gingham Credit Union', error: null, item_error: null });
    // Two institutions, one call each.
    expect(calls(BY_ID)).toBe(byId + 2);

    const [d, e] = [await mint(), await mint()];
    const csv = await importRun(['--format', 'csv', '--json'], `\uFEFFname,access_token,note\r\n"pay,roll",${d},"multi\r\nline"\r\n,"${e}",x\r\n`);
    expect(csv.code, csv.stderr).toBe(0);
    expect(importDoc(csv.stdout).rows.map((row: { line: number; alias: string; status: string }) => [row.line, row.alias, row.status])).toEqual([
      [2, 'pay,roll', 'imported'],
      [4, 'first-platypus-bank-3', 'imported'],
    ]);
    expectNoToken(printed(r) + printed(csv) + readFileSync(world.store.file, 'utf8'));
  });

  it('unchanged, updated (rotated elsewhere), failed rows and an item in error: exit 6, the good rows still imported', async () => {
    const stored = storeItems().find((i) => i.alias === 'acme-42')!;
    const storedToken = world.emulator.items().find((i) => i.item_id === stored.item_id)!.access_token;
    // "gingham" is rotated by the application that owns it: plaidbal's copy is now dead.
    const gingham = storeItems().find((i) => i.alias === 'gingham')!;
    const rotated = (await callPlaid(world.emulator.url, '/item/access_token/invalidate', { access_token: world.emulator.items().find((i) => i.item_id === gingham.item_id)!.access_token })).body.new_access_token as string;
    const fresh = await mint();
    const broken = await mint('ins_109510');
    await callPlaid(world.emulator.url, '/sandbox/item/reset_login', { access_token: broken });
    const taken = await mint();
    const gets = calls(ITEM_GET);
    const r = await importRun(
      ['--format', 'ndjson', '--json'],
      ndjson([
        { access_token: storedToken, name: 'acme-42' },
        { access_token: rotated, name: 'gingham' },
        { access_token: 'access-sandbox-00000000-0000-4000-8000-000000000000', name: 'ghost' },
        { access_token: fresh, name: 'fresh' },
        { access_token: broken, name: 'broken' },
        { access_token: taken, name: 'demo' },
      ]),
    );
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toContain('2 imported, 1 updated, 1 unchanged, 2 failed (sandbox).');
    const rows = importDoc(r.stdout).rows as { line: number; alias: string | null; status: string; item_error: string | null; message: string | null; error: { error_code: string } | null }[];
    expect(rows.map((row) => [row.line, row.alias, row.status, row.error?.error_code ?? row.item_error])).toEqual([
      [1, 'acme-42', 'unchanged', null],
      [2, 'gingham', 'updated', null],
      [3, 'ghost', 'failed', 'INVALID_ACCESS_TOKEN'],
      [4, 'fresh', 'imported', null],
      [5, 'broken', 'imported', 'ITEM_LOGIN_REQUIRED'],
      [6, 'demo', 'failed', 'ALIAS_TAKEN'],
    ]);
    expect(rows[1]!.message).toContain('the stored access token was replaced');
    expect(rows[4]!.message).toContain('plaidbal link --update broken');
    // The stored token is unchanged without a call; every other row was verified once.
    expect(calls(ITEM_GET)).toBe(gets + 5);
    // The updated item works again with its new token.
    const balance = await world.run(['balance', '--item', 'gingham', '--json']);
    expect(balance.code, balance.stderr).toBe(0);
    expect(storeItems().map((i) => i.alias)).not.toContain('ghost');
    expect(storeItems().filter((i) => i.alias === 'demo')).toHaveLength(1);
    // The table names rows by line and alias too.
    const again = await importRun(['--format', 'ndjson'], ndjson([{ access_token: 'access-sandbox-00000000-0000-4000-8000-000000000001' }]));
    expect(again.code).toBe(6);
    expect(again.stdout).toMatch(/│ 1\s+│ —\s+│ —\s+│ —\s+│ failed\s+│ INVALID_ACCESS_TOKEN/);
    expectNoToken(printed(r) + printed(again) + readFileSync(world.store.file, 'utf8'));
  });

  it('into a fresh store: a token link --sandbox made for another store, and one minted elsewhere; the first import creates the store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plaidbal-import-fresh-'));
    const store = join(dir, 'store');
    const demoId = storeItems().find((i) => i.alias === 'demo')!.item_id;
    const demoToken = world.emulator.items().find((i) => i.item_id === demoId)!.access_token;
    const env = { PLAIDBAL_CONFIG_DIR: store, PLAID_CLIENT_ID: TEST_CLIENT_ID, PLAID_SECRET: TEST_SECRET };
    try {
      const r = await importRun(['--format', 'csv', '--json'], `access_token,name\n${demoToken},theirs\n${await mint()},\n`, env);
      expect(r.code, r.stderr).toBe(0);
      expect(importDoc(r.stdout).rows.map((row: { alias: string; item_id: string; status: string }) => [row.alias, row.status])).toEqual([
        ['theirs', 'imported'],
        ['first-platypus-bank', 'imported'],
      ]);
      expect(importDoc(r.stdout).rows[0].item_id).toBe(demoId);
      const balance = await world.run(['balance', '--item', 'theirs', '--json'], { extraEnv: env });
      expect(balance.code, balance.stderr).toBe(0);
      expect(JSON.parse(balance.stdout).items[0].item_id).toBe(demoId);
      expect(readdirSync(store).sort()).toEqual(['last-balance.ndjson', 'store.json', 'store.json.bak']);
      expectNoToken(printed(r) + printed(balance) + readFileSync(join(store, 'store.json'), 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on a terminal: progress on stderr, while the tokens still come from a pipe', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plaidbal-import-tty-'));
    const file = join(dir, 'tokens.ndjson');
    writeFileSync(file, ndjson([{ access_token: await mint(), name: 'tty-1' }, { access_token: await mint(), name: 'tty-2' }, { access_token: await mint(), name: 'tty-3' }]));
    const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
    world.emulator.setLatency(300, ITEM_GET);
    try {
      const screen = await new Promise<{ code: number | null; text: string }>((resolve, reject) => {
        const child = spawn('script', ['-qfec', `${quote(process.execPath)} ${quote(BIN)} items import --format ndjson < ${quote(file)}`, '/dev/null'], { env: { TERM: 'xterm-256color', COLUMNS: '160', ...world.env }, stdio: ['ignore', 'pipe', 'pipe'] });
        let text = '';
        child.stdout!.on('data', (d: Buffer) => (text += d.toString('utf8')));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, text }));
      });
      expect(screen.code, screen.text).toBe(0);
      expect(stripAnsi(screen.text)).toMatch(/Verifying tokens \d\/3/);
      expect(stripAnsi(screen.text)).toContain('3 imported, 0 updated, 0 unchanged, 0 failed (sandbox).');
      expectNoToken(screen.text);
    } finally {
      world.emulator.setLatency(0, ITEM_GET);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad credentials stop the whole run: exit 3, nothing written', async () => {
    const token = await mint();
    const before = await world.store.snapshot();
    const gets = calls(ITEM_GET);
    // --rate 5: one call at once, the next 12 s later, so the second row is waiting for its slot
    // when the first is refused; it is never sent.
    const r = await importRun(['--format', 'ndjson', '--rate', '5'], ndjson([{ access_token: token }, { access_token: await mint() }]), { PLAID_CLIENT_ID: TEST_CLIENT_ID, PLAID_SECRET: 'wrong_secret_for_import' });
    expect(r.code, r.stderr).toBe(3);
    expect(calls(ITEM_GET) - gets).toBe(1);
    expect(r.stderr).toContain('INVALID_API_KEYS');
    // Plaid's message and plaidbal's note are two sentences (Plaid's ends without a full stop).
    expect(r.stderr).toMatch(/[.!?] 0 rows were saved in the store before it stopped; 2 were not imported\./);
    expect(r.stdout).toBe('');
    expect(await world.store.snapshot()).toEqual(before);
    expect(printed(r)).not.toContain('wrong_secret_for_import');
    expectNoToken(printed(r));
  });
});

describe('items import: interrupted, then run again', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} mid-run keeps the rows already verified; the same import again finishes the rest`, async () => {
      const tokens: string[] = [];
      for (let i = 0; i < 40; i++) tokens.push(await mint());
      const input = ndjson(tokens.map((access_token, i) => ({ access_token, name: `${signal.toLowerCase()}-${i + 1}` })));
      const countMine = () => (existsSync(world.store.file) ? storeItems().filter((i) => i.alias.startsWith(`${signal.toLowerCase()}-`)).length : 0);
      world.emulator.setLatency(1000, ITEM_GET);
      const firstRun = world.emulator.requests.length;
      // --rate 60: a burst of 12 calls, then one a second, so the run is still going when the signal lands.
      const child = spawn(process.execPath, [BIN, 'items', 'import', '--format', 'ndjson', '--json', '--rate', '60'], { env: world.env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.stdin.end(input);
      const done = new Promise<number | null>((resolve) => child.on('close', resolve));
      // The first batch is written after 2 s; stop the run once it is on disk.
      await until(() => countMine() > 0, () => `the first batch on disk; plaidbal's stderr:\n${stderr}`);
      child.kill(signal);
      const code = await done;
      world.emulator.setLatency(0, ITEM_GET);
      expect(code, stderr).toBe(130);
      const saved = countMine();
      expect(saved).toBeGreaterThan(0);
      expect(saved).toBeLessThan(40);
      expect(stderr, `exit ${code}: ${stderr} // stdout: ${stdout}`).toContain('Interrupted.');
      expect(stderr).toContain(`${saved} rows were saved in the store before it stopped; ${40 - saved} were not imported. Run the same import again to finish`);
      expect(stdout).toBe('');
      // Every token Plaid verified is kept. Both signals abort the calls in flight (src/cli.ts main),
      // and an aborted call Plaid answered anyway is left for the re-run (/item/get is free).
      const answered = world.emulator.requests.slice(firstRun).filter((q) => q.path === ITEM_GET && q.status === 200).length;
      expect(saved).toBeLessThanOrEqual(answered);

      const gets = calls(ITEM_GET);
      const again = await importRun(['--format', 'ndjson', '--json'], input);
      expect(again.code, again.stderr).toBe(0);
      expect(importDoc(again.stdout).summary).toEqual({ imported: 40 - saved, updated: 0, unchanged: saved, failed: 0 });
      expect(calls(ITEM_GET)).toBe(gets + 40 - saved);
      expect(countMine()).toBe(40);
      expectNoToken(stdout + stderr + printed(again));
    });
  }
});

describe('balance --access-token-stdin: no store at all', () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let token: string;
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'plaidbal-oneshot-'));
    env = baseEnv({
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      PLAIDBAL_CONFIG_DIR: join(home, 'no-store-here'),
      PLAIDBAL_BASE_URL: world.emulator.url,
      PLAID_CLIENT_ID: TEST_CLIENT_ID,
      PLAID_SECRET: TEST_SECRET,
    });
    token = await mint('ins_109511');
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  const oneShot = (args: string[], stdin: string, extra: NodeJS.ProcessEnv = {}): Promise<CliResult> => runCli(['balance', '--access-token-stdin', ...args], { env: { ...env, ...extra }, stdin });

  it('Ctrl-C during the balance call waits for the answer (billed), prints it, and exits 130', async () => {
    const held = world.emulator.holdNext(BALANCE);
    const before = calls(BALANCE);
    const child = spawn(process.execPath, [BIN, 'balance', '--access-token-stdin', '--json'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdin!.end(`${token}\n`);
    await signalWhileHeld(held, { child, closed, stderr: () => stderr }, 'Ctrl-C: no new calls');
    const code = await within(closed, 'plaidbal to end', () => stderr);
    expect(code, stderr).toBe(130);
    // Sandbox: free, so the message does not say that Plaid bills it.
    expect(stderr).toContain('waiting for the real-time balance call already sent. Ctrl-C again cancels them.');
    expect(stderr).toContain('Interrupted, after the item had been answered (on stdout).');
    expect(JSON.parse(stdout).items[0].accounts.length).toBeGreaterThan(0);
    expect(stdout + stderr).not.toContain(token);
    expect(calls(BALANCE)).toBe(before + 1);
  });

  it('every output format; the item named by its item_id; nothing created anywhere', async () => {
    const itemId = world.emulator.items().find((i) => i.access_token === token)!.item_id;
    const balances = calls(BALANCE);
    const json = await oneShot(['--json'], `${token}\n`);
    expect(json.code, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(validateBalance(doc), JSON.stringify(validateBalance.errors)).toBe(true);
    expect(doc).toMatchObject({ environment: 'sandbox', items: [{ item_id: itemId, name: itemId, institution_id: 'ins_109511', institution_name: 'Tartan Bank', balance_source: 'realtime', error: null }] });
    expect(doc.items[0].accounts.length).toBeGreaterThan(0);
    const ndjsonOut = await oneShot(['--format', 'ndjson'], token);
    expect(ndjsonOut.code, ndjsonOut.stderr).toBe(0);
    expect(JSON.parse(ndjsonOut.stdout.split('\n')[0]!)).toMatchObject({ item_id: itemId, item_name: itemId, institution_name: 'Tartan Bank' });
    const csv = await oneShot(['--format', 'csv', '--cached'], token);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout.split('\r\n')[1]).toContain(`${itemId},${itemId},ins_109511,Tartan Bank`);
    const table = await oneShot([], token);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('Tartan Bank');
    expect(table.stdout).toContain('Totals');
    // Real-time for json, ndjson and the table; --cached is the free /accounts/get.
    expect(calls(BALANCE)).toBe(balances + 3);
    expect(existsSync(join(home, 'no-store-here'))).toBe(false);
    // Not even opened: a store that every other command refuses (not JSON) does not matter here.
    const broken = mkdtempSync(join(tmpdir(), 'plaidbal-oneshot-broken-'));
    writeFileSync(join(broken, 'store.json'), 'not json', { mode: 0o600 });
    const despite = await oneShot(['--json'], token, { PLAIDBAL_CONFIG_DIR: broken });
    expect(despite.code, despite.stderr).toBe(0);
    expect(readdirSync(broken)).toEqual(['store.json']);
    expect(readFileSync(join(broken, 'store.json'), 'utf8')).toBe('not json');
    rmSync(broken, { recursive: true, force: true });
    expect(readdirSync(home)).toEqual([]);
    for (const r of [json, ndjsonOut, csv, table]) expectNoToken(printed(r));
  });

  it('bad tokens, flags and credentials: the documented exit codes, no billed call, nothing created', async () => {
    const balances = calls(BALANCE);
    const unknown = await oneShot(['--json'], 'access-sandbox-00000000-0000-4000-8000-0000000000aa');
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('INVALID_ACCESS_TOKEN');
    expect(unknown.stderr).toContain('Plaid does not know this token');
    expect(unknown.stderr).not.toContain('plaidbal items remove');
    expect(unknown.stdout).toBe('');
    const cases: [string[], string, NodeJS.ProcessEnv, number, string][] = [
      [[], 'public-sandbox-abc', {}, 2, 'a public token, not an access token'],
      [[], '', {}, 2, 'No access token on stdin'],
      [[], `${token}\n${token}\n`, {}, 2, 'more than one word or line'],
      [['--item', 'demo'], token, {}, 2, 'cannot be combined with --item or --all'],
      [['--all'], token, {}, 2, 'cannot be combined with --item or --all'],
      [['--env', 'production'], token, {}, 2, 'a sandbox token, but --env is production'],
      [[], token, { PLAID_ENV: 'production' }, 3, 'PLAID_CLIENT_ID and PLAID_SECRET are for production'],
      [[], token, { PLAID_SECRET: '' }, 3, 'No PLAID_SECRET in the environment for sandbox'],
      [[], token, { PLAID_SECRET: 'wrong_oneshot_secret' }, 3, 'INVALID_API_KEYS'],
    ];
    for (const [args, stdin, extra, code, text] of cases) {
      const r = await oneShot(args, stdin, extra);
      expect(r.code, `${args.join(' ')} ${JSON.stringify(extra)}\n${r.stderr}`).toBe(code);
      expect(r.stderr).toContain(text);
      expect(r.stdout).toBe('');
      expectNoToken(printed(r));
      expect(printed(r)).not.toContain('wrong_oneshot_secret');
    }
    expect(calls(BALANCE), 'no billed call for a refused token').toBe(balances);
    expect(readdirSync(home)).toEqual([]);
  });

  it("Plaid's errors about the item get hints for a token in no store: no command naming a stored item", async () => {
    const run = (args: string[]) => runInProcess(['balance', '--access-token-stdin', ...args], { env, stdin: token });
    const cases: [Record<string, unknown>, string[], number, string, RegExp][] = [
      [{ status: 400, error_type: 'INVALID_INPUT', error_code: 'INVALID_ACCOUNT_ID' }, ['--account', 'X1'], 2, 'without --account (`plaidbal balance --access-token-stdin --json`)', /--item/],
      [{ status: 400, error_type: 'ITEM_ERROR', error_code: 'PRODUCTS_NOT_SUPPORTED' }, [], 4, 'update mode will not change that', /link --update|items remove/],
      [{ status: 400, error_type: 'ITEM_ERROR', error_code: 'ITEM_LOGIN_REQUIRED' }, [], 4, "Link's update mode fixes ITEM_LOGIN_REQUIRED", /items remove/],
    ];
    for (const [fault, args, code, hint, never] of cases) {
      world.emulator.inject({ path: BALANCE, ...fault, times: 1 } as Parameters<typeof world.emulator.inject>[0]);
      const r = await run(args);
      expect(r.code, `${String(fault.error_code)}: ${r.stderr}`).toBe(code);
      expect(r.stderr).toContain(String(fault.error_code));
      expect(r.stderr).toContain(hint);
      expect(r.stderr).not.toContain('this item`');
      expect(r.stderr).not.toMatch(never);
      expectNoToken(printed(r));
    }
  });
});
