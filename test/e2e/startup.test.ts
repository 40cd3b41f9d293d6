/**
 * `--help` and `--version` must stay cheap: the modules they load (the entry chunk and its
 * static imports) must not contain plaid, @inquirer/* or cli-table3. esbuild marks every
 * bundled module with a `// node_modules/<pkg>/…` comment, which is what this reads.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIST, runCli } from '../helpers/cli.js';

function staticGraph(entry: string): Map<string, string> {
  const seen = new Map<string, string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const code = readFileSync(file, 'utf8');
    seen.set(file, code);
    for (const m of code.matchAll(/^\s*(?:import|export)\s[^;]*?from\s*["'](\.[^"']+)["']/gm)) visit(join(dirname(file), m[1]!));
    for (const m of code.matchAll(/^\s*import\s*["'](\.[^"']+)["']/gm)) visit(join(dirname(file), m[1]!));
  };
  visit(entry);
  return seen;
}

function bundledPackages(code: string): Set<string> {
  return new Set([...code.matchAll(/^\/\/ node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)].map((m) => m[1]!));
}

describe('start-up cost', () => {
  const graph = staticGraph(DIST);
  const packages = new Set([...graph.values()].flatMap((code) => [...bundledPackages(code)]));

  it('the entry graph bundles commander and chalk only', () => {
    expect(packages.has('commander')).toBe(true);
    for (const heavy of ['plaid', 'axios', 'cli-table3', 'conf', 'ajv', 'open']) expect(packages.has(heavy), heavy).toBe(false);
    expect([...packages].filter((p) => p.startsWith('@inquirer/'))).toEqual([]);
  });

  it('plaid and @inquirer/prompts are bundled, in chunks loaded on demand', () => {
    const all = readFileSync(DIST, 'utf8');
    const dynamic = [...all.matchAll(/import\(["'](\.[^"']+)["']\)/g)].map((m) => m[1]);
    expect(dynamic.length).toBeGreaterThan(3);
    // Follow dynamic imports from every chunk to prove the heavy packages are reachable at all.
    const queue = [DIST];
    const reachable = new Map<string, string>();
    while (queue.length) {
      const file = queue.pop()!;
      if (reachable.has(file)) continue;
      const code = readFileSync(file, 'utf8');
      reachable.set(file, code);
      for (const m of code.matchAll(/(?:from\s*|import\s*\(?\s*)["'](\.\.?\/[^"']+\.js)["']/g)) {
        const target = join(dirname(file), m[1]!);
        if (existsSync(target)) queue.push(target);
      }
    }
    const reachablePackages = new Set([...reachable.values()].flatMap((c) => [...bundledPackages(c)]));
    expect(reachablePackages.has('plaid')).toBe(true);
    expect(reachablePackages.has('cli-table3')).toBe(true);
    expect([...reachablePackages].some((p) => p.startsWith('@inquirer/'))).toBe(true);
  });

  it('--version prints the package version and --help lists every command with examples', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const version = await runCli(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['config', 'link', 'balance', 'check', 'items', 'sandbox']) expect(help.stdout).toContain(`  ${command}`);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('Exit codes:');
    for (const sub of [['balance'], ['link'], ['items'], ['config', 'init']]) {
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
