/**
 * A quick, harsh memory probe for a large fan-out: not a benchmark with goals (that is
 * `npm run bench -- --only rss,import`), but the run behind the "Figures behind the code" section
 * of docs/benchmarks.md, minutes shorter. The emulator answers at once with no rate limits, so
 * plaidbal runs at the highest budgets Plaid documents and allocates as fast as it ever will:
 *
 *   npx tsx scripts/heap-probe.ts                      # balance --all --cached over 10,000 items
 *   npx tsx scripts/heap-probe.ts --import             # items import of 10,000 tokens
 *   npx tsx scripts/heap-probe.ts --items 2000 --bin /other/build/bin/plaidbal.js
 *   npx tsx scripts/heap-probe.ts --node-arg --trace-gc-verbose --stdout /tmp/gc.txt
 *
 * It prints the run's peak RSS and wall time (GNU time). --bin measures another build (for
 * example one without preferSmallHeap() in src/plaid/ratelimit.ts); --node-arg passes a flag to node
 * (`--import` a probe, `--trace-gc`); --stdout keeps what the run prints (the gc trace with it).
 * The OS keychain is a private gnome-keyring in a private D-Bus session, as in `npm test`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { privateSessionEnv, startGnomeKeyring } from './private-keyring.mjs';
import { startEmulator, TEST_CLIENT_ID, TEST_SECRET } from '../test/emulator/index.js';
import { addItems } from '../test/helpers/bulk.js';

const SELF = fileURLToPath(import.meta.url);
const INNER = 'PLAIDBAL_HEAP_PROBE_KEYRING_DIR';

const args = process.argv.slice(2);
let items = 10_000;
let bin = join(dirname(dirname(SELF)), 'bin', 'plaidbal.js');
let mode: 'balance' | 'import' = 'balance';
let stdoutFile = '/dev/null';
const nodeArgs: string[] = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--items') items = Number(args[++i]);
  else if (arg === '--bin') bin = args[++i]!;
  else if (arg === '--import') mode = 'import';
  else if (arg === '--node-arg') nodeArgs.push(args[++i]!);
  else if (arg === '--stdout') stdoutFile = args[++i]!;
  else throw new Error(`unknown argument ${arg} (known: --items N, --bin PATH, --import, --node-arg FLAG, --stdout FILE)`);
}
if (!Number.isInteger(items) || items < 1) throw new Error('--items needs a whole number of at least 1');

if (!process.env[INNER]) {
  // Re-run inside a private D-Bus session, so that the developer's keyring is never touched.
  const dir = mkdtempSync(join(tmpdir(), 'plaidbal-heap-probe-keyring-'));
  try {
    const run = spawnSync('dbus-run-session', ['--', process.execPath, ...process.execArgv, SELF, ...args], { env: privateSessionEnv(dir, { ...process.env, [INNER]: dir }), stdio: 'inherit' });
    process.exit(run.status ?? 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const keyring = startGnomeKeyring('plaidbal-heap-probe');
const named = await keyring.waitForName();
if (!named.ok) throw new Error(`no private keyring: ${named.reason}`);
const emulator = await startEmulator({ environment: 'production', rateLimits: { perItem: 1e9, perClient: 1e9, windowMs: 60_000 } });
const dir = mkdtempSync(join(tmpdir(), 'plaidbal-heap-probe-'));
const env: NodeJS.ProcessEnv = { ...process.env, PLAIDBAL_CONFIG_DIR: dir, PLAIDBAL_BASE_URL: emulator.url, PLAID_ENV: 'production', NO_COLOR: '1', CI: '1' };

function run(argv: string[], input: string, measured: boolean): Promise<number> {
  const command = measured ? ['/usr/bin/time', '-f', `${argv.slice(0, 2).join(' ')}: peak RSS %M KiB, wall %e s`] : [];
  return new Promise((resolve, reject) => {
    const child = spawn(command[0] ?? process.execPath, [...command.slice(1), ...(command.length ? [process.execPath] : []), ...(measured ? nodeArgs : []), bin, ...argv], {
      env,
      stdio: ['pipe', measured ? openSync(stdoutFile, 'w') : 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? -1));
    child.stdin!.end(input);
  });
}

try {
  if ((await run(['config', 'init', '--env', 'production', '--client-id', TEST_CLIENT_ID, '--secret-stdin', '--key-source', 'keychain'], TEST_SECRET, false)) !== 0) throw new Error('config init failed');
  let code: number;
  if (mode === 'balance') {
    await addItems(emulator, env, 'production', items);
    // /accounts/get's documented Production limit (15,000 a minute) is the highest budget plaidbal allows.
    code = await run(['balance', '--all', '--cached', '--format', 'ndjson', '--rate', '15000', '--yes'], '', true);
  } else {
    const input = Array.from({ length: items }, (_, i) => JSON.stringify({ access_token: emulator.createItem().access_token, name: `acct-${i + 1}` })).join('\n') + '\n';
    // /item/get's documented Production limit: 5,000 a minute.
    code = await run(['items', 'import', '--format', 'ndjson', '--json', '--rate', '5000'], input, true);
  }
  process.stderr.write(`exit code ${code}\n`);
  process.exitCode = code === 0 ? 0 : 1;
} finally {
  await emulator.close();
  await keyring.stop();
  rmSync(dir, { recursive: true, force: true });
}
