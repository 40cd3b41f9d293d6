/**
 * The package as a user installs it, on the Node running the suite (CI runs it on 22 and 24):
 *
 * - the packed tarball, installed into a temporary global prefix: at most 12 MiB installed, the
 *   keychain binding its only package from npm, and `--version`, `config init`, `link --sandbox`
 *   and `balance` working from the installed copy;
 * - the README's install-from-a-clone commands, word for word, on a fresh `git clone` of this
 *   repository: `npm ci && npm run build`, then `npm install -g .`.
 *
 * npm runs with --prefer-offline: the suite's own `npm ci` has filled its cache. These spawn npm
 * and take a minute or two: what only an installed package shows.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv } from '../helpers/cli.js';
import { startEmulator, TEST_CLIENT_ID, TEST_SECRET, type Emulator } from '../emulator/index.js';

const run = promisify(execFile);
const ROOT = dirname(dirname(dirname(new URL(import.meta.url).pathname)));
const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
const scratch = mkdtempSync(join(tmpdir(), 'plaidbal-install-'));
// The suite's Node first on PATH, so npm and the installed bin run on it.
const env = baseEnv({ PATH: `${dirname(process.execPath)}:${process.env.PATH}`, npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' });
// As a user runs it: the code cache in the user's cache directory (XDG_CACHE_HOME below), not the suite's.
delete env.NODE_COMPILE_CACHE;
let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator?.close();
  rmSync(scratch, { recursive: true, force: true });
});

function sizeOf(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

const sh = (command: string, args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}) => run(command, args, { cwd, env: { ...env, ...extra }, maxBuffer: 64 * 1024 * 1024 });

/**
 * --version, --help, then config init (with that key source), link --sandbox and balance against
 * the emulator, with `bin` as installed; and the code cache those runs leave in the user's
 * cache directory (src/load.ts), one directory per Node line, holding the installed bundles' caches.
 */
async function useInstalled(bin: string, keySource: 'keychain' | 'passphrase') {
  expect((await sh(bin, ['--version'], scratch)).stdout.trim()).toBe(version);
  const store = mkdtempSync(join(scratch, 'store-'));
  const cache = mkdtempSync(join(scratch, 'cache-'));
  const cliEnv = { PLAIDBAL_CONFIG_DIR: store, PLAIDBAL_BASE_URL: emulator.url, PLAIDBAL_PASSPHRASE: 'installed passphrase', XDG_CACHE_HOME: cache };
  expect((await sh(bin, ['--help'], scratch, cliEnv)).stdout).toContain('Usage: plaidbal');
  const init = sh(bin, ['config', 'init', '--env', 'sandbox', '--client-id', TEST_CLIENT_ID, '--secret-stdin', '--key-source', keySource], scratch, cliEnv);
  init.child.stdin!.end(TEST_SECRET);
  await init;
  await sh(bin, ['link', '--sandbox', '--name', 'installed'], scratch, cliEnv);
  const balance = JSON.parse((await sh(bin, ['balance', '--item', 'installed', '--json'], scratch, cliEnv)).stdout);
  expect(balance.items[0]).toMatchObject({ name: 'installed', error: null });
  expect(balance.items[0].accounts.length).toBeGreaterThan(0);
  const lines = readdirSync(join(cache, 'plaidbal'));
  expect(lines).toEqual([`v8-${process.version}-${process.arch}`]);
  // A cache per unit and command: cli for each command run, commands and plaid for the ones that
  // called Plaid, and each command family's own unit (scripts/build.mjs, splitCli) for its command.
  const files = readdirSync(join(cache, 'plaidbal', lines[0]!));
  for (const name of files) expect(name).toMatch(/^(cli|commands|balance|check|completion|config|doctor|items|link|plaid|conf|table|chalk|prompts|open|tab)-[0-9a-f]{16}-[a-z-]+-(ok|failed)\.bin$/);
  for (const [unit, command] of [['cli', 'help'], ['cli', 'config'], ['cli', 'link'], ['cli', 'balance'], ['commands', 'balance'], ['balance', 'balance'], ['link', 'link'], ['config', 'config'], ['plaid', 'link'], ['plaid', 'balance']]) {
    expect(files.some((name) => name.startsWith(`${unit}-`) && name.endsWith(`-${command}-ok.bin`)), `${unit} for ${command} in ${files.join(', ')}`).toBe(true);
  }
}

describe('installing plaidbal', () => {
  it('the packed tarball installs at most 12 MiB, only the keychain binding from npm, and runs', async () => {
    const packed = join(scratch, 'pack');
    const prefix = join(scratch, 'global');
    mkdirSync(packed);
    await sh('npm', ['pack', '--pack-destination', packed], ROOT);
    const tarball = join(packed, `plaidbal-${version}.tgz`);
    expect(existsSync(tarball)).toBe(true);
    await sh('npm', ['install', '-g', '--prefix', prefix, tarball], scratch);
    const installed = join(prefix, 'lib', 'node_modules', 'plaidbal');
    const size = sizeOf(installed);
    expect(size, `${(size / 2 ** 20).toFixed(1)} MiB installed`).toBeLessThanOrEqual(12 * 2 ** 20);
    const fromNpm = readdirSync(join(installed, 'node_modules')).flatMap((scope) => (scope.startsWith('@') ? readdirSync(join(installed, 'node_modules', scope)).map((n) => `${scope}/${n}`) : [scope]));
    expect(fromNpm.filter((n) => !n.startsWith('.')).every((n) => n.startsWith('@napi-rs/keyring')), fromNpm.join(', ')).toBe(true);
    // The keychain: the one package loaded from node_modules at run time.
    await useInstalled(join(prefix, 'bin', 'plaidbal'), 'keychain');
  }, 300_000);

  it("the README's install from a fresh clone works, command for command", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const install = readme.slice(readme.indexOf('## Install'), readme.indexOf('## Quick start'));
    expect(install).toContain('npm ci && npm run build');
    expect(install).toContain('npm install -g .');
    const clone = join(scratch, 'clone');
    const prefix = join(scratch, 'global-clone');
    await sh('git', ['clone', '-q', ROOT, clone], scratch);
    await sh('sh', ['-c', 'npm ci && npm run build'], clone);
    await sh('npm', ['install', '-g', '--prefix', prefix, '.'], clone);
    await useInstalled(join(prefix, 'bin', 'plaidbal'), 'passphrase');
  }, 300_000);
});
