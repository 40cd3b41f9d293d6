/**
 * `npm run bench`: start-up cost and `balance --all` throughput of the built CLI, measured on
 * this machine against `node -e 0` in the same run, and written to docs/benchmarks.md.
 *
 *   npm run bench                              # build, measure, print, write docs/benchmarks.md
 *   npm run bench -- --runs 30 --all-runs 5    # more samples
 *   npm run bench -- --no-write                # print only
 *   npm run bench -- --only fanout,rss         # only the paced fan-out runs (minutes)
 *   npm run bench -- --only startup --nodes /path/to/node22,/path/to/node24
 *                                              # start-up on each Node line, from this one build
 *
 * Scenarios (--only): startup (--version, --help, balance --item X), all (balance --all over 40
 * items with 400 ms of latency), fanout (balance --all --format ndjson over 2,000 Production items
 * against the Plaid-like emulator: default budget, --rate 1200, a competing user, streaming) and
 * rss (peak RSS over 10,000 items), store (balance --item X on a 10,001-item store against a
 * one-item one), import (items import of 10,000 tokens). startup, fanout, rss, store and import
 * write their own section of docs/benchmarks.md and leave the rest of it as it was; all rewrites
 * the rest and keeps those sections. startup runs on each Node of --nodes (Node 22 and 24).
 *
 * Machines are noisy, so commands are measured side by side: every round runs each command
 * once, in a fresh random order, and figures are medians and 90th percentiles over the rounds.
 * Start-up is given as milliseconds added over `node -e 0` of the same round (paired medians). Peak memory is the
 * child's maximum resident set size from wait4() as reported by GNU time (`/usr/bin/time`;
 * `apt-get install -y time`); for a process that starts others it is the largest process's.
 *
 * The CLI talks to the Plaid emulator (test/emulator), started in this process, through
 * PLAIDBAL_BASE_URL, with throw-away stores made by plaidbal itself (`config init`, `link
 * --sandbox`). On Linux the keychain is a private gnome-keyring in a private D-Bus session,
 * as in scripts/test.mjs: this script re-executes itself under dbus-run-session, so the
 * developer's keyring is never touched. It measures; it always exits 0 unless it cannot run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onPath, privateSessionEnv, startGnomeKeyring } from './private-keyring.mjs';
import { plaidLike, startEmulator, TEST_CLIENT_ID, TEST_SECRET, type Emulator } from '../test/emulator/index.js';
import { addItems } from '../test/helpers/bulk.js';
import { serializeDocument, type StoreDocument } from '../src/store/document.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = dirname(dirname(SELF));
const BIN = join(ROOT, 'bin', 'plaidbal.js');
/** What a one-item balance needs from Node alone: the start-up table's floor (scripts/startup-floor.cjs). */
const FLOOR = join(ROOT, 'scripts', 'startup-floor.cjs');
const FLOOR_LABEL = 'floor: Node alone, one request (no plaidbal)';
const DOC = join(ROOT, 'docs', 'benchmarks.md');
const GNU_TIME = '/usr/bin/time';

const INNER = 'PLAIDBAL_BENCH_KEYRING_DIR';
const KEYRING_PASSWORD = 'plaidbal-bench-keyring';
const PASSPHRASE = 'plaidbal bench passphrase';

const MANY_ITEMS = 40;
const MANY_LATENCY_MS = 400;
const DEFAULT_CONCURRENCY = 8;

const TARGETS = {
  allVsIdeal: 1.5,
  allVsSequential: 6,
};

/** Start-up goals (issue 13, §1): ms added over that Node's `node -e 0`, and peak memory. */
const STARTUP_GOALS = { versionMs: 15, helpMs: 25, balanceMs: 45, rssMiB: 80 };

