/**
 * `plaidbal doctor` in process: its pure judgements (engines ranges, modes, the lock, clock
 * skew, Sandbox item age, the exit code), its report, and runDoctor(ctx) with a test context
 * against the in-process emulator for what a spawned CLI cannot easily stage (an old Node, a
 * missing keychain entry, plain HTTP to another host, a TLS failure, a prompt on a terminal).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chalk } from 'chalk';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  clockSkew,
  exitCodeOf,
  expiredSandboxItems,
  fail,
  lockState,
  modeProblem,
  ok,
  satisfiesRange,
  shellQuote,
  skewStatus,
  warn,
  type Check,
} from '../../src/commands/doctor/checks.js';
import { doctorJson, doctorReport, type DoctorDocument } from '../../src/commands/doctor/format.js';
import { runDoctor, type DoctorDeps } from '../../src/commands/doctor/run.js';
import type { Ctx } from '../../src/context.js';
import type { Prompter } from '../../src/prompt.js';
import { memoryKeychain, type Keychain } from '../../src/store/keychain.js';
import { aad } from '../../src/store/seal.js';
import { Store } from '../../src/store/store.js';
import { startEmulator, TEST_CLIENT_ID, TEST_SECRET, type Emulator } from '../emulator/index.js';
import { testContext } from '../helpers/in-process.js';

describe('satisfiesRange (package.json engines)', () => {
  it.each([
    ['20.17.0', '>=20.17', true],
    ['20.16.9', '>=20.17', false],
    ['22.1.0', '>=20.17', true],
    ['18.20.4', '>=20.17', false],
    ['20.17.0', '^20.17.0 || >=22', true],
    ['21.0.0', '^20.17.0 || >=22', false],
    ['22.0.0', '^20.17.0 || >=22', true],
    ['22.5.0', '>=18 <23', true],
    ['23.0.0', '>=18 <23', false],
    ['20.18.0', '~20.17', false],
    ['20.17.5', '~20.17', true],
    ['20.99.0', '20.x', true],
    ['21.0.0', '20.x', false],
    ['20.0.0', '>20', false],
    ['21.0.0', '>20', true],
    ['20.9.0', '<=20', true],
    ['21.0.0', '<=20', false],
    ['20.17.0', '>= 20.17', true],
    ['24.0.0-nightly2025', '>=20.17', true],
  ])('%s against %s: %s', (version, range, expected) => {
    expect(satisfiesRange(version, range)).toBe(expected);
  });

  it('null for what it cannot read', () => {
    expect(satisfiesRange('20.17.0', '')).toBeNull();
    expect(satisfiesRange('20.17.0', 'lts/*')).toBeNull();
    expect(satisfiesRange('not a version', '>=20')).toBeNull();
  });
});

describe('modeProblem', () => {
  it('the file must be 0600-ish: no group or other access, owner read and write', () => {
    expect(modeProblem(0o100600, 'file')).toBeNull();
    expect(modeProblem(0o644, 'file')).toBe('its group and other users can read or change it');
    expect(modeProblem(0o640, 'file')).toBe('its group can read or change it');
    expect(modeProblem(0o604, 'file')).toBe('other users can read or change it');
    expect(modeProblem(0o400, 'file')).toBe('you cannot both read and write it');
  });

  it('the directory must be 0700', () => {
    expect(modeProblem(0o40700, 'directory')).toBeNull();
    expect(modeProblem(0o755, 'directory')).toBe('its group and other users can list or change it');
    expect(modeProblem(0o500, 'directory')).toBe('you cannot read, write and enter it');
  });
});

describe('lockState', () => {
  const now = 1_000_000;
  it('none, held within 5 s of its last refresh, stale after, and a file is not a lock', () => {
    expect(lockState(null, now)).toEqual({ state: 'none', ageMs: null });
    expect(lockState({ isDirectory: true, mtimeMs: now - 5_000 }, now)).toEqual({ state: 'held', ageMs: 5_000 });
    expect(lockState({ isDirectory: true, mtimeMs: now - 5_001 }, now)).toEqual({ state: 'stale', ageMs: 5_001 });
    expect(lockState({ isDirectory: true, mtimeMs: now + 3_000 }, now)).toEqual({ state: 'held', ageMs: 0 });
    expect(lockState({ isDirectory: false, mtimeMs: now }, now)).toEqual({ state: 'not_a_directory', ageMs: null });
  });
});

describe('clockSkew', () => {
  const sent = Date.parse('2030-01-01T00:00:10.000Z');
  it('takes the middle of the round trip and of the Date second', () => {
    expect(clockSkew(sent, sent + 200, 'Tue, 01 Jan 2030 00:00:10 GMT')).toEqual({ skewMs: -400, uncertaintyMs: 600 });
    expect(clockSkew(sent, sent + 200, 'Tue, 01 Jan 2030 00:10:10 GMT')).toEqual({ skewMs: -600_400, uncertaintyMs: 600 });
    expect(clockSkew(sent, sent, 'garbage')).toBeNull();
  });

  it('ok within a minute, a warning past it, a failure past 5 minutes, judged on what the skew is at least', () => {
    expect(skewStatus({ skewMs: 60_500, uncertaintyMs: 600 })).toBe('ok');
    expect(skewStatus({ skewMs: -61_000, uncertaintyMs: 600 })).toBe('warn');
    expect(skewStatus({ skewMs: 300_500, uncertaintyMs: 600 })).toBe('warn');
    expect(skewStatus({ skewMs: 301_000, uncertaintyMs: 600 })).toBe('fail');
  });
});

describe('expiredSandboxItems', () => {
  it('Sandbox items linked more than 30 days ago, oldest first; Production items never', () => {
    const now = new Date('2030-03-01T00:00:00Z');
    const ago = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();
    const items = [
      { alias: 'thirty', environment: 'sandbox' as const, linked_at: ago(30) },
      { alias: 'old', environment: 'sandbox' as const, linked_at: ago(31) },
      { alias: 'older', environment: 'sandbox' as const, linked_at: ago(90) },
      { alias: 'prod', environment: 'production' as const, linked_at: ago(400) },
      { alias: 'garbled', environment: 'sandbox' as const, linked_at: 'yesterday' },
    ];
    expect(expiredSandboxItems(items, now).map(({ item, ageDays }) => [item.alias, ageDays])).toEqual([
      ['older', 90],
      ['old', 31],
    ]);
  });
});

describe('exitCodeOf', () => {
  const base = { id: 'node' as const, title: 'x' };
  it('0 without failures (warnings allowed); 3 outranks 5', () => {
    expect(exitCodeOf([ok(base, 'a'), warn(base, 'b', 'c')])).toBe(0);
    expect(exitCodeOf([fail(base, 'a', null, 5)])).toBe(5);
    expect(exitCodeOf([fail(base, 'a', null, 5), fail(base, 'b', null, 3)])).toBe(3);
  });
});

describe('shellQuote', () => {
  it('leaves plain paths alone and single-quotes the rest', () => {
    expect(shellQuote('/home/a/.config/plaidbal/store.json')).toBe('/home/a/.config/plaidbal/store.json');
    expect(shellQuote("/tmp/it's here")).toBe(`'/tmp/it'\\''s here'`);
  });
});

describe('the report', () => {
  const checks: Check[] = [
    ok({ id: 'node', title: 'Node.js' }, 'v20.17.0'),
    warn({ id: 'store.lock', title: 'Store lock' }, 'stale', 'rmdir x'),
    fail({ id: 'credentials', title: 'Credentials (sandbox)', environment: 'sandbox' }, 'refused\u001b[2J', 'run config init', 3),
  ];
  const doc: DoctorDocument = { plaidbal_version: '1.2.3', checked_at: '2030-01-01T00:00:00.000Z', ok: false, exit_code: 3, checks };

  it('one line per check with its symbol and the fix under it; control characters escaped; a summary', () => {
    expect(doctorReport(doc, new Chalk({ level: 0 }))).toBe(
      [
        'plaidbal doctor 1.2.3',
        '',
        '✓ Node.js                v20.17.0',
        '! Store lock             stale',
        '                         Fix: rmdir x',
        '✗ Credentials (sandbox)  refused\\u001b[2J',
        '                         Fix: run config init',
        '',
        '1 problem: Credentials (sandbox); 1 warning. Exit code 3.',
        '',
      ].join('\n'),
    );
  });

  it('colour only when the chalk has it', () => {
    expect(doctorReport(doc, new Chalk({ level: 1 }))).toContain('\u001b[32m✓');
  });

  it('the JSON document has the documented key order', () => {
    const parsed = JSON.parse(doctorJson({ ...doc, checks: [{ ...checks[2]!, details: { b: 1 } }] }));
    expect(Object.keys(parsed)).toEqual(['plaidbal_version', 'checked_at', 'ok', 'exit_code', 'checks']);
    expect(Object.keys(parsed.checks[0])).toEqual(['id', 'environment', 'title', 'status', 'found', 'fix', 'exit_code', 'details']);
    expect(parsed.checks[0].found).toBe('refused\u001b[2J');
  });
});

// ---------------------------------------------------------------------------------------------
// runDoctor with a test context

let plaid: Emulator;
let dir: string;
beforeEach(async () => {
  plaid = await startEmulator();
  dir = await mkdtemp(join(tmpdir(), 'plaidbal-doctor-'));
});
afterEach(async () => {
  await plaid.close();
  await rm(dir, { recursive: true, force: true });
});

/** plaidbal's own context (testContext) on this file's store directory and emulator, with its stdout as `output()`. */
function testCtx(env: NodeJS.ProcessEnv, keychain: Keychain = memoryKeychain(), opts: { terminal?: boolean; prompt?: Partial<Prompter> } = {}): Ctx & { output(): string } {
  const ctx = testContext({ emulator: plaid, configDir: dir, env, keychain, ...(opts.terminal ? { tty: { stdin: true, stderr: true } } : {}), ...(opts.prompt ? { prompt: opts.prompt } : {}) });
  return Object.assign(ctx, { output: ctx.stdout });
}

