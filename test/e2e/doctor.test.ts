/**
 * `plaidbal doctor`: plaidbal run in process (test/helpers/in-process.ts) against the emulator, one world per test. Every run checks
 * what doctor promises whatever it finds: the store directory is exactly as it was (store.json's
 * bytes and mtime, no file added or removed, the lock included), only the free /institutions/get
 * was called, and no secret, passphrase or access token was printed.
 */
import { chmod, mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { serializeDocument, type StoreDocument } from '../../src/store/document.js';
import { createWorld, PASSPHRASE, printed, TEST_CLIENT_ID, TEST_SECRET, type World } from '../helpers/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function linkedWorld(options: Parameters<typeof createWorld>[0] = {}, keySource: 'passphrase' | 'keychain' = 'passphrase'): Promise<World> {
  world = await createWorld(options, {}, { inProcess: true });
  expect((await world.init(keySource)).code).toBe(0);
  await world.link('demo');
  return world;
}

interface DirState {
  entries: { name: string; kind: string; mode: number; mtimeMs: number; size: number }[];
  storeBytes: Buffer | null;
}

/** Everything in the store directory (recursively): names, kinds, modes, mtimes; and store.json's bytes. */
async function dirState(dir: string): Promise<DirState | null> {
  const entries: DirState['entries'] = [];
  const walk = async (d: string, prefix: string) => {
    for (const name of (await readdir(d)).sort()) {
      const s = await stat(join(d, name));
      entries.push({ name: `${prefix}${name}`, kind: s.isDirectory() ? 'dir' : 'file', mode: s.mode, mtimeMs: s.mtimeMs, size: s.size });
      if (s.isDirectory()) await walk(join(d, name), `${prefix}${name}/`);
    }
  };
  try {
    await walk(dir, '');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const storeBytes = await readFile(join(dir, 'store.json')).catch(() => null);
  return { entries, storeBytes };
}

interface DoctorRun extends CliResult {
  paths: string[];
}

/** Runs doctor in `w` (or with `env` alone) and asserts the invariants of every doctor run. */
async function doctor(w: World, args: string[] = [], extraEnv: NodeJS.ProcessEnv = {}): Promise<DoctorRun> {
  const dir = w.store.dir;
  const before = await dirState(dir);
  const seen = w.emulator.requests.length;
  const result = await w.run(['doctor', ...args], { extraEnv });
  expect(await dirState(dir), 'the store directory is untouched').toEqual(before);
  const paths = w.emulator.requests.slice(seen).map((q) => q.path);
  for (const path of paths) expect(path, 'only the free /institutions/get').toBe('/institutions/get');
  const tokens = w.emulator.items().map((i) => i.access_token);
  for (const secret of [TEST_SECRET, PASSPHRASE, ...tokens, ...Object.values(extraEnv).filter((v): v is string => typeof v === 'string' && /secret|passphrase/i.test(v))]) {
    expect(printed(result)).not.toContain(secret);
  }
  return { ...result, paths };
}

interface JsonCheck {
  id: string;
  environment: string | null;
  title: string;
  status: 'ok' | 'warn' | 'fail' | 'skipped';
  found: string;
  fix: string | null;
  exit_code: number | null;
  details: Record<string, unknown>;
}
interface JsonDoc {
  plaidbal_version: string;
  checked_at: string;
  ok: boolean;
  exit_code: number;
  checks: JsonCheck[];
}

async function doctorJson(w: World, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ run: DoctorRun; doc: JsonDoc; check: (id: string, environment?: string | null) => JsonCheck }> {
  const run = await doctor(w, ['--json'], extraEnv);
  const doc = JSON.parse(run.stdout) as JsonDoc;
  const check = (id: string, environment: string | null = null) => {
    const found = doc.checks.find((c) => c.id === id && (environment === null || c.environment === environment));
    expect(found, `check ${id} ${environment ?? ''}`).toBeDefined();
    return found!;
  };
  return { run, doc, check };
}

/** The status of each check, as `id[@environment]: status`. */
const statuses = (doc: JsonDoc) => Object.fromEntries(doc.checks.map((c) => [c.environment ? `${c.id}@${c.environment}` : c.id, c.status]));

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function editStore(w: World, change: (doc: { items: { linked_at: string; access_token: string }[] }) => void): Promise<void> {
  const doc = JSON.parse(await readFile(w.store.file, 'utf8'));
  change(doc);
  await writeFile(w.store.file, JSON.stringify(doc, null, '\t'), { mode: 0o600 });
}

describe('all good', () => {
  it('exits 0: every check ok (plain HTTP to the emulator is a warning, the keychain unused), one /institutions/get with the credentials', async () => {
    const w = await linkedWorld();
    const r = await doctor(w);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.paths).toEqual(['/institutions/get']);
    const call = w.emulator.requests.at(-1)!;
    expect(call.body).toEqual({ count: 1, offset: 0, country_codes: ['US'] });
    expect(call.headers['plaid-client-id']).toBe(TEST_CLIENT_ID);
    expect(call.status).toBe(200);
    expect(r.stdout).toMatch(/^✓ Credentials \(sandbox\) +client_id test_client_id \(store\), secret from store \(sealed\): Plaid accepts them$/m);
    expect(r.stdout).toMatch(/^✓ Plaid host \(sandbox\) +http:\/\/127\.0\.0\.1:\d+ answered in \d+ ms$/m);
    expect(r.stdout).toMatch(/^! TLS \(sandbox\) +not TLS: http:\/\/127\.0\.0\.1:\d+ \(PLAIDBAL_BASE_URL\)/m);
    expect(r.stdout).toMatch(/^✓ Clock +within \d+ s of Plaid's/m);
    expect(r.stdout).toMatch(/^✓ Items \(sandbox\) +1 linked: demo; every access token opens$/m);
    expect(r.stdout).toMatch(/^✓ Passphrase +PLAIDBAL_PASSPHRASE opens the store$/m);
    expect(r.stdout).toMatch(/^✓ Store file +.*store\.json, mode 0600$/m);
    expect(r.stdout).toMatch(/^✓ Store directory +.*, mode 0700$/m);
    expect(r.stdout).not.toContain('✗');
    expect(r.stdout).toMatch(/No problems found \(1 warning\)\.\n$/);
  });

  it('with the keychain: its entry for this store is there and opens it', async () => {
    const w = await linkedWorld({}, 'keychain');
    const { run, doc, check } = await doctorJson(w, { PLAIDBAL_PASSPHRASE: '' });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(check('key.keychain')).toMatchObject({ status: 'ok', details: { available: true, key_source: 'keychain', entry: 'present' } });
    expect(check('key.passphrase')).toMatchObject({ status: 'skipped', details: { set: false, needed: false } });
    expect(check('credentials', 'sandbox').status).toBe('ok');
    expect(doc.ok).toBe(true);
  });
});

describe('--json', () => {
  it('one document: fixed top-level and check keys, known ids and statuses, nothing on stderr', async () => {
    const w = await linkedWorld();
    const { run, doc, check } = await doctorJson(w);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(Object.keys(doc)).toEqual(['plaidbal_version', 'checked_at', 'ok', 'exit_code', 'checks']);
    expect(doc).toMatchObject({ ok: true, exit_code: 0 });
    expect(Date.parse(doc.checked_at)).not.toBeNaN();
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(doc.plaidbal_version).toBe(pkg.version);
    for (const c of doc.checks) {
      expect(Object.keys(c)).toEqual(['id', 'environment', 'title', 'status', 'found', 'fix', 'exit_code', 'details']);
      expect(['ok', 'warn', 'fail', 'skipped']).toContain(c.status);
      expect(c.exit_code).toBe(c.status === 'fail' ? expect.any(Number) : null);
    }
    expect(doc.checks.map((c) => (c.environment ? `${c.id}@${c.environment}` : c.id))).toEqual([
      'node', 'environment', 'store.directory', 'store.file', 'store.contents', 'store.lock', 'key.keychain', 'key.passphrase',
      'credentials@sandbox', 'network@sandbox', 'tls@sandbox', 'items@sandbox', 'items.sandbox_age@sandbox', 'clock@sandbox',
    ]);
    // The engines range comes from package.json, by way of the build.
    expect(check('node').details).toEqual({ version: process.versions.node, required: pkg.engines.node });
    expect(check('network', 'sandbox').details).toMatchObject({ host: w.emulator.url, reachable: true, http_status: 200, rtt_ms: expect.any(Number), error_code: null });
    expect(check('tls', 'sandbox').details).toEqual({ host: w.emulator.url, tls: false, protocol: null });
    expect(check('items', 'sandbox').details).toEqual({ count: 1, aliases: ['demo'], tokens_checked: true, unverified: [] });
    expect(check('clock').details).toMatchObject({ environment: 'sandbox', plaid_date: expect.stringMatching(/GMT$/), skew_ms: expect.any(Number) });
    expect(check('credentials', 'sandbox').details).toMatchObject({ client_id: TEST_CLIENT_ID, client_id_source: 'store', secret_source: 'store (sealed)', error_code: null });
  });
});

describe('credentials', () => {
  it('wrong ones: INVALID_API_KEYS, exit 3, the host still reported as reachable', async () => {
    const w = await linkedWorld();
    const wrong = `wrong_secret_${Date.now()}`;
    const r = await doctor(w, [], { PLAID_CLIENT_ID: TEST_CLIENT_ID, PLAID_SECRET: wrong });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^✗ Credentials \(sandbox\) +client_id test_client_id \(PLAID_CLIENT_ID\), secret from PLAID_SECRET: Plaid refuses them with INVALID_API_KEYS \(request_id [A-Za-z0-9]{15}\)$/m);
    expect(r.stdout).toContain('Fix: Check the sandbox client id and secret');
    expect(r.stdout).toMatch(/^✓ Plaid host \(sandbox\)/m);
    expect(r.stdout).toMatch(/1 problem: Credentials \(sandbox\); 1 warning\. Exit code 3\.\n$/);
    expect(printed(r)).not.toContain(wrong);
    const { doc, check } = await doctorJson(w, { PLAID_CLIENT_ID: TEST_CLIENT_ID, PLAID_SECRET: wrong });
    expect(check('credentials', 'sandbox')).toMatchObject({ status: 'fail', exit_code: 3, details: { error_code: 'INVALID_API_KEYS', secret_source: 'PLAID_SECRET' } });
    expect(doc).toMatchObject({ ok: false, exit_code: 3 });
  });

  it('no store and no credentials: exit 3 naming `config init`; the host is still probed (without credentials); the directory is not created', async () => {
    world = await createWorld({}, {}, { inProcess: true });
    const w = world;
    const dir = join(w.store.dir, 'not-yet');
    const r = await doctor({ ...w, store: { ...w.store, dir } } as World, ['--json'], { PLAIDBAL_CONFIG_DIR: dir, PLAIDBAL_PASSPHRASE: '' });
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout) as JsonDoc;
    expect(statuses(doc)).toEqual({
      node: 'ok', environment: 'ok', 'store.directory': 'warn', 'store.file': 'warn', 'store.contents': 'skipped', 'store.lock': 'ok',
      'key.keychain': expect.stringMatching(/^(ok|warn)$/), 'key.passphrase': 'skipped',
      'credentials@sandbox': 'fail', 'network@sandbox': 'ok', 'tls@sandbox': 'warn', 'items@sandbox': 'ok', 'items.sandbox_age@sandbox': 'ok', 'clock@sandbox': 'ok',
    });
    const credentials = doc.checks.find((c) => c.id === 'credentials')!;
    expect(credentials.found).toBe('No Plaid client id and secret for sandbox.');
    expect(credentials.fix).toContain('plaidbal config init --env sandbox');
    expect(r.paths).toEqual(['/institutions/get']);
    expect(w.emulator.requests.at(-1)!.headers['plaid-secret'] ?? '').toBe('');
    expect(await dirState(dir)).toBeNull();
  });

  it('a passphrase store without PLAIDBAL_PASSPHRASE and no terminal: the passphrase fails, the sealed secret is named as not checked; no prompt', async () => {
    const w = await linkedWorld();
    const { run, check } = await doctorJson(w, { PLAIDBAL_PASSPHRASE: '' });
    expect(run.code).toBe(3);
    expect(check('key.passphrase')).toMatchObject({ status: 'fail', exit_code: 3, details: { set: false, can_prompt: false, needed: true } });
    expect(check('key.passphrase').fix).toContain('Set PLAIDBAL_PASSPHRASE');
    // The client_id is in the clear: named, with where it comes from, though the secret is not opened.
    expect(check('credentials', 'sandbox')).toMatchObject({ status: 'skipped', details: { client_id: TEST_CLIENT_ID, client_id_source: 'store', secret_source: 'store (sealed)' } });
    expect(check('credentials', 'sandbox').found).toBe('not checked: the sandbox secret is sealed in the store, and PLAIDBAL_PASSPHRASE is not set and there is no terminal to ask for the passphrase');
    // The host is still checked, without credentials.
    expect(check('network', 'sandbox').status).toBe('ok');
    expect(check('items', 'sandbox').found).toContain('not checked');
    expect(run.stderr).toBe('');
  });

  it('a wrong passphrase: exit 3, says so', async () => {
    const w = await linkedWorld();
    const wrong = 'not the passphrase at all';
    const { run, check } = await doctorJson(w, { PLAIDBAL_PASSPHRASE: wrong });
    expect(run.code).toBe(3);
    expect(check('key.passphrase')).toMatchObject({ status: 'fail', found: 'Wrong passphrase: it does not open the store. Nothing was changed.' });
    expect(printed(run)).not.toContain(wrong);
  });
});