const SCENARIOS = ['startup', 'all', 'fanout', 'rss', 'store', 'import'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Options {
  runs: number;
  allRuns: number;
  write: boolean;
  /** --only a,b: just these scenarios (default: all of them; fanout and rss take minutes). */
  only: Set<Scenario>;
  /** --items N: items of the fan-out runs (default 2,000). */
  fanoutItems: number;
  /** --rss-items N: items of the peak-RSS run (default 10,000). */
  rssItems: number;
  /** --nodes a,b: the Node binaries the startup scenario runs on (default: this one). */
  nodes: string[];
  /** --compare LABEL=BIN: another build's bin/plaidbal.js, measured beside this one in startup. */
  compare: { label: string; bin: string }[];
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { runs: 20, allRuns: 3, write: true, only: new Set(SCENARIOS), fanoutItems: 2_000, rssItems: 10_000, nodes: [], compare: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const count = (name: string) => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs a whole number of at least 1`);
      return n;
    };
    if (arg === '--runs') opts.runs = count(arg);
    else if (arg === '--all-runs') opts.allRuns = count(arg);
    else if (arg === '--no-write') opts.write = false;
    else if (arg === '--items') opts.fanoutItems = count(arg);
    else if (arg === '--rss-items') opts.rssItems = count(arg);
    else if (arg === '--nodes') opts.nodes.push(...(argv[++i] ?? '').split(',').filter(Boolean));
    else if (arg === '--compare') {
      const [label, bin] = (argv[++i] ?? '').split('=');
      if (!label || !bin || !existsSync(bin)) throw new Error(`--compare takes LABEL=path/to/bin/plaidbal.js of another build (got ${argv[i]})`);
      opts.compare.push({ label, bin });
    }    else if (arg === '--only') {
      const names = (argv[++i] ?? '').split(',').filter(Boolean);
      const bad = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
      if (names.length === 0 || bad.length) throw new Error(`--only takes a comma-separated list of ${SCENARIOS.join(', ')} (got ${argv[i]})`);
      opts.only = new Set(names as Scenario[]);
    } else throw new Error(`unknown argument ${arg} (known: --runs N, --all-runs N, --only ${SCENARIOS.join(',')}, --items N, --rss-items N, --nodes a,b, --compare LABEL=BIN, --no-write)`);
  }
  // The Node lines to start up on: --nodes, else PLAIDBAL_BENCH_NODES (comma-separated), else this one.
  if (opts.nodes.length === 0) opts.nodes = (process.env.PLAIDBAL_BENCH_NODES ?? '').split(',').filter(Boolean);
  if (opts.nodes.length === 0) opts.nodes = [process.execPath];
  for (const node of opts.nodes) if (!existsSync(node)) throw new Error(`--nodes: no ${node}`);
  return opts;
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

// ------------------------------------------------------------------------------------------------
// A private Secret Service (Linux): scripts/private-keyring.mjs, shared with scripts/test.mjs

function reexecUnderDbus(): number {
  const dir = mkdtempSync(join(tmpdir(), 'plaidbal-bench-keyring-'));
  const env = privateSessionEnv(dir, { ...process.env, [INNER]: dir });
  try {
    // process.execArgv carries tsx's loader flags.
    const run = spawnSync('dbus-run-session', ['--', process.execPath, ...process.execArgv, SELF, ...process.argv.slice(2)], { env, stdio: 'inherit', cwd: ROOT });
    if (run.error) throw run.error;
    return run.status ?? 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function startKeyring(): Promise<{ stop(): Promise<void>; problem?: string }> {
  const keyring = startGnomeKeyring(KEYRING_PASSWORD);
  const named = await keyring.waitForName();
  return named.ok ? { stop: keyring.stop } : { stop: keyring.stop, problem: `${named.reason}${keyring.output() ? `: ${keyring.output()}` : ''}` };
}

// ------------------------------------------------------------------------------------------------
// Running commands

interface Sample {
  ms: number;
  rssKiB: number | null;
  /** User + system CPU time of the Node process, when it ran with CPU_PRELOAD (startup). */
  cpuMs?: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

const haveGnuTime = existsSync(GNU_TIME) && spawnSync(GNU_TIME, ['-f', '%M', 'true'], { encoding: 'utf8' }).status === 0;

/**
 * Preloaded (NODE_OPTIONS=--require) by the start-up runs: writes the process's own CPU time
 * (user + system, from process.cpuUsage()) at exit. CPU time is far less disturbed than wall
 * time when other work shares the machine's cores, so it is shown beside the wall times.
 */
const CPU_PRELOAD = `const { writeFileSync } = require('node:fs');
process.on('exit', () => { const u = process.cpuUsage(); writeFileSync(process.env.PLAIDBAL_BENCH_CPU_FILE, String((u.user + u.system) / 1000)); });
`;

/** Runs argv once; wall time from spawn to exit, max RSS from GNU time when installed; with `cpuPreload`, CPU time. */
function runOnce(argv: string[], env: NodeJS.ProcessEnv, cpuPreload?: string): Promise<Sample> {
  const rssFile = haveGnuTime ? join(tmpdir(), `plaidbal-bench-rss-${process.pid}`) : null;
  const cpuFile = cpuPreload ? join(tmpdir(), `plaidbal-bench-cpu-${process.pid}`) : null;
  if (cpuPreload && cpuFile) env = { ...env, NODE_OPTIONS: `--require ${cpuPreload}`, PLAIDBAL_BENCH_CPU_FILE: cpuFile };
  const [command, args] = rssFile ? [GNU_TIME, ['-f', '%M', '-o', rssFile, ...argv]] : [argv[0]!, argv.slice(1)];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let child: ChildProcess;
    try {
      child = spawn(command, args, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      reject(error);
      return;
    }
    let ended = 0n;
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('exit', () => (ended = process.hrtime.bigint()));
    child.on('close', (code) => {
      let rssKiB: number | null = null;
      if (rssFile) {
        try {
          const lines = readFileSync(rssFile, 'utf8').trim().split('\n');
          rssKiB = Number(lines.at(-1));
          if (!Number.isFinite(rssKiB)) rssKiB = null;
        } catch {
          rssKiB = null;
        }
        rmSync(rssFile, { force: true });
      }
      let cpuMs: number | undefined;
      if (cpuFile) {
        cpuMs = existsSync(cpuFile) ? Number(readFileSync(cpuFile, 'utf8')) : undefined;
        rmSync(cpuFile, { force: true });
      }
      resolve({ ms: Number((ended || process.hrtime.bigint()) - started) / 1e6, rssKiB, code, stdout, stderr, cpuMs });
    });
  });
}

const plaidbal = (...args: string[]) => [process.execPath, BIN, ...args];

interface Case {
  label: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** Throws when a run's result is wrong: a failed run is not a measurement. */
  check?(sample: Sample): void;
  samples: Sample[];
  /** A CPU_PRELOAD file: the run also reports its CPU time. */
  cpuPreload?: string;
}

function expectOk(sample: Sample): void {
  if (sample.code !== 0) throw new Error(`exit ${sample.code}: ${sample.stderr.trim().split('\n').slice(0, 4).join(' | ')}`);
}

function expectBalance(items: number) {
  return (sample: Sample) => {
    expectOk(sample);
    const doc = JSON.parse(sample.stdout) as { items: { error: unknown; accounts: unknown[] }[] };
    if (doc.items.length !== items || doc.items.some((i) => i.error !== null || i.accounts.length === 0)) throw new Error(`unexpected balance document: ${sample.stdout.slice(0, 300)}`);
  };
}

/** Rounds of every case once, in a fresh random order each round, after `warmup` discarded rounds. */
async function interleaved(cases: Case[], rounds: number, warmup: number): Promise<void> {
  for (let round = -warmup; round < rounds; round++) {
    const order = [...cases];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const c of order) {
      const sample = await runOnce(c.argv, c.env, c.cpuPreload);
      try {
        c.check?.(sample);
      } catch (error) {
        throw new Error(`${c.label}: ${(error as Error).message}`);
      }
      if (round >= 0) c.samples.push(sample);
    }
    if (round >= 0) process.stderr.write(`\r[bench]   round ${round + 1}/${rounds}`);
  }
  process.stderr.write('\n');
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

interface Stats {
  median: number;
  p90: number;
  rssMiB: number | null;
}

function stats(samples: Sample[]): Stats {
  const times = samples.map((s) => s.ms);
  const rss = samples.map((s) => s.rssKiB).filter((v): v is number => v !== null);
  return { median: quantile(times, 0.5), p90: quantile(times, 0.9), rssMiB: rss.length ? Math.max(...rss) / 1024 : null };
}

// ------------------------------------------------------------------------------------------------
// Stores, made by plaidbal itself

function cliEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('PLAID_') || name.startsWith('PLAIDBAL_') || name === 'FORCE_COLOR' || name === 'NODE_OPTIONS' || name === 'BROWSER') delete env[name];
  }
  return { ...env, PLAID_ENV: 'sandbox', NO_COLOR: '1', ...extra };
}

async function cli(env: NodeJS.ProcessEnv, args: string[], stdin?: string): Promise<void> {
  const sample = await new Promise<Sample>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: 0, rssKiB: null, code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
  if (sample.code !== 0) throw new Error(`plaidbal ${args.join(' ')} exited ${sample.code}: ${sample.stderr.trim()}`);
}

interface BenchStore {
  dir: string;
  env: NodeJS.ProcessEnv;
}

async function makeStore(emulator: Emulator, keySource: 'keychain' | 'passphrase', items: number): Promise<BenchStore> {
  const dir = mkdtempSync(join(tmpdir(), `plaidbal-bench-${keySource}-`));
  const env = cliEnv({ PLAIDBAL_CONFIG_DIR: dir, PLAIDBAL_BASE_URL: emulator.url, ...(keySource === 'passphrase' ? { PLAIDBAL_PASSPHRASE: PASSPHRASE } : {}) });
  await cli(env, ['config', 'init', '--env', 'sandbox', '--client-id', TEST_CLIENT_ID, '--secret-stdin', '--key-source', keySource], TEST_SECRET);
  // One at a time: the store has no cross-process lock for link yet.
  for (let i = 0; i < items; i++) {
    await cli(env, ['link', '--sandbox', '--name', items === 1 ? 'X' : `item-${String(i + 1).padStart(2, '0')}`]);
    if (items > 1) process.stderr.write(`\r[bench]   linked ${i + 1}/${items}`);
  }
  if (items > 1) process.stderr.write('\n');
  return { dir, env };
}

// ------------------------------------------------------------------------------------------------
// Report

interface Row {
  what: string;
  median: string;
  p90: string;
  ratio: string;
  rss: string;
}

interface Verdict {
  target: string;
  measured: string;
  result: 'PASS' | 'FAIL' | 'PENDING' | 'NOT RUN';
}

const ms = (v: number) => `${v.toFixed(0)} ms`;
const mib = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(1)} MiB`);

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function git(args: string[]): string {
  const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

// ------------------------------------------------------------------------------------------------

async function bench(opts: Options, keychainProblem: string | undefined): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'cli.cjs'))) throw new Error('dist/cli.cjs is missing: run `npm run build` (npm run bench does).');
  if (opts.only.has('startup')) await startupBench(opts, keychainProblem);
  if (opts.only.has('all')) await mainBench(opts);
  if (opts.only.has('fanout') || opts.only.has('rss')) await fanoutBench(opts);
  if (opts.only.has('store') || opts.only.has('import')) await scaleBench(opts);
}

