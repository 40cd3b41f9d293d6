/**
 * `--help` and `--version` must stay cheap. The build makes units (scripts/build.mjs): `cli`,
 * which `--help` loads, and one per heavy package group, loaded on first use with Node's
 * require(). The first tests read what went into each unit from esbuild's metafile (dist/meta.json:
 * the units are minified, so no comment in them names a module); the others run the CLI and see
 * which of dist/'s files it loaded.
 *
 * Start-up also rests on a V8 code cache (src/load.ts): bin/plaidbal.js loads the units with it, from
 * the user's cache directory (XDG_CACHE_HOME/plaidbal here) or NODE_COMPILE_CACHE, and a cache that
 * cannot be written must never stop the CLI. How the loader picks, writes and drops cache files:
 * test/unit/load.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { UNIT_HEAD, UNIT_TAIL } from '../../src/unit-wrapper.mjs';
import { createSandboxItem, TEST_CLIENT_ID, TEST_SECRET } from '../emulator/index.js';
import { BIN, baseEnv, codeCacheEvents, DIST, filesUnder, runCli } from '../helpers/cli.js';
import { createWorld } from '../helpers/world.js';

/** The units of src/: cli, commands, and one per command family with enough code of its own (scripts/build.mjs, splitCli). */
const SRC_UNITS = ['cli', 'commands', 'balance', 'check', 'completion', 'config', 'doctor', 'items', 'link'];
const UNITS = [...SRC_UNITS, 'plaid', 'conf', 'table', 'chalk', 'prompts', 'open', 'tab'];
const source = (unit: string) => readFileSync(join(DIST, `${unit}.cjs`), 'utf8');

