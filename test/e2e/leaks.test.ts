/**
 * Secret hygiene: every command, on success and on failure, with and without --debug, with
 * both key sources, never lets an access token, a Plaid secret, a passphrase (old or new), a
 * public token or the keychain's store key reach stdout, stderr, the argv of anything it
 * starts, or any file other than store.json: the store directory (lock directories, temporary
 * files), TMPDIR and HOME (with XDG_*) are fresh for each run and read back afterwards.
 * --debug logs one line per Plaid call, with method, path, status, duration and request_id.
 *
 * Failures: bad Plaid keys (PLAID_SECRET=wrong), the network down (PLAIDBAL_BASE_URL at a
 * closed port), 5xx (500 forever), timeouts (a hung server with --timeout 0.5), and a store
 * key that does not open (wrong passphrase, lost keychain entry).
 *
 * Runs go through a --require'd spy that records the argv of every process plaidbal starts
 * (the keychain helper, a browser), so "argv never carries a secret" covers its children too.
 *
 * Where a command runs both with and without --debug in the same mode and with the same key
 * source, the --debug run is the spawned one and the run without --debug runs in this process
 * (test/helpers/in-process.ts). --debug only adds the [debug] lines (src/context.ts, the call
 * logger in src/plaid/client.ts): it changes neither the files a run writes nor the processes it
 * starts, so what only a real process shows (files in HOME and TMPDIR, the argv of children,
 * anything written past the command's streams) is read from the spawned run; what the command
 * prints without --debug is read from the run in process. Every command, mode and key source
 * has a spawned run (the first test checks), and the passphrase store's failures, which run
 * without --debug only, are spawned.
 */
import { spawn } from '../helpers/spawner.js';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callPlaid, startEmulator, TEST_CLIENT_ID, TEST_SECRET, type Emulator, type RecordedRequest } from '../emulator/index.js';
import { cheapenPassphraseStore } from '../helpers/cheap-kdf.js';
import { BIN, baseEnv, SUITE_KEYCHAIN_TIMEOUT_MS } from '../helpers/cli.js';
import { runInProcess } from '../helpers/in-process.js';

// ---------------------------------------------------------------------------------------------
// The secrets, each distinct and recognisable.

const tag = randomBytes(6).toString('hex');
const CUSTOM_SECRET = `leakcheck_secret_${tag}`;
const WRONG_SECRET = `wrong_plaid_secret_${tag}`;
const PASSPHRASE = `leak check passphrase ${tag}`;
const NEW_PASSPHRASE = `leak check new passphrase ${tag}`;
const WRONG_PASSPHRASE = `leak check wrong passphrase ${tag}`;

type KeySource = 'keychain' | 'passphrase';

/** A key source with the Plaid secret its emulator expects: the default one, and one configured here. */
const PROFILES: { keySource: KeySource; secret: string }[] = [
  { keySource: 'keychain', secret: TEST_SECRET },
  { keySource: 'passphrase', secret: CUSTOM_SECRET },
];

// ---------------------------------------------------------------------------------------------
// Running the CLI in a sealed-off environment

let root: string;
let spy: string;
const emulators: Emulator[] = [];
/** Every store key the keychain held at some point (read from the Secret Service). */
const keychainKeys = new Set<string>();

interface Run {
  args: string[];
  /** Spawned (the built CLI, with the spy), or run in this process. */
  where: 'spawned' | 'in process';
  keySource: KeySource;
  debug: boolean;
  mode: string;
  expected: number[];
  code: number | null;
  stdout: string;
  stderr: string;
  /** Files outside store.json after the run: store dir, TMPDIR, HOME (relative names). */
  files: { where: string; bytes: Buffer }[];
  /** store.json after the run. */
  store: Buffer | null;
  /** argv of every process plaidbal started. */
  spawned: string[][];
  /** The emulator's log of this run's calls, when it is known exactly (sequential runs). */
  requests: RecordedRequest[] | null;
}

const runs: Run[] = [];

let keychainQuietNow!: () => void;
const keychainQuiet = new Promise<void>((resolve) => (keychainQuietNow = resolve));
const keychainTurns = pLimit(1);

/** Writes the spy: it wraps child_process before the bundle loads, and logs each argv as a JSON line. */
const SPY_SOURCE = `'use strict';
const cp = require('node:child_process');
const fs = require('node:fs');
const log = process.env.LEAKCHECK_SPY_LOG;
for (const name of ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'fork']) {
  const original = cp[name];
  cp[name] = function (...args) {
    const argv = [];
    for (const a of args) if (typeof a === 'string') argv.push(a); else if (Array.isArray(a)) argv.push(...a.map(String));
    if (log) fs.appendFileSync(log, JSON.stringify(argv) + '\\n');
    return original.apply(this, args);
  };
}
require('node:module').syncBuiltinESMExports();
`;

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