async function mainBench(opts: Options): Promise<void> {
  const started = new Date();
  const loadBefore = loadavg()[0]!;
  log(`node ${process.version}, ${cpus().length} cores, ${opts.allRuns} rounds for --all${haveGnuTime ? '' : '; no GNU time, so no peak memory (apt-get install -y time)'}`);

  const stores: BenchStore[] = [];
  const rows: Row[] = [];
  const verdicts: Verdict[] = [];
  const notes: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  try {
    if (opts.only.has('all')) {
      // 3: balance --all over 40 items with 400 ms of latency on /accounts/balance/get.
      // In Production: Sandbox's budget (half of 100 calls a minute) would pace 40 items over most
      // of a minute, which is Plaid's limit at work, not the fan-out's speed.
      log(`balance --all: ${MANY_ITEMS} Production items…`);
      const production = await startEmulator({ environment: 'production', rateLimits: { perItem: 1e9, perClient: 1e9 } });
      closers.push(() => production.close());
      const many = await makeBulkStore(production, MANY_ITEMS, 'keychain');
      stores.push(many);
      notes.push('`balance --all` (3) runs on a Production OS-keychain store made in bulk (test/helpers/bulk.ts): the fan-out is what it measures, so no scrypt. Its ideal is that of the fixed pool of 8 the target was set for; the pool is now sized from the call budget and latency (issue 11).');
      production.setLatency(MANY_LATENCY_MS, '/accounts/balance/get');
      const probe = await runOnce(plaidbal('balance', '--all', '--yes', '--concurrency', '1', '--json', '--cached'), many.env);
      const pending = probe.code === 2 && /unknown option/i.test(probe.stderr);
      if (!pending && probe.code !== 0) throw new Error(`plaidbal balance --all --cached exited ${probe.code}: ${probe.stderr.trim()}`);
      const ideal = Math.ceil(MANY_ITEMS / DEFAULT_CONCURRENCY) * MANY_LATENCY_MS;
      if (pending) {
        const why = probe.stderr.trim().split('\n')[0]!;
        notes.push(`\`balance --all\` / \`--concurrency\` are not in this build yet (${why}), so target (3) is pending.`);
        verdicts.push({ target: `(3) \`balance --all\` (${MANY_ITEMS} items, ${MANY_LATENCY_MS} ms): ≤ ${TARGETS.allVsIdeal}× ideal and ≥ ${TARGETS.allVsSequential}× faster than --concurrency 1`, measured: 'pending: not implemented yet', result: 'PENDING' });
      } else {
        const all: Case = { label: `plaidbal balance --all --json (${MANY_ITEMS} items, ${MANY_LATENCY_MS} ms latency)`, argv: plaidbal('balance', '--all', '--yes', '--json'), env: many.env, check: expectBalance(MANY_ITEMS), samples: [] };
        const sequential: Case = { label: `plaidbal balance --all --concurrency 1 --json`, argv: plaidbal('balance', '--all', '--yes', '--concurrency', '1', '--json'), env: many.env, check: expectBalance(MANY_ITEMS), samples: [] };
        log(`balance --all: ${opts.allRuns} rounds (the sequential run takes ${((MANY_ITEMS * MANY_LATENCY_MS) / 1000).toFixed(0)} s or more)…`);
        await interleaved([all, sequential], opts.allRuns, 0);
        const a = stats(all.samples);
        const s = stats(sequential.samples);
        rows.push({ what: `ideal: ceil(${MANY_ITEMS}/${DEFAULT_CONCURRENCY}) × ${MANY_LATENCY_MS} ms`, median: ms(ideal), p90: '', ratio: '', rss: '' });
        rows.push({ what: all.label, median: ms(a.median), p90: ms(a.p90), ratio: `${(a.median / ideal).toFixed(2)}× ideal`, rss: mib(a.rssMiB) });
        rows.push({ what: sequential.label, median: ms(s.median), p90: ms(s.p90), ratio: `${(s.median / a.median).toFixed(1)}× --all`, rss: mib(s.rssMiB) });
        const vsIdeal = a.median / ideal;
        const speedup = s.median / a.median;
        verdicts.push({ target: `(3) \`balance --all\` (${MANY_ITEMS} items, ${MANY_LATENCY_MS} ms) within ${TARGETS.allVsIdeal}× of the ideal ${ms(ideal)}`, measured: `${vsIdeal.toFixed(2)}×`, result: vsIdeal <= TARGETS.allVsIdeal ? 'PASS' : 'FAIL' });
        verdicts.push({ target: `(3) … and ≥ ${TARGETS.allVsSequential}× faster than \`--concurrency 1\``, measured: `${speedup.toFixed(1)}×`, result: speedup >= TARGETS.allVsSequential ? 'PASS' : 'FAIL' });
      }
    }
  } finally {
    for (const close of closers) await close();
    for (const store of stores) rmSync(store.dir, { recursive: true, force: true });
  }

  // Print and write.
  const loadAfter = loadavg()[0]!;
  const rowTable = table(['Command', 'Median', 'p90', 'Ratio', 'Peak RSS'], rows.map((r) => [r.what, r.median, r.p90, r.ratio, r.rss]));
  const verdictTable = table(['Target', 'Measured', 'Result'], verdicts.map((v) => [v.target, v.measured, v.result]));
  const missed = verdicts.filter((v) => v.result === 'FAIL');
  const summary = missed.length
    ? `Missed: ${missed.map((v) => v.target.replace(/`/g, '')).join('; ')}.`
    : verdicts.some((v) => v.result !== 'PASS')
      ? 'No target missed, but not every target was measured.'
      : 'Every target met.';
  process.stdout.write(`\n${rowTable}\n\n${verdictTable}\n\n${summary}\n${notes.map((n) => `Note: ${n}\n`).join('')}`);

  if (opts.write) {
    const commit = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--untracked-files=no']) ? ' (with uncommitted changes)' : '';
    const cpu = cpus()[0]?.model?.trim() ?? 'unknown CPU';
    const args = process.argv.slice(2);
    const doc = `# Benchmarks

Measured by \`scripts/bench.ts\`. To reproduce:

\`\`\`sh
npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}
\`\`\`

- **When:** ${started.toISOString()}${commit ? `, commit ${commit}${dirty}` : ''}
- **Machine:** Node ${process.version}, ${cpus().length} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${process.platform} ${release()}; 1-minute load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after
- **Method:** every round runs each command once, in a fresh random order (${opts.allRuns} rounds). Median and 90th percentile of wall time from spawn to exit. Peak RSS is the largest maximum resident set size over the runs, from GNU time. Start-up (issue 13) has its own section below.
- **Setup:** the Plaid emulator (\`test/emulator\`) in the bench process, with the latency stated.

${rowTable}

## Targets

${verdictTable}

${summary}
${notes.map((n) => `\n${n}\n`).join('')}`;
    writeFileSync(DOC, `${doc}${fanoutSection(existsSync(DOC) ? readFileSync(DOC, 'utf8') : '')}`);
    log(`wrote ${DOC}`);
  }
}

