/**
 * `--help` and `--version` must stay cheap. The build makes units (src/load.ts): `cli`, which
 * `--help` loads, and one per heavy package group, loaded on first use. esbuild marks every
 * bundled module with a `// node_modules/<pkg>/…` comment, which is what this reads; and every
 * unit's V8 code cache must be one this Node accepts (the suite runs on the Node that built it).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileUnit } from '../../src/load.js';
import { DIST, runCli } from '../helpers/cli.js';

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
    for (const heavy of ['plaid', 'axios', 'cli-table3', 'conf', 'ajv', 'open']) expect(packages.has(heavy), heavy).toBe(false);
    expect([...packages].filter((p) => p.startsWith('@inquirer/'))).toEqual([]);
  });

  it('plaid, axios, conf, cli-table3, @inquirer/prompts and open are in units of their own, reached through __plaidbalVendor', () => {
    const where: Record<string, string[]> = { plaid: ['plaid', 'axios'], conf: ['conf'], table: ['cli-table3'], prompts: ['@inquirer/core'], open: ['open'] };
    for (const [unit, packages] of Object.entries(where)) {
      const bundled = bundledPackages(source(unit));
      for (const p of packages) expect(bundled.has(p), `${p} in the ${unit} unit`).toBe(true);
      expect(source('cli')).toContain(`__plaidbalVendor(${JSON.stringify(unit)}, `);
    }
  });

  it('every unit has a V8 code cache that this Node accepts', () => {
    for (const unit of Object.keys(units)) {
      expect(compileUnit(DIST, unit).cacheRejected, unit).toBe(false);
    }
  });

  it('--version prints the package version and --help lists every command with examples', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const version = await runCli(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['config', 'link', 'balance', 'check', 'items', 'sandbox', 'doctor']) expect(help.stdout).toContain(`  ${command}`);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('Exit codes:');
    for (const sub of [['balance'], ['link'], ['items'], ['config', 'init'], ['doctor']]) {
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
});