interface RunOptions {
  args: string[];
  storeDir: string;
  emulator: Emulator;
  keySource: KeySource;
  debug: boolean;
  mode: string;
  expected: number[];
  env?: NodeJS.ProcessEnv;
  stdin?: string;
  /** The run is alone on its emulator: its requests can be told apart. */
  exclusive?: boolean;
  /** Leave --debug off whatever `debug` says (setup runs). */
  noDebugFlag?: boolean;
  /** In this process rather than spawned: a run without --debug whose --debug twin is spawned. */
  inProcess?: boolean;
}

async function run(opts: RunOptions): Promise<Run> {
  const dir = await mkdtemp(join(root, 'run-'));
  const home = join(dir, 'home');
  const tmp = join(dir, 'tmp');
  const runtime = join(dir, 'runtime');
  await Promise.all([mkdir(home), mkdir(tmp), mkdir(runtime, { mode: 0o700 })]);
  const spyLog = join(dir, 'spawned.jsonl');
  const debug = opts.debug && !opts.noDebugFlag;
  const args = [...opts.args, ...(debug ? ['--debug'] : [])];
  const env: NodeJS.ProcessEnv = {
    ...baseEnv(),
    PLAIDBAL_CONFIG_DIR: opts.storeDir,
    PLAIDBAL_BASE_URL: opts.emulator.url,
    PLAIDBAL_PASSPHRASE: PASSPHRASE,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    XDG_RUNTIME_DIR: runtime,
    TMPDIR: tmp,
    TMP: tmp,
    TEMP: tmp,
    LEAKCHECK_SPY_LOG: spyLog,
    ...opts.env,
  };
  const before = opts.emulator.requests.length;
  const finished = opts.inProcess ? runInProcess(args, { env, stdin: opts.stdin }) : new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', spy, BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? '');
  });
  const result = await finished;
  const files: Run['files'] = [];
  for (const [label, base] of [['HOME', home], ['TMPDIR', tmp], ['XDG_RUNTIME_DIR', runtime], ['store dir', opts.storeDir]] as const) {
    for (const path of await walk(base)) {
      if (label === 'store dir' && relative(base, path) === 'store.json') continue;
      files.push({ where: `${label}/${relative(base, path)}`, bytes: await readFile(path) });
    }
  }
  const storeFile = join(opts.storeDir, 'store.json');
  const store = await readFile(storeFile).catch(() => null);
  const children = (await readFile(spyLog, 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as string[]);
  await rm(dir, { recursive: true, force: true });
  const record: Run = {
    args,
    where: opts.inProcess ? 'in process' : 'spawned',
    keySource: opts.keySource,
    debug,
    mode: opts.mode,
    expected: opts.expected,
    ...result,
    files,
    store,
    spawned: children,
    requests: opts.exclusive ? opts.emulator.requests.slice(before) : null,
  };
  runs.push(record);
  return record;
}

/**
 * The keychain accounts this file's stores name (store.json's `key.account`). Other test files
 * running beside this one keep entries of their own under the same service, some with short
 * values ("first", "second") that ordinary output contains: those are not this file's secrets.
 */
async function ownKeychainAccounts(): Promise<Set<string>> {
  const accounts = new Set<string>();
  for (const path of await walk(root)) {
    if (!path.endsWith('/store.json')) continue;
    try {
      const account = (JSON.parse(await readFile(path, 'utf8')) as { key?: { account?: unknown } }).key?.account;
      if (typeof account === 'string') accounts.add(account);
    } catch {
      // a store being written, or a run's own file: not a store of this file's
    }
  }
  return accounts;
}