/** `<node> --version` of a Node binary, e.g. v24.21.0. */
function nodeVersion(node: string): string {
  return spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim() || node;
}

/**
 * Start-up (issue 13, §1): `--version`, `--help` and `balance --item X --json` (OS keychain, the
 * emulator without latency) of this one build, on each Node of --nodes, as milliseconds added
 * over that Node's `node -e 0`: in every round each command runs once next to `node -e 0`, in a
 * random order, and "added" is the median over the rounds of (command − `node -e 0`) in that round.
 *
 * The code cache (src/load.ts) lives in the user's cache directory; here XDG_CACHE_HOME
 * points at a directory of this run. The measured rounds run on a warm cache (the warm-up rounds
 * fill it); the first-run rows give each run an empty cache directory of its own, so they show
 * what the first run after an install or a Node upgrade costs (it also writes the cache).
 */
async function startupBench(opts: Options, keychainProblem: string | undefined): Promise<void> {
  const started = new Date();
  const loadBefore = loadavg()[0]!;
  const coldRounds = Math.max(5, Math.ceil(opts.runs / 4));
  const builds = [{ label: 'plaidbal', bin: BIN }, ...opts.compare];
  const lines = opts.nodes.map((node) => ({ node, version: nodeVersion(node) }));
  log(`start-up on ${lines.map((l) => `Node ${l.version}`).join(' and ')}: ${opts.runs} rounds (+2 warm-up), ${coldRounds} first-run rounds${haveGnuTime ? '' : '; no GNU time, so no peak memory (apt-get install -y time)'}`);
  if (lines.length < 2) log('only one Node line: pass --nodes /path/to/node22,/path/to/node24 (or PLAIDBAL_BENCH_NODES) to measure both');

  const emulator = await startEmulator({ rateLimits: { perItem: 1e9, perClient: 1e9 } });
  const scratch = mkdtempSync(join(tmpdir(), 'plaidbal-bench-startup-'));
  const rows: string[][] = [];
  const verdicts: Verdict[] = [];
  const notes: string[] = [];
  let store: BenchStore | undefined;
  try {
    if (!keychainProblem) {
      try {
        store = await makeStore(emulator, 'keychain', 1);
      } catch (error) {
        keychainProblem = (error as Error).message;
      }
    }
    const cpuPreload = join(scratch, 'cpu.cjs');
    writeFileSync(cpuPreload, CPU_PRELOAD);
    const warmCache = join(scratch, 'warm-cache');
    let coldCount = 0;
    const coldCache = () => join(scratch, `cold-${coldCount++}`);
    for (const { node, version } of lines) {
      type Command = { what: string; args: string[]; env: NodeJS.ProcessEnv; check(sample: Sample): void; goal?: number };
      const commands: Command[] = [];
      for (const build of builds) {
        const name = build.label;
        commands.push({ what: `${name} --version`, args: [build.bin, '--version'], env: cliEnv({}), check: expectOk, goal: build.bin === BIN ? STARTUP_GOALS.versionMs : undefined });
        commands.push({ what: `${name} --help`, args: [build.bin, '--help'], env: cliEnv({}), check: expectOk, goal: build.bin === BIN ? STARTUP_GOALS.helpMs : undefined });
        if (store) commands.push({ what: `${name} balance --item X --json (OS keychain)`, args: [build.bin, 'balance', '--item', 'X', '--json'], env: store.env, check: expectBalance(1), goal: build.bin === BIN ? STARTUP_GOALS.balanceMs : undefined });
      }
      if (store) {
        const floorEnv = { ...store.env, FLOOR_CLIENT_ID: TEST_CLIENT_ID, FLOOR_SECRET: TEST_SECRET, FLOOR_ACCESS_TOKEN: emulator.items()[0]!.access_token };
        commands.push({ what: FLOOR_LABEL, args: [FLOOR], env: floorEnv, check: expectOk });
      }
      const withCache = (env: NodeJS.ProcessEnv, dir: string) => ({ ...env, XDG_CACHE_HOME: dir });
      const baseline: Case = { label: 'node -e 0', argv: [node, '-e', '0'], env: cliEnv({}), check: expectOk, samples: [], cpuPreload };
      const warm = commands.map((c): Case => ({ label: c.what, argv: [node, ...c.args], env: withCache(c.env, warmCache), check: c.check, samples: [], cpuPreload }));
      log(`Node ${version}: ${warm.length} commands and node -e 0, interleaved (warm code cache)…`);
      await interleaved([baseline, ...warm], opts.runs, 2);
      // First runs: each on an empty cache directory, next to a node -e 0 of its own round.
      const coldBase: Case = { ...baseline, samples: [] };
      const cold = commands.map((c): Case => ({ label: `${c.what} (first run)`, argv: [node, ...c.args], env: c.env, check: c.check, samples: [], cpuPreload }));
      log(`Node ${version}: first runs, each on an empty code cache…`);
      for (let round = 0; round < coldRounds; round++) {
        for (const c of cold) c.env = withCache(c.env, coldCache());
        await interleaved([coldBase, ...cold], 1, 0);
      }
      const added = (c: Case, base: Case) => quantile(c.samples.map((x, i) => x.ms - base.samples[i]!.ms), 0.5);
      const cpuAdded = (c: Case, base: Case) => {
        const d = c.samples.map((x, i) => (x.cpuMs ?? NaN) - (base.samples[i]!.cpuMs ?? NaN));
        return d.some(Number.isNaN) ? 'n/a' : `+${quantile(d, 0.5).toFixed(1)} ms`;
      };
      const b = stats(baseline.samples);
      const baseCpu = baseline.samples.map((x) => x.cpuMs ?? NaN);
      rows.push([version, 'node -e 0', ms(b.median), ms(b.p90), '', '', baseCpu.some(Number.isNaN) ? 'n/a' : `${quantile(baseCpu, 0.5).toFixed(1)} ms`, mib(b.rssMiB)]);
      let peak = 0;
      commands.forEach((c, i) => {
        const w = warm[i]!;
        const k = cold[i]!;
        const s = stats(w.samples);
        const add = added(w, baseline);
        const coldAdd = added(k, coldBase);
        const coldRss = stats(k.samples).rssMiB;
        if (c.goal !== undefined) peak = Math.max(peak, s.rssMiB ?? 0, coldRss ?? 0);
        rows.push([version, c.what, ms(s.median), ms(s.p90), `+${add.toFixed(1)} ms`, `+${coldAdd.toFixed(1)} ms`, cpuAdded(w, baseline), `${mib(s.rssMiB)} (first run ${mib(coldRss)})`]);
        if (c.goal !== undefined) verdicts.push({ target: `Node ${version}: \`${c.what.replace(/^plaidbal /, '')}\` ≤ +${c.goal} ms over \`node -e 0\``, measured: `+${add.toFixed(1)} ms`, result: add <= c.goal ? 'PASS' : 'FAIL' });
      });
      if (!store) verdicts.push({ target: `Node ${version}: \`balance --item X --json\` with the OS keychain`, measured: `not run: ${keychainProblem}`, result: 'NOT RUN' });
      verdicts.push({ target: `Node ${version}: peak memory ≤ ${STARTUP_GOALS.rssMiB} MiB`, measured: haveGnuTime ? mib(peak) : 'n/a', result: !haveGnuTime ? 'NOT RUN' : peak <= STARTUP_GOALS.rssMiB ? 'PASS' : 'FAIL' });
    }
  } finally {
    await emulator.close();
    if (store) rmSync(store.dir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
  const loadAfter = loadavg()[0]!;
  if (lines.length < 2) notes.push(`Only Node ${lines[0]!.version} was measured: the goals are for Node 22 and Node 24 each.`);
  if (store) {
    notes.push(
      `\`${FLOOR_LABEL}\` is scripts/startup-floor.cjs: Node's \`crypto\`, \`https\` (with \`tls\`) and \`zlib\` loaded, a token unsealed with AES-256-GCM, one POST to /accounts/balance/get with Node's own HTTP client, the answer printed as JSON; no Secret Service read. ` +
        'It is what any one-item balance costs on this Node before plaid, axios, commander or plaidbal itself: the goal for `balance` leaves the difference between the two rows for all of those.',
    );
  }
  for (const c of opts.compare) notes.push(`\`${c.label}\` is another build, measured in the same rounds for comparison: ${c.bin}.`);
  notes.push(`Load: this machine's ${cpus().length} cores were shared with other work; 1-minute load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after. Paired medians (each command against \`node -e 0\` of the same round) take out most of what a busy machine adds to both, not all of it.`);
  const args = process.argv.slice(2).filter((a) => a !== '--no-write');
  reportSection(opts, started, {
    name: 'startup',
    title: 'Start-up on Node 22 and Node 24 (issue 13)',
    command: `npm run bench -- ${args.join(' ')}`,
    setup: `one build (\`npm run build\` on Node ${process.version}), run by each Node below. The Plaid emulator in the bench process, no latency; a store made by plaidbal itself (\`config init\`, \`link --sandbox\`) with the OS keychain, a private gnome-keyring in a private D-Bus session as in \`npm test\`. Every round runs each command once next to that Node's \`node -e 0\`, in a fresh random order: ${opts.runs} rounds after 2 warm-up rounds, on a warm code cache (src/load.ts; the warm-up rounds fill it). "Added" is the median over the rounds of the command's wall time minus \`node -e 0\`'s in the same round. "First run" is the same over ${coldRounds} rounds in which every command gets an empty cache directory: the cost of the first run after an install or a Node upgrade, which also writes the cache. "CPU time" is the user + system time of the Node process (process.cpuUsage() at exit, from a preloaded module in every run, \`node -e 0\` included): its median over the warm rounds for \`node -e 0\`, and the median of the paired differences for the commands; it is shown because it is much less disturbed than wall time by other work on the same cores. Peak RSS from GNU time, the largest over the runs.`,
    headings: ['Node', 'Command', 'Median', 'p90', 'Added (warm cache)', 'Added (first run)', 'CPU time (warm, added)', 'Peak RSS'],
    rows,
    verdicts,
    notes,
    goalHeading: 'Goal (issue 13)',
  });
}

/** A Production passphrase store holding `items` items the emulator made directly (test/helpers/bulk.ts). */
async function makeBulkStore(emulator: Emulator, items: number, keySource: 'keychain' | 'passphrase' = 'passphrase'): Promise<BenchStore> {
  const dir = mkdtempSync(join(tmpdir(), 'plaidbal-bench-bulk-'));
  const env = cliEnv({ PLAIDBAL_CONFIG_DIR: dir, PLAIDBAL_BASE_URL: emulator.url, PLAID_ENV: 'production', ...(keySource === 'passphrase' ? { PLAIDBAL_PASSPHRASE: PASSPHRASE } : {}) });
  await cli(env, ['config', 'init', '--env', 'production', '--client-id', TEST_CLIENT_ID, '--secret-stdin', '--key-source', keySource], TEST_SECRET);
  await addItems(emulator, env, 'production', items);
  return { dir, env };
}

// ------------------------------------------------------------------------------------------------
// Paced fan-out against the Plaid-like emulator (issue 11)

/**
 * Sections of docs/benchmarks.md kept between their markers: each scenario's own, and `figures`,
 * written by hand (measurements behind design choices in the code, which comments point to).
 */
const SECTIONS = ['startup', 'fanout', 'rss', 'store', 'import', 'figures'] as const;
const marker = (name: string, end: boolean) => `<!-- ${name}:${end ? 'end' : 'start'} -->`;

/** One marked section of an existing docs/benchmarks.md (markers included), or ''. */
function sectionOf(doc: string, name: string): string {
  const start = doc.indexOf(marker(name, false));
  const end = doc.indexOf(marker(name, true));
  return start >= 0 && end > start ? doc.slice(start, end + marker(name, true).length) : '';
}

/** Every marked section of an existing docs/benchmarks.md, for the start-up run to keep. */
function fanoutSection(doc: string): string {
  return SECTIONS.map((name) => sectionOf(doc, name)).filter(Boolean).map((section) => `\n${section}\n`).join('');
}

/** Replaces (or appends) one marked section of docs/benchmarks.md. */
function writeSection(name: string, body: string): void {
  const section = `${marker(name, false)}\n${body.trim()}\n${marker(name, true)}`;
  const existing = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const old = sectionOf(existing, name);
  writeFileSync(DOC, old ? existing.replace(old, section) : `${existing.trimEnd()}\n\n${section}\n`);
}

/** The max RSS GNU time wrote to `rssFile` (KiB), then the file removed; null without one. */
function takeRss(rssFile: string | null): number | null {
  if (!rssFile) return null;
  try {
    const kib = Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1));
    return Number.isFinite(kib) ? kib : null;
  } catch {
    return null;
  } finally {
    rmSync(rssFile, { force: true });
  }
}

