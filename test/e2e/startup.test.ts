/**
 * `--help` and `--version` must stay cheap. The build makes units (src/load.ts): `cli`, which
 * `--help` loads, and one per heavy package group, loaded on first use. esbuild marks every
 * bundled module with a `// node_modules/<pkg>/…` comment, which is what this reads; and every
 * unit's V8 code cache must be one this Node accepts (the suite runs on the Node that built it).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, baseEnv, DIST, runCli } from '../helpers/cli.js';

const units: Record<string, string> = JSON.parse(readFileSync(join(DIST, 'units.json'), 'utf8'));
const source = (unit: string) => readFileSync(join(DIST, `${units[unit]}.cjs`), 'utf8');

function bundledPackages(code: string): Set<string> {
  return new Set([...code.matchAll(/^\/\/ node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)].map((m) => m[1]!));
}

describe('start-up cost', () => {
  it('the cli unit (all --help loads) bundles commander and chalk, and none of the heavy packages', () => {
    const packages = bundledPackages(source('cli'));
    expect(packages.has('commander')).toBe(true);
    expect(packages.has('chalk')).toBe(true);
    for (const heavy of ['plaid', 'axios', 'cli-table3', 'conf', 'ajv', 'open', '@bomb.sh/tab']) expect(packages.has(heavy), heavy).toBe(false);
    expect([...packages].filter((p) => p.startsWith('@inquirer/'))).toEqual([]);
  });

  it('plaid, axios, conf, cli-table3, @inquirer/prompts, open and @bomb.sh/tab are in units of their own, reached through __plaidbalVendor', () => {
    const where: Record<string, string[]> = { plaid: ['plaid', 'axios'], conf: ['conf'], table: ['cli-table3'], prompts: ['@inquirer/core'], open: ['open'], tab: ['@bomb.sh/tab'] };
    for (const [unit, packages] of Object.entries(where)) {
      const bundled = bundledPackages(source(unit));
      for (const p of packages) expect(bundled.has(p), `${p} in the ${unit} unit`).toBe(true);
      expect(source('cli')).toContain(`__plaidbalVendor(${JSON.stringify(unit)}, `);
    }
  });

  it('every unit has a V8 code cache that this Node accepts, under the V8 flags plaidbal runs with', () => {
    // In a child: setting V8's flags would change this test process's V8 for the rest of the file.
    const check = (setFlags: boolean) => {
      const code = `const l = require(${JSON.stringify(join(DIST, 'load.cjs'))}); ${setFlags ? 'l.setV8Flags();' : ''}
        process.stdout.write(JSON.stringify(Object.fromEntries(${JSON.stringify(Object.keys(units))}.map((u) => [u, l.compileUnit(${JSON.stringify(DIST)}, u).cacheRejected]))));`;
      const run = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as Record<string, boolean | undefined>;
    };
    expect(check(true)).toEqual(Object.fromEntries(Object.keys(units).map((u) => [u, false])));
    // V8 keys a cache on its flags: without bin/plaidbal.js's flags, every cache is refused. (Were
    // V8_FLAGS ever empty, this would fail: drop it then.)
    expect(Object.values(check(false))).toEqual(Object.keys(units).map(() => true));
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

  it('shell completion loads the cli and tab units only: never plaid, conf, cli-table3, @inquirer/prompts or open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plaidbal-startup-'));
    try {
      // Records which of dist/'s files a run reads: load.cjs reads each unit it loads (src/load.ts).
      const spy = join(dir, 'spy.cjs');
      await writeFile(
        spy,
        `const fs = require('node:fs'); const read = fs.readFileSync; const seen = new Set();
         fs.readFileSync = function (file, ...rest) { if (typeof file === 'string') seen.add(file); return read.call(this, file, ...rest); };
         process.on('exit', () => fs.writeFileSync(process.env.UNITS_SPY_LOG, JSON.stringify([...seen])));`,
      );
      const item = { item_id: 'x'.repeat(37), alias: 'demo', environment: 'sandbox', institution_id: null, institution_name: null, products: ['auth'], linked_at: '2026-01-01T00:00:00.000Z', access_token: 'sealed' };
      await writeFile(join(dir, 'store.json'), JSON.stringify({ version: 1, store_id: 's', key: null, profiles: {}, items: [item] }));
      const unitsLoaded = async (args: string[]) => {
        const log = join(dir, 'units.json');
        const r = spawnSync(process.execPath, ['--require', spy, BIN, ...args], { env: baseEnv({ PLAIDBAL_CONFIG_DIR: dir, UNITS_SPY_LOG: log }), encoding: 'utf8', timeout: 30_000 });
        expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
        const read: string[] = JSON.parse(await readFile(log, 'utf8'));
        return { stdout: r.stdout, units: Object.keys(units).filter((unit) => read.includes(join(DIST, `${units[unit]}.cjs`))) };
      };
      const aliases = await unitsLoaded(['complete', '--', 'balance', '--item', '']);
      expect(aliases.stdout).toMatch(/^demo\tsandbox\n:4\n$/);
      expect(aliases.units).toEqual(['cli', 'tab']);
      for (const args of [['complete', '--', 'link', '--products', ''], ['complete', '--', ''], ['completion', 'zsh']]) {
        expect((await unitsLoaded(args)).units, args.join(' ')).toEqual(['cli', 'tab']);
      }
      // --help does not load tab; and the spy sees the units a command does load: listing items
      // opens the store (conf) and draws a table.
      expect((await unitsLoaded(['--help'])).units).toEqual(['cli']);
      expect((await unitsLoaded(['items'])).units).toEqual(expect.arrayContaining(['cli', 'conf', 'table']));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