const deps = (over: Partial<DoctorDeps> = {}): DoctorDeps => ({ keychain: memoryKeychain(), nodeVersion: process.versions.node, engines: '>=20.17', platform: 'linux', uid: process.getuid!(), ...over });

/** A store with sandbox credentials, keyed by `keychain`, written the way plaidbal writes one. */
async function keychainStore(keychain: Keychain): Promise<void> {
  const store = Store.open({ env: { PLAIDBAL_CONFIG_DIR: dir }, keyDeps: { keychain, passphrase: async () => 'unused', notice: () => {}, now: () => new Date() } });
  const sealer = await store.sealerForWriting('keychain');
  await store.update((doc) => {
    doc.profiles.sandbox = { client_id: TEST_CLIENT_ID, secret: sealer.seal(TEST_SECRET, aad.secret('sandbox')), client_name: 'plaidbal', country_codes: ['US'], language: 'en' };
  });
}

async function doctorDoc(ctx: Ctx & { output(): string }, d: DoctorDeps): Promise<{ code: number; doc: DoctorDocument; check: (id: string) => Check }> {
  const code = await runDoctor(ctx, { json: true }, d);
  const doc = JSON.parse(ctx.output()) as DoctorDocument;
  return { code, doc, check: (id) => doc.checks.find((c) => c.id === id)! };
}