/** Prints a scenario's tables and, unless --no-write, puts them in its own section of docs/benchmarks.md. */
function reportSection(
  opts: Options,
  started: Date,
  section: { name: string; title: string; command: string; setup: string; headings: string[]; rows: string[][]; verdicts: Verdict[]; notes: string[]; goalHeading?: string },
): void {
  const { name, title, command, setup, headings, rows, verdicts, notes } = section;
  const rowTable = table(headings, rows);
  const verdictTable = table([section.goalHeading ?? 'Goal (issue 11)', 'Measured', 'Result'], verdicts.map((x) => [x.target, x.measured, x.result]));
  process.stdout.write(`\n${rowTable}\n\n${verdictTable}\n${notes.map((x) => `Note: ${x}\n`).join('')}`);
  if (!opts.write) return;
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const when = `${started.toISOString()}${commit ? `, commit ${commit}` : ''}; Node ${process.version}, ${cpus().length} cores`;
  writeSection(name, `## ${title}\n\nMeasured by \`scripts/bench.ts\`:\n\n\`\`\`sh\n${command}\n\`\`\`\n\n- **When:** ${when}\n- **Setup:** ${setup}\n\n${rowTable}\n\n${verdictTable}\n${notes.map((x) => `\n${x}\n`).join('')}`);
  log(`wrote the ${name} section of ${DOC}`);
}