describe('network', () => {
  it('an unreachable host (a closed port): exit 5, ECONNREFUSED, TLS and clock not checked', async () => {
    const w = await linkedWorld();
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await doctor(w, [], { PLAIDBAL_BASE_URL: url });
    expect(r.code).toBe(5);
    expect(r.stdout).toMatch(new RegExp(`^✗ Plaid host \\(sandbox\\) +${url.replace(/[.:/]/g, '\\$&')} cannot be reached: connection refused \\(ECONNREFUSED\\)$`, 'm'));
    expect(r.stdout).toMatch(/^– Credentials \(sandbox\) +.*not checked, Plaid could not be asked/m);
    expect(r.stdout).toMatch(/^– Clock +not checked/m);
    expect(r.stdout).toMatch(/1 problem: Plaid host \(sandbox\); 1 warning\. Exit code 5\.\n$/);
  });

  it('a PLAIDBAL_BASE_URL with a user and password (a proxy): doctor shows it without them', async () => {
    const w = await linkedWorld();
    const url = `http://proxyuser:hunter2@127.0.0.1:${await closedPort()}`;
    const r = await doctor(w, [], { PLAIDBAL_BASE_URL: url });
    expect(r.code).toBe(5);
    expect(`${r.stdout}${r.stderr}`).not.toContain('hunter2');
    expect(r.stdout).toContain('PLAIDBAL_BASE_URL=http://***@127.0.0.1:');
    const json = await doctor(w, ['--json'], { PLAIDBAL_BASE_URL: url });
    expect(json.stdout).not.toContain('hunter2');
    expect(json.stdout).toContain('http://***@127.0.0.1:');
  });

  it('a PLAIDBAL_BASE_URL that is no http(s) URL: the report all the same, the Environment check failing (exit 3), no call made, the password not shown', async () => {
    const w = await linkedWorld();
    const calls = w.emulator.requests.length;
    // No scheme: the URL parser reads `alice:` as one.
    const { run, doc, check } = await doctorJson(w, { PLAIDBAL_BASE_URL: 'alice:s3cret@proxy.corp:3128' });
    expect(run.code, run.stderr).toBe(3);
    expect(doc.exit_code).toBe(3);
    expect(check('environment').status).toBe('fail');
    expect(check('environment').found).toContain('PLAIDBAL_BASE_URL is set, but not to an http or https URL');
    expect(check('network', 'sandbox').status).toBe('skipped');
    expect(check('tls', 'sandbox').status).toBe('skipped');
    // The checks that need no call still ran.
    expect(check('store.contents').status).toBe('ok');
    expect(`${run.stdout}${run.stderr}`).not.toContain('s3cret');
    expect(run.stdout).toContain('***@proxy.corp:3128');
    expect(w.emulator.requests.length).toBe(calls);
    const text = await doctor(w, [], { PLAIDBAL_BASE_URL: 'alice:s3cret@proxy.corp:3128' });
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/^✗ Environment +.*PLAIDBAL_BASE_URL is set, but not to an http or https URL/m);
    expect(`${text.stdout}${text.stderr}`).not.toContain('s3cret');
  });

  it('both kinds of failure: 3 (configuration) outranks 5 (network)', async () => {
    const w = await linkedWorld();
    const url = `http://127.0.0.1:${await closedPort()}`;
    const { run, check } = await doctorJson(w, { PLAIDBAL_BASE_URL: url, PLAIDBAL_PASSPHRASE: '' });
    expect(check('network', 'sandbox').exit_code).toBe(5);
    expect(check('key.passphrase').exit_code).toBe(3);
    expect(run.code).toBe(3);
  });

  it("Plaid's clock 10 minutes behind this machine's: the clock check fails (exit 3)", async () => {
    const w = await linkedWorld({ clock: () => Date.now() - 10 * 60_000 });
    const { run, check } = await doctorJson(w);
    expect(check('clock')).toMatchObject({ status: 'fail', exit_code: 3 });
    expect(check('clock').found).toMatch(/^this machine's clock is 10 min ahead of Plaid's/);
    expect(check('clock').details.skew_ms as number).toBeGreaterThan(9 * 60_000);
    expect(run.code).toBe(3);
  });

  it('a 5xx from Plaid: exit 5, credentials not checked', async () => {
    const w = await linkedWorld();
    w.emulator.inject({ path: '/institutions/get', status: 503, error_code: 'PLANNED_MAINTENANCE' });
    const { run, check } = await doctorJson(w);
    expect(run.code).toBe(5);
    expect(check('network', 'sandbox')).toMatchObject({ status: 'fail', details: { http_status: 503, error_code: 'PLANNED_MAINTENANCE' } });
    expect(check('credentials', 'sandbox').status).toBe('skipped');
  });
});