/** Reads the entries of this file's stores from the Secret Service (in a child: a hung bus cannot hang the test). */
async function collectKeychainKeys(): Promise<void> {
  const addon = createRequire(import.meta.url).resolve('@napi-rs/keyring');
  const script = `process.stdout.write(JSON.stringify(require(${JSON.stringify(addon)}).findCredentials('plaidbal').map((c) => [c.account, c.password])))`;
  const out = await new Promise<string>((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { env: process.env, stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), SUITE_KEYCHAIN_TIMEOUT_MS);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
  const own = await ownKeychainAccounts();
  try {
    for (const [account, key] of JSON.parse(out) as [string, string][]) if (key && own.has(account)) keychainKeys.add(key);
  } catch {
    // no Secret Service: the keychain runs fail on their own, loudly
  }
}

/** Every secret known now, by name. */
function secrets(): { name: string; value: string }[] {
  const list = [
    { name: 'TEST_SECRET', value: TEST_SECRET },
    { name: 'the custom Plaid secret', value: CUSTOM_SECRET },
    { name: 'the wrong PLAID_SECRET', value: WRONG_SECRET },
    { name: 'the passphrase', value: PASSPHRASE },
    { name: 'the new passphrase', value: NEW_PASSPHRASE },
    { name: 'the wrong passphrase', value: WRONG_PASSPHRASE },
  ];
  for (const emulator of emulators) {
    for (const item of emulator.items()) list.push({ name: `access token of ${item.item_id}`, value: item.access_token });
    for (const request of emulator.requests) {
      const token = (request.response as { public_token?: unknown } | undefined)?.public_token;
      if (typeof token === 'string') list.push({ name: 'a public token', value: token });
      const sent = (request.body as { public_token?: unknown } | undefined)?.public_token;
      if (typeof sent === 'string') list.push({ name: 'a public token', value: sent });
    }
  }
  for (const key of keychainKeys) list.push({ name: 'a keychain store key', value: key });
  return list;
}

/** Set once every run is over, when every token and key is known. */
let known: { name: string; value: string }[] = [];

function found(haystack: string | Buffer): string[] {
  const bytes = typeof haystack === 'string' ? Buffer.from(haystack) : haystack;
  return known
    .filter((s) => bytes.includes(s.value))
    .map((s) => s.name);
}

const describeRun = (r: Run) => `[${r.where}, ${r.keySource}${r.debug ? ', --debug' : ''}, ${r.mode}] plaidbal ${r.args.join(' ')} → exit ${r.code}\nstderr: ${r.stderr}\nstdout: ${r.stdout.slice(0, 800)}`;

// ---------------------------------------------------------------------------------------------
// The runs

/**
 * The passphrase store as `config init` leaves it, re-keyed cheap (test/helpers/cheap-kdf.ts): the
 * first set-up that needs one runs `config init` (scanned like any run) and the others copy what
 * it wrote, instead of each paying for two derivations at the real cost. Keychain stores are
 * never copied: each names a keychain entry of its own, which a rekey deletes.
 */
let passphraseStore: Promise<Buffer> | undefined;
async function setUpPassphraseStore(storeDir: string, make: () => Promise<void>): Promise<void> {
  if (passphraseStore === undefined) {
    // The first caller makes it in its own directory; later callers wait for it and copy it.
    passphraseStore = make().then(() => readFile(join(storeDir, 'store.json')));
    await passphraseStore;
    return;
  }
  await writeFile(join(storeDir, 'store.json'), await passphraseStore, { mode: 0o600 });
}

interface Step {
  args: string[];
  expected: number;
  stdin?: string;
  env?: NodeJS.ProcessEnv;
  /** Opens nothing sealed, or opens it exactly as a sibling step does: the keychain store covers it. */
  anyKey?: boolean;
  /** Preparation for the second half: run (and scanned) without --debug. */
  setup?: boolean;
}

/**
 * Every command in turn, succeeding (and a few expected failures along the way), in two halves
 * that run side by side, each alone on its own emulator so that its Plaid calls are known
 * exactly: the first creates the store and links; the second starts from a linked store
 * (set up by runs that are scanned too) and goes on to check, status, items, remove, rekey and
 * reset-login.
 */
async function successChain(profile: (typeof PROFILES)[number], debug: boolean, half: 1 | 2): Promise<void> {
  const emulator = await startEmulator({ secret: profile.secret, rateLimits: { perItem: 10_000, perClient: 10_000 } });
  emulators.push(emulator);
  const storeDir = await mkdtemp(join(root, `store-${profile.keySource}-`));
  let passphrase = PASSPHRASE;
  const step = async (s: Step) => {
    if (s.anyKey && profile.keySource === 'passphrase') return undefined;
    const r = await run({ args: s.args, storeDir, emulator, keySource: profile.keySource, debug, mode: s.setup ? 'setup' : 'success', expected: [s.expected], stdin: s.stdin, env: { PLAIDBAL_PASSPHRASE: passphrase, ...s.env }, exclusive: true, noDebugFlag: s.setup, inProcess: !debug });
    // The steps after a failed set-up would fail for want of it: say which one did.
    if (s.setup && r.code !== s.expected) throw new Error(`set-up failed: ${describeRun(r)}`);
    return r;
  };
  // The runs after `config init` are what is scanned; scrypt's cost is not (test/helpers/cheap-kdf.ts).
  const cheapen = async () => {
    if (profile.keySource === 'passphrase') await cheapenPassphraseStore(storeDir, passphrase);
  };
  const init = (setup = false) => step({ args: ['config', 'init', '--env', 'sandbox', '--client-id', TEST_CLIENT_ID, '--secret-stdin', '--key-source', profile.keySource], stdin: profile.secret, expected: 0, setup });

  if (half === 1) {
    // Before anything exists: no store, no credentials (exit 3); the host is probed without credentials.
    await step({ args: ['doctor'], expected: 3, anyKey: true });
    await init();
    await cheapen();
    if (profile.keySource === 'keychain') await collectKeychainKeys();
    for (const args of [['config', 'show'], ['config', 'show', '--json']]) await step({ args, expected: 0 });
    await step({ args: ['config', 'path'], expected: 0, anyKey: true });
    await step({ args: ['link', '--sandbox', '--name', 'demo'], expected: 0 });
    await step({ args: ['link', '--sandbox', '--name', 'other', '--institution', 'ins_109511', '--json'], expected: 0 });
    // Unseals the stored secret and every access token, and sends the secret to Plaid.
    for (const args of [['doctor'], ['doctor', '--json']]) await step({ args, expected: 0 });
    await step({ args: ['balance', '--item', 'demo'], expected: 0 });
    await step({ args: ['balance', '--item', 'demo', '--json'], expected: 0 });
    // Other formats open the store exactly as these two do.
    for (const more of [['--format', 'ndjson'], ['--format', 'csv'], ['--cached']]) await step({ args: ['balance', '--item', 'demo', ...more], expected: 0, anyKey: true });
    await step({ args: ['balance', '--all'], expected: 0, anyKey: true });
    // There is no flag that takes a secret.
    await step({ args: ['config', 'init', '--client-id', TEST_CLIENT_ID, '--secret', 'not-a-secret-but-would-be'], expected: 2 });
    return;
  }

  if (profile.keySource === 'passphrase') {
    await setUpPassphraseStore(storeDir, async () => {
      await init(true);
      await cheapen();
    });
  } else await init(true);
  await step({ args: ['link', '--sandbox', '--name', 'demo'], expected: 0, setup: true });
  await step({ args: ['link', '--sandbox', '--name', 'other', '--institution', 'ins_109511'], expected: 0, setup: true });
  if (profile.keySource === 'keychain') await collectKeychainKeys();
  const account = emulator.items()[0]!.accounts.find((a) => a.type === 'depository' && a.balances.available !== null)!.account_id;
  await step({ args: ['check', '--item', 'demo', '--account', account, '--amount', '1'], expected: 0 });
  await step({ args: ['check', '--item', 'demo', '--account', account, '--amount', '999999999', '--json'], expected: 7 });
  await step({ args: ['items', 'status', 'demo'], expected: 0 });
  // Tokens linked elsewhere (by "the application", straight at the emulator) come in on stdin only.
  const elsewhere = async () => {
    const headers = { 'PLAID-SECRET': profile.secret };
    const created = await callPlaid(emulator.url, '/sandbox/public_token/create', { institution_id: 'ins_109511', initial_products: ['auth'] }, { headers });
    return (await callPlaid(emulator.url, '/item/public_token/exchange', { public_token: created.body.public_token }, { headers })).body.access_token as string;
  };
  await step({ args: ['items', 'import', '--format', 'ndjson'], stdin: `${JSON.stringify({ access_token: await elsewhere(), name: 'imported' })}\n`, expected: 0 });
  await step({ args: ['balance', '--access-token-stdin', '--json'], stdin: await elsewhere(), env: { PLAID_CLIENT_ID: TEST_CLIENT_ID, PLAID_SECRET: profile.secret }, expected: 0, anyKey: true });
  // Listing and renaming never unlock the store.
  for (const args of [['items'], ['items', '--json'], ['items', 'rename', 'other', 'other2']]) await step({ args, expected: 0, anyKey: true });
  await step({ args: ['items', 'remove', profile.keySource === 'keychain' ? 'other2' : 'other', '--yes'], expected: 0 });
  const rest = async () => {
    await step({ args: ['config', 'rekey'], env: { PLAIDBAL_NEW_PASSPHRASE: NEW_PASSPHRASE }, expected: 0 });
    if (profile.keySource === 'passphrase') {
      passphrase = NEW_PASSPHRASE;
      // The rekey wrote the real cost; the runs after it are about other commands.
      await cheapen();
    } else await collectKeychainKeys();
    await step({ args: ['balance', '--item', 'demo', '--json'], expected: 0 });
    await step({ args: ['sandbox', 'reset-login', 'demo'], expected: 0 });
    // Failures that carry Plaid's error object to the output.
    await step({ args: ['balance', '--item', 'demo'], expected: 4 });
    await step({ args: ['items', 'status', 'demo'], expected: 4 });
  };
  if (profile.keySource === 'passphrase') return rest();
  // A keychain rekey deletes the old entry, and a plaidbal process listing the keychain at that
  // moment fails (the race test/fuzz/keychain-race.test.ts shows). Until that is fixed, the
  // keychain rekeys wait for the other keychain runs of this file, and take turns.
  await keychainQuiet;
  await keychainTurns(rest);
}

interface Failing {
  args: (account: string) => string[];
  /** Has --timeout, so a hung server can be waited out in 0.5 s. */
  timeout: boolean;
  /** Runs under the store-key failure too (commands that unlock the store). */
  unlocks: boolean;
  /**
   * A format whose failure output differs from --json's only in how Plaid's own error object is
   * laid out: run where there is one (bad keys, 5xx), not for network failures and timeouts.
   */
  plaidErrorOnly?: boolean;
}

const FAILING: Failing[] = [
  { args: () => ['link', '--sandbox', '--name', 'fresh'], timeout: true, unlocks: true },
  { args: () => ['balance', '--item', 'demo'], timeout: true, unlocks: true },
  { args: () => ['balance', '--item', 'demo', '--json'], timeout: true, unlocks: true },
  { args: () => ['balance', '--item', 'demo', '--format', 'ndjson'], timeout: true, unlocks: false, plaidErrorOnly: true },
  { args: () => ['balance', '--item', 'demo', '--format', 'csv'], timeout: true, unlocks: false, plaidErrorOnly: true },
  { args: () => ['balance', '--item', 'demo', '--cached'], timeout: true, unlocks: false },
  { args: () => ['balance', '--all'], timeout: true, unlocks: false },
  { args: () => ['items', 'remove', 'demo', '--yes'], timeout: false, unlocks: true },
  { args: () => ['sandbox', 'reset-login', 'demo'], timeout: false, unlocks: false },
  { args: (account: string) => ['check', '--item', 'demo', '--account', account, '--amount', '1'], timeout: true, unlocks: true },
  { args: () => ['items', 'status', 'demo'], timeout: false, unlocks: true },
  // doctor --json prints the same sentences as doctor: the success runs cover it.
  { args: () => ['doctor'], timeout: true, unlocks: true },
];

/** Commands that fail on the store key alone (they never reach Plaid). */
const KEY_FAILING: string[][] = [['config', 'rekey'], ['config', 'init', '--env', 'sandbox', '--client-id', TEST_CLIENT_ID, '--secret-stdin']];

const PLAID_PATHS = ['/sandbox/public_token/create', '/item/public_token/exchange', '/institutions/get', '/institutions/get_by_id', '/accounts/get', '/accounts/balance/get', '/item/remove', '/sandbox/item/reset_login', '/item/get'];

type Mode = 'bad keys' | 'network down' | '5xx' | 'timeout' | 'store key';

/**
 * Each failure mode, on its own store copy per run. Every command meets every mode with and
 * without --debug. The key source matters where the store is opened: bad Plaid keys and a store
 * key that does not open run with both (the keychain runs with --debug, the passphrase runs
 * without); the network, 5xx and timeout failures happen after the store is open, so they run
 * with the keychain store, both with and without --debug (PLAIDBAL_PASSPHRASE is set in every
 * run all the same, so the passphrase is looked for everywhere).
 */
async function failureRuns(profile: (typeof PROFILES)[number], plan: { mode: Mode; debug: boolean[] }[], limit: ReturnType<typeof pLimit>): Promise<void> {
  const emulator = await startEmulator({ secret: profile.secret, rateLimits: { perItem: 10_000, perClient: 10_000 } });
  emulators.push(emulator);
  // One linked store to copy for each run.
  const baseline = await mkdtemp(join(root, `baseline-${profile.keySource}-`));
  const setup = (args: string[], stdin?: string) => run({ args, storeDir: baseline, emulator, keySource: profile.keySource, debug: false, mode: 'setup', expected: [0], stdin });
  const init = () => setup(['config', 'init', '--env', 'sandbox', '--client-id', TEST_CLIENT_ID, '--secret-stdin', '--key-source', profile.keySource], profile.secret);
  if (profile.keySource === 'passphrase') {
    await setUpPassphraseStore(baseline, async () => {
      await init();
      await cheapenPassphraseStore(baseline, PASSPHRASE);
    });
  } else await init();
  await setup(['link', '--sandbox', '--name', 'demo']);
  await setup(['link', '--sandbox', '--name', 'other', '--institution', 'ins_109511']);
  if (profile.keySource === 'keychain') await collectKeychainKeys();
  const storeBytes = await readFile(join(baseline, 'store.json'));
  const account = emulator.items()[0]!.accounts[0]!.account_id;

  // Faults are per emulator, so the modes take turns; the runs of one mode go in parallel.
  for (const { mode, debug: debugs } of plan) {
    let env: NodeJS.ProcessEnv = {};
    let bytes = storeBytes;
    let commands = FAILING.filter((f) => (mode === 'timeout' ? f.timeout && !f.plaidErrorOnly : mode === 'network down' ? !f.plaidErrorOnly : mode === 'store key' ? f.unlocks : true)).map((f) => f.args(account));
    if (mode === 'bad keys') env = { PLAID_CLIENT_ID: TEST_CLIENT_ID, PLAID_SECRET: WRONG_SECRET };
    if (mode === 'network down') env = { PLAIDBAL_BASE_URL: 'http://127.0.0.1:9' };
    if (mode === '5xx') for (const path of PLAID_PATHS) emulator.inject({ path, status: 500, times: Infinity });
    if (mode === 'timeout') {
      for (const path of PLAID_PATHS) emulator.inject({ path, kind: 'hang', times: Infinity });
      commands = commands.map((args) => [...args, '--timeout', '0.5']);
    }
    if (mode === 'store key') {
      commands = [...commands, ...KEY_FAILING];
      if (profile.keySource === 'passphrase') env = { PLAIDBAL_PASSPHRASE: WRONG_PASSPHRASE };
      else {
        // A lost keychain entry: the store names an entry the Secret Service does not hold.
        const doc = JSON.parse(storeBytes.toString('utf8'));
        doc.key.account = `store-lost-${tag}`;
        bytes = Buffer.from(JSON.stringify(doc));
      }
    }
    await Promise.all(
      commands.flatMap((args) => debugs.map((debug) => ({ args, debug }))).map(({ args, debug }) =>
        limit(async () => {
          const storeDir = await mkdtemp(join(root, 'store-'));
          await writeFile(join(storeDir, 'store.json'), bytes, { mode: 0o600 });
          const code = mode === 'bad keys' || mode === 'store key' ? 3 : 5;
          const r = await run({
            args,
            storeDir,
            emulator,
            keySource: profile.keySource,
            debug,
            // Without --debug in process, where the same run with --debug is spawned.
            inProcess: !debug && debugs.includes(true),
            mode,
            // --all: every item failed, and a multi-item run says so with 6; but bad keys and a
            // store key that does not open stop the whole run (3).
            expected: args.includes('--all') && code !== 3 ? [6] : [code],
            env,
            stdin: args.includes('--secret-stdin') ? profile.secret : undefined,
          });
          // A failure must leave the store byte-identical.
          const after = await readFile(join(storeDir, 'store.json'));
          if (!after.equals(bytes)) r.stderr += '\n[leaks.test: STORE CHANGED]';
        }),
      ),
    );
    emulator.clearFaults();
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'plaidbal-leaks-'));
  spy = join(root, 'spy.cjs');
  await writeFile(spy, SPY_SOURCE);
  // Failures mostly wait (retries, timeouts), so several run at once.
  const limit = pLimit(8);
  const [keychain, passphrase] = PROFILES as [(typeof PROFILES)[number], (typeof PROFILES)[number]];
  const others = Promise.all([
    ...PROFILES.flatMap((profile) => [successChain(profile, false, 1), successChain(profile, true, 1)]),
    failureRuns(keychain, [{ mode: 'bad keys', debug: [true] }, { mode: 'network down', debug: [false, true] }, { mode: '5xx', debug: [false, true] }, { mode: 'timeout', debug: [false, true] }, { mode: 'store key', debug: [true] }], limit),
    failureRuns(passphrase, [{ mode: 'bad keys', debug: [false] }, { mode: 'store key', debug: [false] }], limit),
  ]).finally(() => keychainQuietNow());
  await Promise.all([others, ...PROFILES.flatMap((profile) => [successChain(profile, false, 2), successChain(profile, true, 2)])]);
  await collectKeychainKeys();
  known = secrets();
}, 300_000);

