/**
 * Runs the Plaid emulator on its own, for `npm run demo` and by hand:
 *
 *   npx tsx test/emulator/main.ts [--port N] [--latency MS] [--env sandbox|production]
 *   npx tsx test/emulator/main.ts --plaid-like [--time-scale X] [--seed N] [--port N]
 *
 * --plaid-like (or PLAID_EMULATOR_PLAID_LIKE=1) is Plaid Production under load (plaid-like.ts):
 * log-normal balance latency (median 3 s, 95th percentile 11 s, at most 30 s) and Plaid's
 * per-client (1,200/min) and per-item (5/min) balance limits, answered with Plaid's 429s.
 * --time-scale multiplies the latency (0.01: median 30 ms); the limits stay per real minute.
 *
 * Prints the URL and the test credentials, logs one line per request to stderr, and stops on Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { TEST_CLIENT_ID, TEST_SECRET, plaidLike, startEmulator } from './index.js';

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npx tsx test/emulator/main.ts [--port N] [--latency MS] [--env sandbox|production] [--plaid-like [--time-scale X] [--seed N]]\n`);
  process.exit(2);
}

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) usage(`--${name} must be a non-negative integer (got ${value})`);
  return n;
}

let values: { port?: string; latency?: string; env?: string; 'plaid-like'?: boolean; 'time-scale'?: string; seed?: string };
try {
  ({ values } = parseArgs({
    options: { port: { type: 'string' }, latency: { type: 'string' }, env: { type: 'string' }, 'plaid-like': { type: 'boolean' }, 'time-scale': { type: 'string' }, seed: { type: 'string' } },
  }));
} catch (error) {
  usage(error instanceof Error ? error.message : String(error));
}
const plaidLikeMode = values['plaid-like'] || process.env.PLAID_EMULATOR_PLAID_LIKE === '1';
const environment = values.env ?? (plaidLikeMode ? 'production' : 'sandbox');
if (environment !== 'sandbox' && environment !== 'production') usage(`--env must be sandbox or production (got ${environment})`);
const timeScale = values['time-scale'] === undefined ? 1 : Number(values['time-scale']);
if (!(timeScale > 0)) usage(`--time-scale must be a positive number (got ${values['time-scale']})`);

const emulator = await startEmulator({
  ...(plaidLikeMode ? plaidLike({ timeScale, seed: integer(values.seed, 'seed') }) : {}),
  port: integer(values.port, 'port'),
  latencyMs: integer(values.latency, 'latency'),
  environment,
  onRequest: (r) => {
    const error = typeof r.response === 'object' && r.response !== null && 'error_code' in r.response ? ` ${String(r.response.error_code)}` : '';
    process.stderr.write(`${new Date(r.at).toISOString()} ${r.method} ${r.path} -> ${r.status || 'no response'}${error}${r.fault ? ` (fault: ${r.fault})` : ''}\n`);
  },
});

process.stdout.write(
  [
    `Plaid emulator (${environment}${plaidLikeMode ? `, Plaid-like: latency x${timeScale}, 1,200/min per client, 5/min per item` : ''}) listening on ${emulator.url}`,
    '',
    'Point plaidbal at it with:',
    `  export PLAIDBAL_BASE_URL=${emulator.url}`,
    `  export PLAID_ENV=${environment}`,
    `  export PLAID_CLIENT_ID=${TEST_CLIENT_ID}`,
    `  export PLAID_SECRET=${TEST_SECRET}`,
    '',
    'Sandbox logins: user_good / pass_good; password error_<CODE> (e.g. error_ITEM_LOCKED) fails with that error.',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'),
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void emulator.close().then(() => process.exit(0));
  });
}