describe('runDoctor', () => {
  it('with env credentials and no store: exit 0, one /institutions/get, nothing written', async () => {
    const { code, check } = await doctorDoc(testCtx({ PLAID_CLIENT_ID: TEST_CLIENT_ID, PLAID_SECRET: TEST_SECRET }), deps());
    expect(code).toBe(0);
    expect(check('credentials')).toMatchObject({ status: 'ok', details: { client_id_source: 'PLAID_CLIENT_ID', secret_source: 'PLAID_SECRET' } });
    expect(plaid.requests.map((r) => r.path)).toEqual(['/institutions/get']);
    await expect(readFile(join(dir, 'store.json'))).rejects.toThrow();
  });

  it('a Node outside engines fails (exit 3) and names the range', async () => {
    const { code, check } = await doctorDoc(testCtx({ PLAID_CLIENT_ID: TEST_CLIENT_ID, PLAID_SECRET: TEST_SECRET }), deps({ nodeVersion: '18.20.0' }));
    expect(code).toBe(3);
    expect(check('node')).toMatchObject({ status: 'fail', found: 'v18.20.0 does not satisfy >=20.17 (package.json engines)', exit_code: 3 });
  });

  it('the keychain: its entry present and opening; missing (exit 3, naming a new store); no keychain at all', async () => {
    const keychain = memoryKeychain();
    await keychainStore(keychain);
    const good = await doctorDoc(testCtx({}, keychain), deps({ keychain }));
    expect(good.code).toBe(0);
    expect(good.check('key.keychain')).toMatchObject({ status: 'ok', details: { entry: 'present' } });
    expect(good.check('credentials')).toMatchObject({ status: 'ok', details: { secret_source: 'store (sealed)' } });

    const lost = await doctorDoc(testCtx({}, memoryKeychain()), deps({ keychain: memoryKeychain() }));
    expect(lost.code).toBe(3);
    expect(lost.check('key.keychain')).toMatchObject({ status: 'fail', details: { entry: 'missing' } });
    expect(lost.check('key.keychain').found).toContain('The OS keychain has no plaidbal key for the store');
    expect(lost.check('credentials').status).toBe('skipped');
    expect(lost.check('credentials').found).toContain('the store key did not open');

    const none: Keychain = { ...keychain, probe: async () => ({ available: false, reason: 'no bus' }), get: async () => Promise.reject(new Error('no bus')) };
    const absent = await doctorDoc(testCtx({}, none), deps({ keychain: none }));
    expect(absent.code).toBe(3);
    expect(absent.check('key.keychain')).toMatchObject({ status: 'fail', details: { available: false, reason: 'no bus' } });
  });

  it('a passphrase store: asked for once on a terminal, never without one', async () => {
    const passphrase = 'typed at the terminal, 8+';
    const store = Store.open({ env: { PLAIDBAL_CONFIG_DIR: dir }, keyDeps: { keychain: memoryKeychain(), passphrase: async () => passphrase, notice: () => {}, now: () => new Date() } });
    const sealer = await store.sealerForWriting('passphrase');
    await store.update((doc) => {
      doc.profiles.sandbox = { client_id: TEST_CLIENT_ID, secret: sealer.seal(TEST_SECRET, aad.secret('sandbox')), client_name: 'plaidbal', country_codes: ['US'], language: 'en' };
    });
    const asked: string[] = [];
    const withPrompt = (terminal: boolean) => testCtx({}, memoryKeychain(), { terminal, prompt: { password: async (message: string) => (asked.push(message), passphrase) } });
    const terminal = await doctorDoc(withPrompt(true), deps());
    expect(asked).toEqual([`Passphrase to unlock the store at ${join(dir, 'store.json')}:`]);
    expect(terminal.check('key.passphrase')).toMatchObject({ status: 'ok', found: 'the passphrase typed opens the store' });
    expect(terminal.check('credentials').status).toBe('ok');
    expect(terminal.code).toBe(0);

    const script = await doctorDoc(withPrompt(false), deps());
    expect(asked).toHaveLength(1);
    expect(script.check('key.passphrase').status).toBe('fail');
    expect(script.code).toBe(3);
  });

  it('plain HTTP to another host fails as configuration: the secret would cross the network', async () => {
    const { code, check } = await doctorDoc(testCtx({ PLAIDBAL_BASE_URL: 'http://plaid.invalid', PLAID_CLIENT_ID: TEST_CLIENT_ID, PLAID_SECRET: TEST_SECRET }), deps());
    expect(check('tls')).toMatchObject({ status: 'fail', exit_code: 3 });
    expect(check('tls').found).toContain('not TLS: http://plaid.invalid (PLAIDBAL_BASE_URL) is plain HTTP');
    expect(check('network')).toMatchObject({ status: 'fail', exit_code: 5 });
    expect(code).toBe(3);
  });

  it('a PLAID_ENV Plaid retired fails the environment check', async () => {
    const { code, check } = await doctorDoc(testCtx({ PLAID_ENV: 'development' }), deps());
    expect(code).toBe(3);
    expect(check('environment')).toMatchObject({ status: 'fail', found: 'Plaid retired the "development" environment (PLAID_ENV).' });
  });

  it('file modes do not apply on Windows, and a store owned by someone else fails', async () => {
    await keychainStore(memoryKeychain());
    const win = await doctorDoc(testCtx({}), deps({ platform: 'win32' }));
    expect(win.check('store.file').status).toBe('skipped');
    const other = await doctorDoc(testCtx({}), deps({ uid: 4242 }));
    expect(other.check('store.file')).toMatchObject({ status: 'fail', exit_code: 3 });
    expect(other.check('store.file').found).toContain('not to you (4242)');
  });
});