afterAll(async () => {
  await Promise.all(emulators.map((e) => e.close()));
  if (root) await rm(root, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------

describe('secret hygiene of every command', () => {
  it('ran every command, on success and on each failure, with and without --debug, with both key sources', () => {
    const ran = (mode: string, prefix: string[], filter: (r: Run) => boolean = () => true) => runs.some((r) => r.mode === mode && filter(r) && prefix.every((a, i) => r.args[i] === a));
    const every = [['config', 'init'], ['config', 'show'], ['config', 'path'], ['config', 'rekey'], ['link', '--sandbox'], ['balance'], ['items'], ['items', 'rename'], ['items', 'remove'], ['sandbox', 'reset-login'], ['doctor'], ['doctor', '--json'], ['check'], ['items', 'status'], ['items', 'import'], ['balance', '--access-token-stdin']];
    // Where the key source matters (the store is opened or its key changed): both key sources.
    // balance --access-token-stdin opens no store at all.
    const keyed = every.filter((c) => !['config path', 'items', 'items rename', 'balance --access-token-stdin'].includes(c.join(' ')));
    for (const keySource of ['keychain', 'passphrase'] as const) {
      for (const debug of [false, true]) {
        const mine = (r: Run) => r.keySource === keySource && r.debug === debug;
        for (const command of keySource === 'keychain' ? every : keyed) expect(ran('success', command, mine), `success: ${command.join(' ')} (${keySource}, debug ${debug})`).toBe(true);
      }
      // What only a real process shows (files, children's argv, writes past the command's streams): a spawned run of each.
      for (const command of keySource === 'keychain' ? every : keyed) expect(ran('success', command, (r) => r.keySource === keySource && r.where === 'spawned'), `success, spawned: ${command.join(' ')} (${keySource})`).toBe(true);
      for (const mode of ['bad keys', 'store key']) expect(runs.some((r) => r.mode === mode && r.keySource === keySource), `${mode} with the ${keySource}`).toBe(true);
    }
    for (const command of [...KEY_FAILING, ...FAILING.filter((f) => f.unlocks).map((f) => f.args('x'))]) {
      for (const debug of [false, true]) expect(ran('store key', command.slice(0, 2), (r) => r.debug === debug), `store key: ${command.join(' ')} (debug ${debug})`).toBe(true);
      expect(ran('store key', command.slice(0, 2), (r) => r.where === 'spawned'), `store key, spawned: ${command.join(' ')}`).toBe(true);
    }
    for (const mode of ['bad keys', 'network down', '5xx', 'timeout']) {
      for (const f of FAILING.filter((x) => (mode === 'timeout' ? x.timeout && !x.plaidErrorOnly : mode === 'network down' ? !x.plaidErrorOnly : true))) {
        for (const debug of [false, true]) expect(ran(mode, f.args('x').slice(0, 2), (r) => r.debug === debug), `${mode}: ${f.args('x').join(' ')} (debug ${debug})`).toBe(true);
        expect(ran(mode, f.args('x').slice(0, 2), (r) => r.where === 'spawned'), `${mode}, spawned: ${f.args('x').join(' ')}`).toBe(true);
      }
    }
  });

  it('every run ends with its documented exit code, and a failure leaves store.json as it was', () => {
    for (const r of runs) {
      expect(r.expected, describeRun(r)).toContain(r.code);
      expect(r.stderr, describeRun(r)).not.toContain('STORE CHANGED');
    }
  });

  it('no access token, Plaid secret, passphrase, public token or keychain key on stdout or stderr', () => {
    expect(known.length).toBeGreaterThan(10);
    // Each keychain chain's `config init` and rekey made a key, found again through its store's account.
    expect(keychainKeys.size).toBeGreaterThanOrEqual(4);
    for (const r of runs) expect(found(`${r.stdout}\n${r.stderr}`), describeRun(r)).toEqual([]);
  });

  it('none in any file but store.json: the store directory (locks, temporary files), TMPDIR, HOME and XDG_*', () => {
    const seenFiles = new Set<string>();
    for (const r of runs) {
      for (const file of r.files) {
        seenFiles.add(file.where);
        expect(found(file.bytes), `${file.where} after ${describeRun(r)}`).toEqual([]);
      }
    }
    // For the record: what plaidbal leaves outside store.json (nothing, so far).
    expect([...seenFiles].filter((f) => !f.startsWith('store dir/')), 'files written to HOME/TMPDIR').toEqual([]);
  });

  it('store.json holds access tokens and secrets only sealed, never in the clear', () => {
    for (const r of runs) if (r.store) expect(found(r.store), describeRun(r)).toEqual([]);
  });

  it('argv never carries a secret: not what plaidbal is given, nor anything plaidbal starts', () => {
    let children = 0;
    for (const r of runs) {
      expect(found(r.args.join('\0')), describeRun(r)).toEqual([]);
      for (const argv of r.spawned) {
        children += 1;
        expect(found(argv.join('\0')), `${argv.join(' ').slice(0, 200)} started by ${describeRun(r)}`).toEqual([]);
      }
    }
    // The keychain runs start the keychain helper: the spy saw them.
    expect(children).toBeGreaterThan(0);
  });

  it('no flag takes a secret: `config init --secret x` is an unknown option (exit 2), and no --help lists one', async () => {
    const refused = runs.filter((r) => r.args.includes('--secret'));
    expect(refused.length).toBe(4);
    for (const r of refused) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("unknown option '--secret'");
      expect(r.stderr).not.toContain('not-a-secret-but-would-be');
    }
    const helps = [[], ['config', 'init'], ['config', 'rekey'], ['link'], ['balance'], ['items'], ['items', 'remove'], ['sandbox', 'reset-login'], ['doctor'], ['check'], ['items', 'status'], ['items', 'import'], ['balance', '--access-token-stdin']];
    // In this process: help is text commander prints, the same bytes either way (in-process-parity.test.ts).
    for (const command of helps) {
      const help = await runInProcess([...command, '--help'], { env: baseEnv() });
      expect(help.code).toBe(0);
      // An option with a value whose name says secret, token, passphrase or key (--sandbox-password is a documented Sandbox test value).
      const offending = [...help.stdout.matchAll(/--([\w-]*(?:secret|token|passphrase|api-key|access)[\w-]*) </g)].map((m) => m[1]);
      expect(offending, command.join(' ')).toEqual([]);
    }
  });

  it('--debug logs one line per Plaid call: method, path, status, duration and request_id', () => {
    const exact = runs.filter((r) => r.debug && r.requests);
    expect(exact.some((r) => r.requests!.length > 0)).toBe(true);
    for (const r of exact) {
      const lines = r.stderr.split('\n').filter((l) => /^\[debug\] [A-Z]+ \//.test(l));
      expect(lines.length, describeRun(r)).toBe(r.requests!.length);
      r.requests!.forEach((q, i) => {
        const requestId = (q.response as { request_id?: string } | undefined)?.request_id ?? '-';
        expect(lines[i], describeRun(r)).toMatch(new RegExp(`^\\[debug\\] POST ${q.path.replace(/\//g, '\\/')} ${q.status} \\d+ms request_id=${requestId}$`));
        expect(requestId).toMatch(/^[A-Za-z0-9]{15}$/);
      });
    }
    // Failures too: each attempt, with the status (or the network error) it ended with.
    const statusFor: Record<string, RegExp> = { 'bad keys': /^400$/, 'network down': /^ECONNREFUSED$/, '5xx': /^500$/, timeout: /^(ECONNABORTED|ETIMEDOUT)$/ };
    for (const r of runs.filter((x) => x.debug && statusFor[x.mode])) {
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('[debug]'));
      const calls = lines.filter((l) => !/^\[debug\] (attempt \d failed; retrying \(\d left\)|pacing: .*)$/.test(l));
      expect(calls.length, describeRun(r)).toBeGreaterThan(0);
      for (const line of calls) {
        const m = /^\[debug\] POST (\/[a-z_/]+) (\S+) (\d+)ms request_id=(\S+)$/.exec(line);
        expect(m, `${line}\n${describeRun(r)}`).not.toBeNull();
        expect(m![2], line).toMatch(statusFor[r.mode]!);
        expect(m![4], line).toMatch(/^\d{3}$/.test(m![2]!) ? /^[A-Za-z0-9]{15}$/ : /^-$/);
      }
      // Retried failures are retried 3 times: 4 attempts per call. doctor reports what it sees: one attempt.
      if (r.args[0] === 'doctor') expect(calls.length, describeRun(r)).toBe(1);
      else if (r.mode !== 'bad keys') expect(calls.length % 4, describeRun(r)).toBe(0);
    }
  });

  it('without --debug, no debug line at all', () => {
    for (const r of runs.filter((x) => !x.debug)) expect(r.stderr, describeRun(r)).not.toContain('[debug]');
  });
});
