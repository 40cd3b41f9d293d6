/**
 * Runs the Plaid emulator on its own, for `npm run demo` and by hand:
 *
 *   npx tsx test/emulator/main.ts [--port N] [--latency MS] [--env sandbox|production]
 *
 * Prints the URL and the test credentials, logs one line per request to stderr, and stops on Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { TEST_CLIENT_ID, TEST_SECRET, startEmulator } from './index.js';

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npx tsx test/emulator/main.ts [--port N] [--latency MS] [--env sandbox|production]\n`);
  process.exit(2);
}

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) usage(`--${name} must be a non-negative integer (got ${value})`);
  return n;
}

let values: { port?: string; latency?: string; env?: string };
try {
  ({ values } = parseArgs({ options: { port: { type: 'string' }, latency: { type: 'string' }, env: { type: 'string' } } }));
} catch (error) {
  usage(error instanceof Error ? error.message : String(error));
}
const environment = values.env ?? 'sandbox';
if (environment !== 'sandbox' && environment !== 'production') usage(`--env must be sandbox or production (got ${environment})`);

const emulator = await startEmulator({
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
    `Plaid emulator (${environment}) listening on ${emulator.url}`,
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