describe('the store', () => {
  it('corrupt (not JSON): exit 3, the store left as it is, the fix names moving it aside', async () => {
    const w = await linkedWorld();
    await writeFile(w.store.file, '{"version": 1, "items": [', { mode: 0o600 });
    const { run, check } = await doctorJson(w);
    expect(run.code).toBe(3);
    expect(check('store.contents')).toMatchObject({ status: 'fail', exit_code: 3, details: { readable: false } });
    expect(check('store.contents').found).toContain('it is not valid JSON');
    expect(check('store.contents').fix).toContain('.broken');
    expect(check('credentials', 'sandbox')).toMatchObject({ status: 'skipped' });
    expect(check('network', 'sandbox').status).toBe('ok');
  });

  it('valid JSON that is not a store (documentProblem): exit 3 with the problem', async () => {
    const w = await linkedWorld();
    await editStore(w, (doc) => {
      (doc as unknown as Record<string, unknown>).items = 'none';
    });
    const { run, check } = await doctorJson(w);
    expect(run.code).toBe(3);
    expect(check('store.contents').found).toContain('items is not a list');
  });

  it('sealed values with the key section gone (set to null): corrupt, exit 3; config init refuses to write a new key over it', async () => {
    const w = await linkedWorld();
    // Access tokens only (the secret from the environment, say), in the layout plaidbal writes:
    // one item per line, which a read of the header alone would not see.
    const doc = JSON.parse(await readFile(w.store.file, 'utf8')) as StoreDocument;
    doc.key = null;
    for (const profile of Object.values(doc.profiles)) profile!.secret = null;
    await writeFile(w.store.file, serializeDocument(doc), { mode: 0o600 });
    const before = await w.store.snapshot();
    const { run, check } = await doctorJson(w);
    expect(run.code).toBe(3);
    expect(check('store.contents').found).toContain('it holds sealed values (a Plaid secret or access tokens) but no key');
    // Written under a new key, the tokens sealed with the lost one could never be opened again.
    const init = await w.run(['config', 'init', '--env', 'production', '--client-id', TEST_CLIENT_ID, '--secret-stdin'], { stdin: TEST_SECRET });
    expect(init.code).toBe(3);
    expect(await w.store.snapshot()).toEqual(before);
  });

  it('wrong modes: file 0644 and directory 0755 fail (exit 3) with the chmod to run', async () => {
    const w = await linkedWorld();
    await chmod(w.store.file, 0o644);
    await chmod(w.store.dir, 0o755);
    const r = await doctor(w);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^✗ Store file +.*store\.json has mode 0644 \(expected 0600\): its group and other users can read or change it$/m);
    expect(r.stdout).toContain(`Fix: chmod 600 ${w.store.file}`);
    expect(r.stdout).toMatch(/^✗ Store directory +.* has mode 0755 \(expected 0700\): its group and other users can list or change it$/m);
    expect(r.stdout).toContain(`Fix: chmod 700 ${w.store.dir}`);
    // Fixed as told, doctor is content.
    await chmod(w.store.file, 0o600);
    await chmod(w.store.dir, 0o700);
    expect((await doctor(w)).code).toBe(0);
  });

  it('a stale lock (not refreshed for 10 minutes): a warning with the fix, exit 0; the lock is left where it is', async () => {
    const w = await linkedWorld();
    const lock = `${w.store.file}.lock`;
    await mkdir(lock);
    const tenMinutesAgo = new Date(Date.now() - 10 * 60_000);
    await utimes(lock, tenMinutesAgo, tenMinutesAgo);
    const r = await doctor(w);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^! Store lock +.*store\.json\.lock was last refreshed 1[01] min ago \(stale after 5 s\): a plaidbal that was writing the store was killed$/m);
    expect(r.stdout).toContain(`rmdir ${lock}`);
    expect((await stat(lock)).isDirectory()).toBe(true);
  });

  it('a lock refreshed just now is held by a running plaidbal: ok', async () => {
    const w = await linkedWorld();
    await mkdir(`${w.store.file}.lock`);
    const { check } = await doctorJson(w);
    expect(check('store.lock')).toMatchObject({ status: 'ok', details: { state: 'held' } });
  });

  it('a lock that is a file blocks every write: exit 3', async () => {
    const w = await linkedWorld();
    await writeFile(`${w.store.file}.lock`, '');
    const { run, check } = await doctorJson(w);
    expect(check('store.lock')).toMatchObject({ status: 'fail', exit_code: 3, details: { state: 'not_a_directory' } });
    expect(run.code).toBe(3);
  });

  it('a tampered access token: the items check fails (exit 3) and names the item', async () => {
    const w = await linkedWorld();
    await editStore(w, (doc) => {
      const sealed = doc.items[0]!.access_token;
      const flip = sealed.at(-2) === 'A' ? 'B' : 'A';
      doc.items[0]!.access_token = `${sealed.slice(0, -2)}${flip}${sealed.slice(-1)}`;
    });
    const { run, check } = await doctorJson(w);
    expect(run.code).toBe(3);
    expect(check('items', 'sandbox')).toMatchObject({ status: 'fail', details: { unverified: ['demo'] } });
  });
});