interface StreamRun {
  ms: number;
  firstLineMs: number | null;
  rssKiB: number | null;
  code: number | null;
  /** item_id → whether its line(s) carried no error. */
  answered: Map<string, boolean>;
  lines: number;
  stderr: string;
}

/** Runs argv (under GNU time when there is one), parsing ndjson as it streams. */
function runStreaming(argv: string[], env: NodeJS.ProcessEnv, onStart?: () => void): Promise<StreamRun> {
  const rssFile = haveGnuTime ? join(tmpdir(), `plaidbal-bench-rss-${process.pid}`) : null;
  const [command, args] = rssFile ? [GNU_TIME, ['-f', '%M', '-o', rssFile, ...argv]] : [argv[0]!, argv.slice(1)];
  return new Promise((resolve, reject) => {
    const started = Date.now();
    onStart?.();
    const child = spawn(command, args, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let firstLineMs: number | null = null;
    let rest = '';
    let lines = 0;
    let stderr = '';
    const answered = new Map<string, boolean>();
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      firstLineMs ??= Date.now() - started;
      const parts = (rest + d).split('\n');
      rest = parts.pop()!;
      for (const line of parts) {
        lines += 1;
        const row = JSON.parse(line) as { item_id: string; error: unknown };
        answered.set(row.item_id, (answered.get(row.item_id) ?? true) && row.error === null);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => {
      const rssKiB = takeRss(rssFile);
      resolve({ ms: Date.now() - started, firstLineMs, rssKiB, code, answered, lines, stderr });
    });
  });
}

const TARGETS_11 = { vsIdeal: 1.1, max429Share: 0.02, firstLineSlackMs: 1_000, rssMiB: 120 };
const COMPETITOR_PER_MINUTE = 700;

async function fanoutBench(opts: Options): Promise<void> {
  const started = new Date();
  const rows: string[][] = [];
  const verdicts: Verdict[] = [];
  const notes: string[] = [];
  const rssRows: string[][] = [];
  const rssVerdicts: Verdict[] = [];
  const rssNotes: string[] = [];
  const stores: BenchStore[] = [];
  const emulators: Emulator[] = [];
  const BALANCE = '/accounts/balance/get';
  try {
    if (opts.only.has('fanout')) {
      // Real time: Plaid's latency (log-normal, median 3 s, p95 11 s, cap 30 s) and Production limits.
      const latencies: { at: number; ms: number }[] = [];
      const emulator = await startEmulator({
        ...plaidLike({ timeScale: 1, seed: 11 }),
        onRequest: (r) => {
          if (r.path === BALANCE && r.status === 200) latencies.push({ at: r.at, ms: Date.now() - r.at });
        },
      });
      emulators.push(emulator);
      const n = opts.fanoutItems;
      log(`fan-out: making a Production store of ${n} items…`);
      const store = await makeBulkStore(emulator, n);
      stores.push(store);
      notes.push('The fan-out runs use a passphrase store: each includes its scrypt (N = 2^17: 128 MiB of memory for the derivation, and what it takes here is in the scrypt entries of "Figures behind the code").');

      const run = async (label: string, rate: number | null, competitor: boolean) => {
        // Plaid's per-client window is a rolling minute: start each run on an empty one.
        const last = emulator.requests.findLast((q) => q.path === BALANCE);
        if (last && Date.now() - last.at < 61_000) {
          log(`fan-out: ${label}: waiting for the emulator's window to empty…`);
          await new Promise((r) => setTimeout(r, 61_000 - (Date.now() - last.at)));
        }
        const from = emulator.requests.length;
        latencies.length = 0;
        let spawnedAt = 0;
        const other = competitor ? emulator.compete({ perMinute: COMPETITOR_PER_MINUTE }) : null;
        log(`fan-out: ${label}…`);
        const argv = plaidbal('balance', '--all', '--yes', '--format', 'ndjson', ...(rate ? ['--rate', String(rate)] : []));
        const r = await runStreaming(argv, store.env, () => (spawnedAt = Date.now()));
        const got = other?.stop();
        const calls = emulator.requests.slice(from).filter((q) => q.path === BALANCE);
        const limited = calls.filter((q) => q.status === 429).length;
        const slowest = Math.max(...latencies.map((l) => l.ms));
        const first = latencies.length ? latencies.reduce((a, b) => (a.at + a.ms <= b.at + b.ms ? a : b)) : null;
        const ok = [...r.answered.values()].filter(Boolean).length;
        if (r.code !== 0) notes.push(`${label}: exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        return { r, calls: calls.length, limited, slowest, first, firstSince: first ? first.at - spawnedAt : null, ok, got };
      };

      for (const [label, rate] of [[`default budget (600/min)`, null], ['--rate 1200', 1200]] as const) {
        const m = await run(`balance --all --format ndjson, ${n} items, ${label}`, rate, false);
        const budget = rate ?? 600;
        const ideal = (n / budget) * 60_000 + m.slowest;
        rows.push([`balance --all --format ndjson (${n} items, ${label})`, ms(m.r.ms), `${ms(ideal)} (${n}/${budget} min + slowest ${ms(m.slowest)})`, `${(m.r.ms / ideal).toFixed(2)}×`, `${m.limited} of ${m.calls}`, `${m.ok}/${n}`, mib(m.r.rssKiB === null ? null : m.r.rssKiB / 1024)]);
        verdicts.push({ target: `\`balance --all --format ndjson\`, ${n} items, ${label}: within ${TARGETS_11.vsIdeal}× of ${n} ÷ budget + slowest call`, measured: `${(m.r.ms / ideal).toFixed(2)}× (${ms(m.r.ms)} vs ${ms(ideal)})`, result: m.r.ms <= ideal * TARGETS_11.vsIdeal ? 'PASS' : 'FAIL' });
        verdicts.push({ target: `… with zero 429s`, measured: `${m.limited} 429s of ${m.calls} calls`, result: m.limited === 0 ? 'PASS' : 'FAIL' });
        if (rate === null && m.first && m.r.firstLineMs !== null) {
          // The first item answered: its latency, and when it was answered since plaidbal was started.
          const bound = m.firstSince! + m.first.ms + TARGETS_11.firstLineSlackMs;
          rows.push([`  streaming: first NDJSON line`, ms(m.r.firstLineMs), `first answer ${ms(m.firstSince! + m.first.ms)} after start (latency ${ms(m.first.ms)})`, '', '', '', '']);
          verdicts.push({ target: `Streaming: first NDJSON line ≤ the first item's answer + ${TARGETS_11.firstLineSlackMs / 1000} s`, measured: `${ms(m.r.firstLineMs)} (first item answered at ${ms(m.firstSince! + m.first.ms)}, its latency ${ms(m.first.ms)})`, result: m.r.firstLineMs <= bound ? 'PASS' : 'FAIL' });
        }
      }

      const m = await run(`balance --all --format ndjson, ${n} items, default budget, a competing user at ${COMPETITOR_PER_MINUTE}/min`, null, true);
      const share = m.limited / m.calls;
      rows.push([`balance --all --format ndjson (${n} items, default budget, competitor ${COMPETITOR_PER_MINUTE}/min)`, ms(m.r.ms), '', '', `${m.limited} of ${m.calls} (${(share * 100).toFixed(2)}%)`, `${m.ok}/${n}`, mib(m.r.rssKiB === null ? null : m.r.rssKiB / 1024)]);
      verdicts.push({ target: `Competing user at ${COMPETITOR_PER_MINUTE}/min: every item answered`, measured: `${m.ok}/${n}`, result: m.ok === n ? 'PASS' : 'FAIL' });
      verdicts.push({ target: `… 429s ≤ ${TARGETS_11.max429Share * 100}% of calls`, measured: `${(share * 100).toFixed(2)}% (${m.limited} of ${m.calls}); the competitor was served ${m.got!.served}, refused ${m.got!.rateLimited}`, result: share <= TARGETS_11.max429Share ? 'PASS' : 'FAIL' });
    }

    if (opts.only.has('rss')) {
      // Peak memory does not depend on Plaid's latency: a fast emulator, Plaid's limits, the most the CLI allows.
      const emulator = await startEmulator({ ...plaidLike({ timeScale: 0.01, seed: 12 }), rateLimits: { perItem: 5, perClient: 1_200, windowMs: 60_000 } });
      emulators.push(emulator);
      const n = opts.rssItems;
      log(`rss: making a Production store of ${n} items…`);
      // The OS keychain, as a support desk would use: a passphrase store's scrypt alone peaks
      // near 180 MiB (see the start-up table), whatever the number of items.
      let store: BenchStore;
      try {
        store = await makeBulkStore(emulator, n, 'keychain');
      } catch (error) {
        rssNotes.push(`The peak-RSS run used a passphrase store, whose scrypt alone peaks near 180 MiB: the OS keychain was not available (${(error as Error).message.split('\n')[0]}).`);
        store = await makeBulkStore(emulator, n, 'passphrase');
      }
      stores.push(store);
      log(`rss: balance --all --format ndjson --rate 1200 over ${n} items (${Math.ceil(n / 1200)} min or so)…`);
      const r = await runStreaming(plaidbal('balance', '--all', '--yes', '--format', 'ndjson', '--rate', '1200'), store.env);
      const ok = [...r.answered.values()].filter(Boolean).length;
      const rss = r.rssKiB === null ? null : r.rssKiB / 1024;
      rssRows.push([`balance --all --format ndjson --rate 1200 (${n} items, latency ×0.01)`, ms(r.ms), '', '', '', `${ok}/${n}`, mib(rss)]);
      rssVerdicts.push({ target: `Peak RSS ≤ ${TARGETS_11.rssMiB} MiB for \`balance --all --format ndjson\` over ${n} items`, measured: mib(rss), result: rss === null ? 'NOT RUN' : rss <= TARGETS_11.rssMiB && ok === n ? 'PASS' : 'FAIL' });
    }
  } finally {
    for (const e of emulators) await e.close();
    for (const store of stores) rmSync(store.dir, { recursive: true, force: true });
  }

  const write = (name: string, title: string, command: string, setup: string, r: string[][], v: Verdict[], n: string[]) =>
    reportSection(opts, started, { name, title, command, setup, headings: ['Run', 'Wall', 'Ideal', 'vs ideal', '429s', 'Answered', 'Peak RSS'], rows: r, verdicts: v, notes: n });
  if (opts.only.has('fanout')) {
    write(
      'fanout',
      'Paced fan-out (issue 11)',
      `npm run bench -- --only fanout${opts.fanoutItems !== 2_000 ? ` --items ${opts.fanoutItems}` : ''}`,
      `the Plaid-like emulator (\`plaidLike()\` in test/emulator/plaid-like.ts) in the bench process: log-normal \`/accounts/balance/get\` latency (median 3 s, 95th percentile 11 s, at most 30 s; seeded), Plaid's Production limits (1,200 per client and 5 per item per rolling minute) answered with Plaid's 429s. A Production passphrase store made in bulk (test/helpers/bulk.ts). Each run starts on an empty window (the bench waits out the minute between runs). "Slowest" is the slowest call the emulator served in that run. The competing user is \`Emulator.compete()\`: ${COMPETITOR_PER_MINUTE} calls a minute of the same client, evenly, its window filled as if it had run for a minute already. One run each: these take minutes.`,
      rows,
      verdicts,
      notes,
    );
  }
  if (opts.only.has('rss')) {
    write(
      'rss',
      'Peak memory over 10,000 items (issue 11)',
      `npm run bench -- --only rss${opts.rssItems !== 10_000 ? ` --rss-items ${opts.rssItems}` : ''}`,
      'the Plaid-like emulator with latency ×0.01 (memory does not depend on it) and Plaid\'s Production limits; an OS-keychain Production store made in bulk; the highest budget allowed, `--rate 1200`. Peak RSS from GNU time.',
      rssRows,
      rssVerdicts,
      rssNotes,
    );
  }
}