/** The modules that went into a unit, as esbuild's metafile lists them (`src/cli.ts`, `node_modules/commander/lib/command.js`…). */
function modulesOf(unit: string): string[] {
  const meta = JSON.parse(readFileSync(join(DIST, 'meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  const output = meta.outputs[`dist/${unit}.cjs`];
  if (!output) throw new Error(`dist/meta.json has no dist/${unit}.cjs`);
  return Object.keys(output.inputs);
}

function bundledPackages(unit: string): Set<string> {
  // The path is relative to the project, or leads out of it where node_modules is a link.
  return new Set(modulesOf(unit).flatMap((input) => /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1] ?? []));
}

/** The environment without any compile-cache setting of the parent's: the CLI decides. */
function cacheEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = baseEnv();
  delete env.NODE_COMPILE_CACHE;
  delete env.NODE_DISABLE_COMPILE_CACHE;
  delete env.NODE_DEBUG_NATIVE;
  return { ...env, ...extra };
}

describe('start-up cost', () => {
  it('the cli unit (all --help loads) bundles commander, and none of the heavy packages; chalk is a unit of its own', () => {
    const packages = bundledPackages('cli');
    expect(packages.has('commander')).toBe(true);
    expect(packages.has('chalk')).toBe(false);
    expect([...bundledPackages('chalk')]).toEqual(['chalk']);
    for (const heavy of ['plaid', 'axios', 'cli-table3', 'conf', 'ajv', 'open', '@bomb.sh/tab']) expect(packages.has(heavy), heavy).toBe(false);
    expect([...packages].filter((p) => p.startsWith('@inquirer/'))).toEqual([]);
  });

  it("the commands' logic is in units of their own, loaded when a command runs: one per command family, and commands for what several share; src/ modules live in one unit each", () => {
    const modules = (unit: string) => new Set(modulesOf(unit).filter((input) => input.startsWith('src/')));
    const cli = modules('cli');
    const commands = modules('commands');
    for (const definition of ['src/cli.ts', 'src/commands/balance/index.ts', 'src/commands/items/index.ts', 'src/errors.ts']) expect(cli.has(definition), definition).toBe(true);
    // What more than one command uses is in commands; what one family alone uses, in that family's unit.
    const home: Record<string, string> = {
      'src/store/store.ts': 'commands',
      'src/plaid/client.ts': 'commands',
      'src/commands/balance/run.ts': 'balance',
      'src/format/balance.ts': 'balance',
      'src/commands/link/sandbox.ts': 'link',
      'src/link/page.ts': 'link',
      'src/commands/doctor/checks.ts': 'doctor',
      'src/commands/items/import.ts': 'items',
    };
    for (const [logic, unit] of Object.entries(home)) expect(modules(unit).has(logic), `${logic} in ${unit}`).toBe(true);
    const units = [...new Set(Object.values(home))];
    for (const unit of units) expect([...cli].filter((m) => modules(unit).has(m)), unit).toEqual([]);
    for (const a of units) for (const b of units) if (a < b) expect([...modules(a)].filter((m) => modules(b).has(m)), `${a} and ${b}`).toEqual([]);
    // A balance reads neither link's page nor doctor's checks.
    for (const other of ['src/link/page.ts', 'src/commands/doctor/checks.ts', 'src/commands/items/import.ts']) expect(commands.has(other), other).toBe(false);
    expect(source('cli')).toContain('require("./commands.cjs")');
    expect(source('cli')).toContain('require("./balance.cjs")');
    // The other units get cli's own modules (one CliError class), which cli exports as __shared,
    // and a family's unit gets the store and the client from commands.
    expect(source('commands')).toMatch(/require\("\.\/cli\.cjs"\)(\.__shared|\["__shared"\])\["src\/errors\.ts"\]/);
    expect(source('balance')).toMatch(/require\("\.\/commands\.cjs"\)(\.modules|\["modules"\])\["src\/[a-z/-]+\.ts"\]/);
  });

  it('plaid, axios, conf, cli-table3, @inquirer/prompts, open and @bomb.sh/tab are in units of their own, which the cli and commands units require()', () => {
    const where: Record<string, string[]> = { plaid: ['plaid', 'axios'], conf: ['conf'], table: ['cli-table3'], prompts: ['@inquirer/core'], open: ['open'], tab: ['@bomb.sh/tab'] };
    for (const [unit, packages] of Object.entries(where)) {
      const bundled = bundledPackages(unit);
      for (const p of packages) expect(bundled.has(p), `${p} in the ${unit} unit`).toBe(true);
      expect(SRC_UNITS.map(source).join('')).toContain(`require(${JSON.stringify(`./${unit}.cjs`)})`);
    }
  });

  it("an import of a Node builtin copies none of the builtin's exports as a unit loads: the units use __nodeNamespace", () => {
    const namespaces = UNITS.flatMap((unit) => [...source(unit).matchAll(/__nodeNamespace\(require\("([^"]+)"\)\)/g)].map((m) => m[1]!));
    // plaid's unit (axios) imports Node's http, https, crypto, zlib, stream and util; the commands unit fs, os and process.
    for (const id of ['http', 'https', 'crypto', 'zlib', 'stream', 'util', 'node:fs', 'node:os', 'node:process']) expect(namespaces, id).toContain(id);
    expect(namespaces.every((id) => isBuiltin(id))).toBe(true);
    // esbuild's own helper for them, which defines a getter per export, is left to packages from npm (scripts/build.mjs).
    for (const unit of UNITS) {
      const copied = [...source(unit).matchAll(/__toESM\(require\("([^"]+)"\)/g)].map((m) => m[1]!).filter((id) => isBuiltin(id));
      expect(copied, unit).toEqual([]);
    }
  });

  it('bin/plaidbal.js keeps a code cache per command in the user\'s cache directory, written as the run ends, and the next run uses it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plaidbal-cache-'));
    try {
      const env = cacheEnv({ XDG_CACHE_HOME: dir, NODE_DEBUG: 'plaidbal', PLAIDBAL_CONFIG_DIR: join(dir, 'store') });
      const line = join(dir, 'plaidbal', `v8-${process.version}-${process.arch}`);
      const first = spawnSync(process.execPath, [BIN, '--help'], { env, encoding: 'utf8', timeout: 30_000 });
      expect(first.status, first.stderr).toBe(0);
      expect(first.stdout).toContain('Usage: plaidbal');
      expect(codeCacheEvents(first.stderr)).toEqual(['cli none', 'cli written']);
      // One directory per Node version and architecture; a file per unit, build (content hash) and command.
      expect(readdirSync(join(dir, 'plaidbal'))).toEqual([`v8-${process.version}-${process.arch}`]);
      const files = readdirSync(line);
      expect(files).toEqual([expect.stringMatching(/^cli-[0-9a-f]{16}-help-ok\.bin$/)]);
      const written = statSync(join(line, files[0]!));
      // The second run: V8 accepts the cache, the output is the same, and nothing is written.
      const second = spawnSync(process.execPath, [BIN, '--help'], { env, encoding: 'utf8', timeout: 30_000 });
      expect(second.status, second.stderr).toBe(0);
      expect(second.stdout).toBe(first.stdout);
      expect(codeCacheEvents(second.stderr)).toEqual(['cli accepted (ok)']);
      expect(readdirSync(line)).toEqual(files);
      expect(statSync(join(line, files[0]!)).mtimeMs).toBe(written.mtimeMs);
      // Another command keeps its own: it compiles other functions.
      const items = spawnSync(process.execPath, [BIN, 'items', '--json'], { env, encoding: 'utf8', timeout: 30_000 });
      expect(items.status, items.stderr).toBe(0);
      expect(codeCacheEvents(items.stderr)).toEqual(['cli none', 'items none', 'commands none', 'table none', 'cli written', 'items written', 'commands written', 'table written']);
      expect(readdirSync(line).filter((f) => /-items-ok\.bin$/.test(f)).map((f) => f.split('-')[0]).sort()).toEqual(['cli', 'commands', 'items', 'table']);
      // Made after the run, the cache holds the functions the run compiled: more than V8 compiles
      // as the file loads, which is all a cache made before the run (as Node's own compile cache is)
      // holds (sizes on Node 22 and 24: docs/benchmarks.md, "Figures behind the code").
      const beforeRun = new Script(source('cli'), { filename: join(DIST, 'cli.cjs') }).createCachedData().length;
      expect(written.size).toBeGreaterThan(3 * beforeRun);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('NODE_COMPILE_CACHE, when set, is where the cache goes; NODE_DISABLE_COMPILE_CACHE=1 writes none', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plaidbal-cache-'));
    try {
      const own = join(dir, 'node-cache');
      const r = spawnSync(process.execPath, [BIN, '--help'], { env: cacheEnv({ XDG_CACHE_HOME: join(dir, 'xdg'), NODE_COMPILE_CACHE: own }), encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(filesUnder(own).length).toBeGreaterThan(0);
      expect(filesUnder(join(dir, 'xdg'))).toEqual([]);
      const off = spawnSync(process.execPath, [BIN, '--help'], { env: cacheEnv({ XDG_CACHE_HOME: join(dir, 'off'), NODE_DISABLE_COMPILE_CACHE: '1' }), encoding: 'utf8', timeout: 30_000 });
      expect(off.status, off.stderr).toBe(0);
      expect(off.stdout).toBe(r.stdout);
      expect(filesUnder(join(dir, 'off'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a cache directory that cannot be made or written leaves the CLI working, and silent about it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plaidbal-cache-'));
    try {
      // A file where the cache directory would go: mkdir fails even for root (CI runs as root,
      // for whom a read-only mode means nothing).
      const file = join(dir, 'not-a-directory');
      await writeFile(file, 'x');
      const expected = spawnSync(process.execPath, [BIN, '--help'], { env: cacheEnv({ XDG_CACHE_HOME: join(dir, 'ok') }), encoding: 'utf8', timeout: 30_000 });
      for (const env of [{ XDG_CACHE_HOME: file }, { NODE_COMPILE_CACHE: join(file, 'cache') }]) {
        for (const args of [['--help'], ['items', '--json'], ['nonsense']]) {
          const r = spawnSync(process.execPath, [BIN, ...args], { env: cacheEnv({ ...env, PLAIDBAL_CONFIG_DIR: join(dir, 'store') }), encoding: 'utf8', timeout: 30_000 });
          const label = `${JSON.stringify(env)} ${args.join(' ')}`;
          if (args[0] === '--help') expect(r, label).toMatchObject({ status: 0, stdout: expected.stdout, stderr: '' });
          else if (args[0] === 'nonsense') expect(r.status, label).toBe(2);
          else {
            // A command that loads more units (the table's): an empty list.
            expect(r, label).toMatchObject({ status: 0, stderr: '' });
            expect(JSON.parse(r.stdout)).toEqual({ items: [] });
          }
        }
      }
      expect(readFileSync(file, 'utf8')).toBe('x');
      // A cache file cut short (by a disk that failed some other writer) is rejected by V8, and then made again.
      const cut = join(dir, 'cut');
      const env = cacheEnv({ XDG_CACHE_HOME: cut });
      expect(spawnSync(process.execPath, [BIN, '--help'], { env, encoding: 'utf8', timeout: 30_000 }).status).toBe(0);
      const [line] = readdirSync(join(cut, 'plaidbal'));
      const cached = filesUnder(join(cut, 'plaidbal', line!)).map((f) => join(cut, 'plaidbal', line!, f));
      expect(cached.length).toBeGreaterThan(0);
      for (const f of cached) await writeFile(f, readFileSync(f).subarray(0, 4096));
      const after = spawnSync(process.execPath, [BIN, '--help'], { env, encoding: 'utf8', timeout: 30_000 });
      expect(after).toMatchObject({ status: 0, stdout: expected.stdout, stderr: '' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a one-item balance loads none of the Node modules the build keeps out of its way', async () => {
    // Each costs a share of every run (docs/benchmarks.md, "Figures behind the code") and is kept
    // out by an edit in scripts/build.mjs: perf_hooks (p-retry's clock), internal/navigator (axios's
    // browser check), http2 (axios, only for httpVersion 2), child_process (commander, only for
    // executable subcommands), assert (conf), and undici (axios's FormData and fetch globals); and
    // module, which src/store/keychain.ts needs only to start its helper (never for a Linux read).
    const KEPT_OUT = ['perf_hooks', 'internal/navigator', 'http2', 'child_process', 'assert', 'internal/deps/undici/undici', 'module'];
    const world = await createWorld({}, {}, { inProcess: true });
    const dir = await mkdtemp(join(tmpdir(), 'plaidbal-builtins-'));
    try {
      // The two ways to a balance: a one-shot token, and an item stored under a keychain key.
      expect((await world.init('keychain')).code).toBe(0);
      expect((await world.link('demo')).code).toBe(0);
      const { access_token } = await createSandboxItem(world.emulator, { initial_products: ['auth'] });
      const oneShotEnv = { PLAIDBAL_CONFIG_DIR: join(dir, 'none'), PLAID_CLIENT_ID: TEST_CLIENT_ID, PLAID_SECRET: TEST_SECRET, PLAID_ENV: 'sandbox' };
      for (const [what, args, extra, stdin] of [
        ['one-shot', ['balance', '--access-token-stdin', '--json'], oneShotEnv, `${access_token}\n`],
        ['stored, keychain', ['balance', '--item', 'demo', '--json'], {}, ''],
      ] as const) {
        const spy = join(dir, 'spy.cjs');
        const log = join(dir, 'builtins.json');
        await writeFile(spy, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(log)}, JSON.stringify(process.moduleLoadList)));`);
        const env = { ...world.env, NODE_OPTIONS: `--require ${spy}`, ...extra };
        delete (env as NodeJS.ProcessEnv).PLAIDBAL_PASSPHRASE;
        const r = await runCli([...args], { env, stdin });
        expect(r.code, `${what}: ${r.stderr}`).toBe(0);
        expect(JSON.parse(r.stdout).items[0].accounts.length, what).toBeGreaterThan(0);
        const loaded = (JSON.parse(await readFile(log, 'utf8')) as string[]).filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
        // The spy sees what the run loads: the HTTP client and the cipher, for one.
        expect(loaded, what).toEqual(expect.arrayContaining(['http', 'crypto', 'zlib']));
        expect(loaded.filter((m) => KEPT_OUT.includes(m)), what).toEqual([]);
      }
    } finally {
      await world.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the code cache holds plaidbal\'s compiled code and never a secret it was given', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plaidbal-cache-'));
    try {
      const tag = `${process.pid}${Date.now()}`;
      const token = `access-sandbox-cachecheck-${tag}`;
      const secret = `cachecheck_secret_${tag}`;
      const cache = join(dir, 'cache');
      // A one-shot balance: the token on stdin, the secret in the environment, Plaid at a closed
      // port. It loads the cli and plaid units, and their caches are written at exit.
      const r = spawnSync(process.execPath, [BIN, 'balance', '--access-token-stdin', '--json', '--timeout', '2'], {
        env: cacheEnv({ XDG_CACHE_HOME: cache, HOME: dir, PLAIDBAL_CONFIG_DIR: join(dir, 'none'), PLAIDBAL_BASE_URL: 'http://127.0.0.1:9', PLAID_CLIENT_ID: 'cachecheckclient', PLAID_SECRET: secret, PLAID_ENV: 'sandbox' }),
        input: `${token}\n`,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status, r.stderr).not.toBe(0); // Plaid was unreachable
      const files = filesUnder(cache);
      expect(files.length, r.stderr).toBeGreaterThanOrEqual(2); // cli and plaid at least
      const all = files.map((file) => readFileSync(join(cache, file)));
      // The search can see strings in a cache: the units' first line names pathToFileURL.
      expect(all.some((bytes) => bytes.includes('pathToFileURL'))).toBe(true);
      all.forEach((bytes, i) => {
        for (const needle of [token, secret, tag]) expect(bytes.includes(needle), `${needle} in ${files[i]}`).toBe(false);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a unit the build did not write (not wrapped in its CommonJS function) stops the CLI with exit 1 and the fix, before any command runs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plaidbal-unwrapped-'));
    try {
      // A copy of the built CLI whose cli.cjs is the bundle without its wrapper, as an older build wrote it.
      await cp(join(DIST, '..', 'bin'), join(dir, 'bin'), { recursive: true });
      await cp(DIST, join(dir, 'dist'), { recursive: true });
      const wrapped = source('cli');
      await writeFile(join(dir, 'dist', 'cli.cjs'), wrapped.slice(UNIT_HEAD.length, -UNIT_TAIL.length));
      const store = join(dir, 'store');
      const r = spawnSync(process.execPath, [join(dir, 'bin', 'plaidbal.js'), 'items'], { env: cacheEnv({ XDG_CACHE_HOME: join(dir, 'cache'), PLAIDBAL_CONFIG_DIR: store }), encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`${join(dir, 'dist', 'cli.cjs')} is not a plaidbal unit`);
      expect(r.stderr).toContain('run npm run build');
      // Nothing ran: no store directory was made, and no code cache was written.
      expect(existsSync(store)).toBe(false);
      expect(existsSync(join(dir, 'cache'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--version prints the package version and --help lists every command with examples', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const version = await runCli(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['config', 'link', 'balance', 'check', 'items', 'sandbox', 'doctor', 'completion']) expect(help.stdout).toContain(`  ${command}`);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('Exit codes:');
    for (const sub of [['balance'], ['link'], ['items'], ['config', 'init'], ['doctor'], ['completion']]) {
      const r = await runCli([...sub, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Examples:');
    }
  });

  it('usage errors exit 2 on stderr, with nothing on stdout', async () => {
    for (const args of [['--bogus'], ['balance', '--bogus'], ['items', 'rename'], ['nonsense'], ['balance', '--timeout', 'soon']]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/error: /);
    }
  });

  it('shell completion loads the cli, commands, completion and tab units only: never plaid, conf, cli-table3, @inquirer/prompts or open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plaidbal-startup-'));
    try {
      // Records which of dist/'s files a run loaded: require() puts load.cjs and version.cjs in
      // require.cache; the units load through dist/load.cjs, which names each (NODE_DEBUG=plaidbal).
      const spy = join(dir, 'spy.cjs');
      await writeFile(spy, `process.on('exit', () => require('node:fs').writeFileSync(process.env.UNITS_SPY_LOG, JSON.stringify(Object.keys(require.cache))));`);
      const item = { item_id: 'x'.repeat(37), alias: 'demo', environment: 'sandbox', institution_id: null, institution_name: null, products: ['auth'], linked_at: '2026-01-01T00:00:00.000Z', access_token: 'sealed' };
      await writeFile(join(dir, 'store.json'), JSON.stringify({ version: 1, store_id: 's', key: { source: 'keychain', account: 'store-s', check: 'c' }, profiles: {}, items: [item] }));
      const unitsLoaded = async (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
        const log = join(dir, 'loaded.json');
        const r = spawnSync(process.execPath, ['--require', spy, BIN, ...args], { env: baseEnv({ PLAIDBAL_CONFIG_DIR: dir, UNITS_SPY_LOG: log, NODE_DEBUG: 'plaidbal', ...extraEnv }), encoding: 'utf8', timeout: 30_000 });
        expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
        const loaded: string[] = JSON.parse(await readFile(log, 'utf8'));
        const required = loaded.filter((file) => !relative(DIST, file).startsWith('..')).map((file) => relative(DIST, file));
        const units = codeCacheEvents(r.stderr).filter((event) => / (none|accepted|rejected)/.test(event)).map((event) => event.split(' ')[0]!);
        return { stdout: r.stdout, required, units: UNITS.filter((unit) => units.includes(unit)) };
      };
      const aliases = await unitsLoaded(['complete', '--', 'balance', '--item', '']);
      expect(aliases.stdout).toMatch(/^demo\tsandbox\n:4\n$/);
      expect(aliases.units).toEqual(['cli', 'commands', 'completion', 'tab']);
      for (const args of [['complete', '--', 'link', '--products', ''], ['complete', '--', ''], ['completion', 'zsh']]) {
        expect((await unitsLoaded(args)).units, args.join(' ')).toEqual(['cli', 'commands', 'completion', 'tab']);
      }
      // --help loads load.cjs and the cli unit, nothing else of dist/; --version only the version.
      // And the spy sees the units a command does load: listing items opens the store (conf: this
      // one is not in plaidbal's own layout) and draws a table.
      const help = await unitsLoaded(['--help']);
      expect(help.required).toEqual(['load.cjs']);
      expect(help.units).toEqual(['cli']);
      const version = await unitsLoaded(['--version']);
      expect(version.required).toEqual(['version.cjs']);
      expect(version.units).toEqual([]);
      const items = await unitsLoaded(['items']);
      expect(items.units).toEqual(expect.arrayContaining(['cli', 'commands', 'conf', 'table']));
      // Colour loads chalk's unit; a run without colour (a pipe, or NO_COLOR) never does.
      expect(items.units).not.toContain('chalk');
      expect(items.stdout).toContain('demo');
      expect(items.stdout).not.toContain('\u001b[');
      const coloured = await unitsLoaded(['items'], { FORCE_COLOR: '1' });
      expect(coloured.units).toContain('chalk');
      expect(coloured.stdout).toContain('\u001b[1m'); // the bold headings
      const noColor = await unitsLoaded(['items'], { FORCE_COLOR: '1', NO_COLOR: '1' });
      expect(noColor.units).not.toContain('chalk');
      expect(noColor.stdout).toBe(items.stdout);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
