/**
 * `npm run demo`: the main job, end to end, against the bundled Plaid emulator and a
 * throw-away store. It runs the real built CLI, exactly as a user would.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator, TEST_CLIENT_ID, TEST_SECRET } from '../test/emulator/index.js';

const bin = fileURLToPath(new URL('../bin/plaidbal.js', import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<number> {
  process.stderr.write(`\n\x1b[2m$ plaidbal ${args.join(' ')}\x1b[0m\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'inherit', 'inherit'] });
    if (stdin !== undefined) child.stdin!.end(stdin);
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

const emulator = await startEmulator();
const dir = await mkdtemp(join(tmpdir(), 'plaidbal-demo-'));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PLAIDBAL_CONFIG_DIR: dir,
  PLAIDBAL_BASE_URL: emulator.url,
  // The demo store is thrown away, so it uses a passphrase rather than a keychain entry.
  PLAIDBAL_PASSPHRASE: 'demo passphrase, not a secret',
  PLAID_ENV: 'sandbox',
};
delete env.PLAID_CLIENT_ID;
delete env.PLAID_SECRET;
process.stderr.write(`Plaid emulator at ${emulator.url}; temporary store in ${dir}\n`);

let code = 1;
try {
  const steps: [string[], string?][] = [
    [['config', 'init', '--env', 'sandbox', '--client-id', TEST_CLIENT_ID, '--secret-stdin', '--key-source', 'passphrase'], TEST_SECRET],
    [['link', '--sandbox', '--institution', 'ins_109508', '--name', 'demo']],
    [['balance', '--item', 'demo']],
  ];
  for (const [args, stdin] of steps) {
    code = await run(args, env, stdin);
    if (code !== 0) break;
  }
} finally {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
}
process.exitCode = code;