// ------------------------------------------------------------------------------------------------
// Large stores and items import (issue 11, §4 and §1)

const TARGETS_SCALE = { storeAddedMs: 20, importRssMiB: 150, importVsBound: 1.1 };
const STORE_ITEMS = 10_000;
const IMPORT_TOKENS = 10_000;

/** `count` items appended to the store in `dir` as plaidbal writes them (one per line), with tokens nobody opens. */
function padStore(dir: string, count: number): void {
  const file = join(dir, 'store.json');
  const doc = JSON.parse(readFileSync(file, 'utf8')) as StoreDocument;
  const model = doc.items[0]!;
  for (let i = 0; i < count; i++) doc.items.push({ ...model, item_id: `padding${String(i).padStart(30, '0')}`, alias: `item-${i}`, last_balance_at: '2026-11-30T10:00:00.000Z' });
  const bytes = serializeDocument(doc);
  writeFileSync(file, bytes, { mode: 0o600 });
  writeFileSync(`${file}.bak`, bytes, { mode: 0o600 });
}

async function scaleBench(opts: Options): Promise<void> {
  const started = new Date();
  const stores: BenchStore[] = [];
  const emulators: Emulator[] = [];
  const storeRows: string[][] = [];
  const storeVerdicts: Verdict[] = [];
  const importRows: string[][] = [];
  const importVerdicts: Verdict[] = [];
  const importNotes: string[] = [];
  try {
    if (opts.only.has('store')) {
      // Zero latency, and limits out of the way: this measures what plaidbal does with the store.
      const emulator = await startEmulator({ rateLimits: { perItem: 1_000_000, perClient: 1_000_000, windowMs: 60_000 } });
      emulators.push(emulator);
      const small = await makeStore(emulator, 'keychain', 1);
      stores.push(small);
      const big = await makeStore(emulator, 'keychain', 1);
      stores.push(big);
      padStore(big.dir, STORE_ITEMS);
      const size = readFileSync(join(big.dir, 'store.json')).length;
      log(`store: ${STORE_ITEMS + 1} items (${(size / 1e6).toFixed(1)} MB) against one, interleaved…`);
      const baseline: Case = { label: 'node -e 0', argv: [process.execPath, '-e', '0'], env: cliEnv({}), check: expectOk, samples: [] };
      const one: Case = { label: 'balance --item X --json, a store of 1 item', argv: plaidbal('balance', '--item', 'X', '--json'), env: small.env, check: expectBalance(1), samples: [] };
      const many: Case = { label: `balance --item X --json, a store of ${STORE_ITEMS + 1} items (${(size / 1e6).toFixed(1)} MB)`, argv: plaidbal('balance', '--item', 'X', '--json'), env: big.env, check: expectBalance(1), samples: [] };
      await interleaved([baseline, one, many], opts.runs, 2);
      const base = stats(baseline.samples);
      for (const c of [baseline, one, many]) {
        const st = stats(c.samples);
        storeRows.push([c.label, ms(st.median), ms(st.p90), c === baseline ? '' : `+${(st.median - base.median).toFixed(0)} ms`, mib(st.rssMiB)]);
      }
      const extra = stats(many.samples).median - stats(one.samples).median;
      storeVerdicts.push({ target: `\`balance --item X --json\` on a ${STORE_ITEMS}-item store: at most ${TARGETS_SCALE.storeAddedMs} ms more than on a one-item store`, measured: `${extra >= 0 ? '+' : ''}${extra.toFixed(0)} ms (medians of ${opts.runs} interleaved rounds)`, result: extra <= TARGETS_SCALE.storeAddedMs ? 'PASS' : 'FAIL' });
      const rssExtra = (stats(many.samples).rssMiB ?? 0) - (stats(one.samples).rssMiB ?? 0);
      storeRows.push(['peak RSS, 10,001 items over 1 item', '', '', '', `+${rssExtra.toFixed(1)} MiB`]);
    }

    if (opts.only.has('import')) {
      // Production: Plaid's /item/get limit (5,000 per client a minute) is what bounds an import.
      const emulator = await startEmulator({ environment: 'production' });
      emulators.push(emulator);
      const tokens = Array.from({ length: IMPORT_TOKENS }, () => emulator.createItem().access_token);
      const dir = mkdtempSync(join(tmpdir(), 'plaidbal-bench-import-'));
      const env = cliEnv({ PLAIDBAL_CONFIG_DIR: dir, PLAIDBAL_BASE_URL: emulator.url, PLAID_ENV: 'production' });
      stores.push({ dir, env });
      await cli(env, ['config', 'init', '--env', 'production', '--client-id', TEST_CLIENT_ID, '--secret-stdin', '--key-source', 'keychain'], TEST_SECRET);
      const input = tokens.map((access_token, i) => JSON.stringify({ access_token, name: `acct-${i + 1}` })).join('\n') + '\n';
      const budget = 2_500;
      const bound = (IMPORT_TOKENS / budget) * 60_000;
      log(`import: ${IMPORT_TOKENS} tokens at the default budget (${budget}/min, ${ms(bound)} or so)…`);
      const r = await runWithStdin(plaidbal('items', 'import', '--format', 'ndjson', '--json'), env, input);
      const gets = emulator.requests.filter((q) => q.path === '/item/get');
      const doc = r.code === 0 ? (JSON.parse(r.stdout) as { summary: Record<string, number> }) : null;
      if (r.code !== 0) importNotes.push(`items import exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      const rss = r.rssKiB === null ? null : r.rssKiB / 1024;
      importRows.push([`items import --format ndjson, ${IMPORT_TOKENS} Production tokens, default budget`, ms(r.ms), `${ms(bound)} (${IMPORT_TOKENS}/${budget} min)`, `${(r.ms / bound).toFixed(2)}×`, `${gets.length} /item/get, ${gets.filter((q) => q.status === 429).length} 429s`, mib(rss)]);
      importVerdicts.push({ target: `\`items import\` of ${IMPORT_TOKENS} tokens: wall time close to the /item/get rate bound (within ${TARGETS_SCALE.importVsBound}×)`, measured: `${(r.ms / bound).toFixed(2)}× (${ms(r.ms)} vs ${ms(bound)}); ${doc ? `${doc.summary.imported} imported` : 'failed'}`, result: doc?.summary.imported === IMPORT_TOKENS && r.ms <= bound * TARGETS_SCALE.importVsBound ? 'PASS' : 'FAIL' });
      importVerdicts.push({ target: `… peak RSS ≤ ${TARGETS_SCALE.importRssMiB} MiB`, measured: mib(rss), result: rss === null ? 'NOT RUN' : rss <= TARGETS_SCALE.importRssMiB ? 'PASS' : 'FAIL' });
    }
  } finally {
    for (const e of emulators) await e.close();
    for (const store of stores) rmSync(store.dir, { recursive: true, force: true });
  }

  const write = (name: string, title: string, command: string, setup: string, headings: string[], r: string[][], v: Verdict[], n: string[]) =>
    reportSection(opts, started, { name, title, command, setup, headings, rows: r, verdicts: v, notes: n });
  if (opts.only.has('store')) {
    write(
      'store',
      'A large store (issue 11, §4)',
      'npm run bench -- --only store',
      `two OS-keychain stores made by plaidbal (\`config init\`, \`link --sandbox\`), one padded to ${STORE_ITEMS + 1} items written in plaidbal's layout (one item per line); the emulator with no latency. Every round runs \`node -e 0\` and both commands once, in a random order (${opts.runs} rounds after 2 warm-up rounds); medians of wall time, "added" over the median of \`node -e 0\`.`,
      ['Run', 'Median', 'p90', 'Added', 'Peak RSS'],
      storeRows,
      storeVerdicts,
      [],
    );
  }
  if (opts.only.has('import')) {
    write(
      'import',
      'items import of 10,000 tokens (issue 11, §1)',
      'npm run bench -- --only import',
      `a Production emulator (no added latency, its /item/get answered at once) holding ${IMPORT_TOKENS} items made directly (\`Emulator.createItem\`); an OS-keychain store; NDJSON on stdin. The bound is ${IMPORT_TOKENS} calls at the default budget, half of Plaid's 5,000 /item/get calls per client a minute. Peak RSS from GNU time. One run.`,
      ['Run', 'Wall', 'Rate bound', 'vs bound', 'Calls', 'Peak RSS'],
      importRows,
      importVerdicts,
      importNotes,
    );
  }
}