describe('items', () => {
  it('a Sandbox item linked 40 days ago: a warning naming it, with the fix; exit 0', async () => {
    const w = await linkedWorld();
    await w.link('fresh');
    await editStore(w, (doc) => {
      doc.items[0]!.linked_at = new Date(Date.now() - 40 * 86_400_000).toISOString();
    });
    const { run, check } = await doctorJson(w);
    expect(run.code).toBe(0);
    const age = check('items.sandbox_age', 'sandbox');
    expect(age).toMatchObject({ status: 'warn', exit_code: null });
    expect(age.found).toBe('"demo" (40 days) was linked over 30 days ago: Plaid expires Sandbox items then (ITEM_LOGIN_REQUIRED)');
    expect(age.fix).toContain('plaidbal link --update demo');
    expect(age.details.items).toEqual([expect.objectContaining({ name: 'demo', age_days: 40 })]);
    expect(check('items', 'sandbox').details).toMatchObject({ count: 2, aliases: ['demo', 'fresh'] });
  });
});

describe('help', () => {
  it('`plaidbal --help` lists doctor; `doctor --help` has examples and the exit codes', async () => {
    const help = await runCli(['--help']);
    expect(help.stdout).toMatch(/^ {2}doctor /m);
    const own = await runCli(['doctor', '--help']);
    expect(own.code).toBe(0);
    expect(own.stdout).toContain('Examples:');
    expect(own.stdout).toContain('$ plaidbal doctor --json');
    expect(own.stdout).toMatch(/Exit codes: 0 nothing failed,\s+3 configuration, credentials, store or clock \(before 5 when both failed\), 5 network\./);
  });
});