/** A self-signed certificate for 127.0.0.1 from openssl, when the machine has it. */
function selfSigned(into: string): { key: Buffer; cert: Buffer } | null {
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(into, 'key.pem'), '-out', join(into, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  return { key: readFileSync(join(into, 'key.pem')), cert: readFileSync(join(into, 'cert.pem')) };
}

describe('runDoctor over TLS', () => {
  const certDir = mkdtempSync(join(tmpdir(), 'plaidbal-doctor-tls-'));
  const pair = selfSigned(certDir);
  afterAll(() => rmSync(certDir, { recursive: true, force: true }));

  it.skipIf(!pair)('an untrusted certificate fails the TLS check (exit 5); trusted, the protocol is named', async () => {
    // A TLS front for the emulator: every request is passed on, so Plaid's answers come through.
    const server: Server = createHttpsServer({ key: pair!.key, cert: pair!.cert }, async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const upstream = await fetch(`${plaid.url}${req.url}`, { method: 'POST', headers: req.headers as Record<string, string>, body: Buffer.concat(chunks) });
      res.writeHead(upstream.status, { 'content-type': 'application/json', date: upstream.headers.get('date')! });
      res.end(await upstream.text());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
    const env = { PLAIDBAL_BASE_URL: url, PLAID_CLIENT_ID: TEST_CLIENT_ID, PLAID_SECRET: TEST_SECRET };
    try {
      const untrusted = await doctorDoc(testCtx(env), deps());
      expect(untrusted.check('tls')).toMatchObject({ status: 'fail', exit_code: 5 });
      expect(untrusted.check('tls').found).toMatch(/^the TLS connection to https:\/\/127\.0\.0\.1:\d+ failed \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\)$/);
      expect(untrusted.check('tls').fix).toContain('NODE_EXTRA_CA_CERTS');
      expect(untrusted.code).toBe(5);

      // Trusting it for this test only: Node reads NODE_EXTRA_CA_CERTS at start-up, so use the agent's CA instead.
      const https = await import('node:https');
      const agent = https.globalAgent as unknown as { options: { ca?: Buffer } };
      agent.options.ca = pair!.cert;
      try {
        const trusted = await doctorDoc(testCtx(env), deps());
        expect(trusted.check('tls')).toMatchObject({ status: 'ok', details: { tls: true, protocol: expect.stringMatching(/^TLSv1\.[23]$/) } });
        expect(trusted.check('credentials').status).toBe('ok');
        expect(trusted.code).toBe(0);
      } finally {
        delete agent.options.ca;
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