/** Runs argv with `input` on stdin (under GNU time when there is one). */
function runWithStdin(argv: string[], env: NodeJS.ProcessEnv, input: string): Promise<Sample> {
  const rssFile = haveGnuTime ? join(tmpdir(), `plaidbal-bench-rss-${process.pid}`) : null;
  const [command, args] = rssFile ? [GNU_TIME, ['-f', '%M', '-o', rssFile, ...argv]] : [argv[0]!, argv.slice(1)];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8000)));
    child.on('error', reject);
    child.on('close', (code) => {
      const rssKiB = takeRss(rssFile);
      resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, rssKiB, code, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  if (process.env[INNER]) {
    const keyring = await startKeyring();
    if (keyring.problem) log(`the private gnome-keyring did not come up: ${keyring.problem}`);
    try {
      await bench(opts, keyring.problem);
    } finally {
      await keyring.stop();
    }
    return 0;
  }
  if (process.platform === 'linux') {
    if (onPath('dbus-run-session') && onPath('gnome-keyring-daemon') && onPath('dbus-send')) return reexecUnderDbus();
    log('no dbus-run-session/gnome-keyring-daemon: the keychain runs are skipped (apt-get install -y gnome-keyring dbus-x11)');
    await bench(opts, 'no private Secret Service (install gnome-keyring and dbus-x11)');
    return 0;
  }
  // macOS and Windows: the real keychain (each store adds an entry under service "plaidbal").
  await bench(opts, undefined);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`[bench] could not run: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
