/**
 * The unit loader and its code cache (src/load.ts), on small units of its own: which file a run
 * reads and writes, when it writes, and that a cache it cannot use never stops it. What the real
 * bundles do with it (the cache directory, a run that reads it back, no secret in it):
 * test/e2e/startup.test.ts.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheKey, compileCacheDir, noteV8FlagsChanged, unitLoader } from '../../src/load.js';
import { wrapUnit } from '../../src/unit-wrapper.mjs';

const HASHES = { a: '0123456789abcdef', b: 'fedcba9876543210' };
const LINE = `v8-${process.version}-${process.arch}`;
let root: string;
let dist: string;
let cacheDir: string;
const cached = () => readdirSync(join(cacheDir, LINE)).sort();

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'plaidbal-load-'));
  dist = join(root, 'dist');
  cacheDir = join(root, 'cache');
  mkdirSync(dist);
  // a requires b the way the cli unit requires the plaid unit; b is loaded once however often it is required.
  writeFileSync(join(dist, 'a.cjs'), wrapUnit("const b = require('./b.cjs');\nconst path = require('node:path');\nmodule.exports = { twice: (x) => b.twice(x), sep: path.sep, file: __filename, self: this === exports };\n"));
  writeFileSync(join(dist, 'b.cjs'), wrapUnit("let loads = (globalThis.__plaidbalLoadTestLoads ?? 0) + 1;\nglobalThis.__plaidbalLoadTestLoads = loads;\nexports.twice = (x) => 2 * x;\nrequire('./b.cjs');\n"));
  delete (globalThis as Record<string, unknown>).__plaidbalLoadTestLoads;
});

afterEach(() => {
  delete (globalThis as Record<symbol, unknown>)[Symbol.for('plaidbal.v8FlagsChanged')];
  rmSync(root, { recursive: true, force: true });
});

describe('the unit loader', () => {
  it('loads units as CommonJS: require of a unit goes through it, once; Node modules through Node', () => {
    const loader = unitLoader(dist, ['balance'], { cacheDir, hashes: HASHES });
    const a = loader.load('a') as { twice(x: number): number; sep: string; file: string; self: boolean };
    expect(a.twice(21)).toBe(42);
    expect(a.sep).toBe('/');
    expect(a.file).toBe(join(dist, 'a.cjs'));
    expect(a.self).toBe(true);
    expect(loader.load('a')).toBe(a);
    expect((globalThis as Record<string, unknown>).__plaidbalLoadTestLoads).toBe(1);
    expect(loader.events).toEqual(['a none', 'b none']);
  });

  it('refuses a file that is not a unit (not written wrapped by the build), naming the fix', () => {
    writeFileSync(join(dist, 'c.cjs'), 'module.exports = 1;\n');
    const loader = unitLoader(dist, ['balance'], { cacheDir, hashes: HASHES });
    expect(() => loader.load('c')).toThrow(`${join(dist, 'c.cjs')} is not a plaidbal unit`);
    expect(() => loader.load('c')).toThrow('run npm run build');
    expect(loader.load('a')).toMatchObject({ sep: '/' });
  });

  it('writes a cache per unit and command when the run ends, which the next run of that command reads back', () => {
    const first = unitLoader(dist, ['balance', '--item', 'x'], { cacheDir, hashes: HASHES });
    first.load('a');
    expect(readdirSync(root)).toEqual(['dist']); // nothing before the run ends
    first.save(0);
    expect(first.events).toEqual(['a none', 'b none', 'a written', 'b written']);
    expect(cached()).toEqual([`a-${HASHES.a}-balance-ok.bin`, `b-${HASHES.b}-balance-ok.bin`]);
    expect(statSync(join(cacheDir, LINE)).mode & 0o777).toBe(0o700);
    expect(statSync(join(cacheDir, LINE, cached()[0]!)).mode & 0o777).toBe(0o600);
    const again = unitLoader(dist, ['balance', '--all'], { cacheDir, hashes: HASHES });
    again.load('a');
    again.save(0);
    expect(again.events).toEqual(['a accepted (ok)', 'b accepted (ok)']);
    // Another command has caches of its own.
    const other = unitLoader(dist, ['items'], { cacheDir, hashes: HASHES });
    other.load('b');
    other.save(0);
    expect(other.events).toEqual(['b none', 'b written']);
    expect(cached()).toContain(`b-${HASHES.b}-items-ok.bin`);
  });

  it("a failed run's cache is kept apart and replaced by the next good run's", () => {
    const failed = unitLoader(dist, ['balance'], { cacheDir, hashes: HASHES });
    failed.load('b');
    failed.save(1);
    expect(cached()).toEqual([`b-${HASHES.b}-balance-failed.bin`]);
    const failedAgain = unitLoader(dist, ['balance'], { cacheDir, hashes: HASHES });
    failedAgain.load('b');
    failedAgain.save(3);
    expect(failedAgain.events).toEqual(['b accepted (failed)']);
    const good = unitLoader(dist, ['balance'], { cacheDir, hashes: HASHES });
    good.load('b');
    good.save(0);
    expect(good.events).toEqual(['b accepted (failed)', 'b written']);
    expect(cached()).toEqual([`b-${HASHES.b}-balance-ok.bin`]);
  });

  it('a cache V8 rejects is removed and made again; caches of another build, and temporary files, are removed after a week', () => {
    mkdirSync(join(cacheDir, LINE), { recursive: true });
    const stale = `b-${'9'.repeat(16)}-help-ok.bin`;
    writeFileSync(join(cacheDir, LINE, stale), 'from another build');
    const recent = `b-${'8'.repeat(16)}-help-ok.bin`;
    writeFileSync(join(cacheDir, LINE, recent), 'from another build, used this week');
    // What a run killed between writing and renaming leaves.
    const killed = `a-${HASHES.a}-help-ok.bin.12345.tmp`;
    writeFileSync(join(cacheDir, LINE, killed), 'half a cache');
    const eightDaysAgo = (Date.now() - 8 * 24 * 3600 * 1000) / 1000;
    utimesSync(join(cacheDir, LINE, stale), eightDaysAgo, eightDaysAgo);
    utimesSync(join(cacheDir, LINE, killed), eightDaysAgo, eightDaysAgo);
    writeFileSync(join(cacheDir, LINE, `b-${HASHES.b}-help-ok.bin`), 'cut short or not a cache at all');
    const loader = unitLoader(dist, ['--help'], { cacheDir, hashes: HASHES });
    expect((loader.load('b') as { twice(x: number): number }).twice(2)).toBe(4);
    loader.save(0);
    expect(loader.events).toEqual(['b rejected', 'b written']);
    // The old one is gone; one written this week may be another install's, sharing the directory.
    expect(cached()).toEqual([recent, `b-${HASHES.b}-help-ok.bin`]);
    const next = unitLoader(dist, ['--help'], { cacheDir, hashes: HASHES });
    next.load('b');
    expect(next.events).toEqual(['b accepted (ok)']);
  });

  it('writes nothing after V8 flags changed in the run, without a cache directory, or for a unit without a hash', () => {
    const tuned = unitLoader(dist, ['balance'], { cacheDir, hashes: HASHES });
    tuned.load('a');
    noteV8FlagsChanged();
    tuned.save(0);
    expect(tuned.events).toEqual(['a none', 'b none']);
    expect(readdirSync(root)).toEqual(['dist']);
    delete (globalThis as Record<symbol, unknown>)[Symbol.for('plaidbal.v8FlagsChanged')];
    const none = unitLoader(dist, ['balance'], {});
    none.load('a');
    none.save(0);
    const unhashed = unitLoader(dist, ['balance'], { cacheDir, hashes: { a: HASHES.a } });
    unhashed.load('a');
    unhashed.save(0);
    expect(unhashed.events).toEqual(['a none', 'b none', 'a written']);
    expect(cached()).toEqual([`a-${HASHES.a}-balance-ok.bin`]);
  });

  it('a cache directory that cannot be made leaves the run working', () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    const loader = unitLoader(dist, ['balance'], { cacheDir: file, hashes: HASHES });
    expect((loader.load('a') as { twice(x: number): number }).twice(1)).toBe(2);
    expect(() => loader.save(0)).not.toThrow();
    expect(loader.events).toEqual(['a none', 'b none']);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });
});

describe('cache names and places', () => {
  it('names a run by its command; any help is help', () => {
    expect(cacheKey(['balance', '--item', 'x'])).toBe('balance');
    expect(cacheKey(['--json', 'items', 'status'])).toBe('items');
    expect(cacheKey(['balance', '--help'])).toBe('help');
    expect(cacheKey(['-h'])).toBe('help');
    expect(cacheKey(['help', 'balance'])).toBe('help');
    expect(cacheKey([])).toBe('none');
    expect(cacheKey(['../../etc'])).toBe('other');
    expect(cacheKey(['Balance'])).toBe('other');
  });

  it('lives in NODE_COMPILE_CACHE, else the user cache directory; none with NODE_DISABLE_COMPILE_CACHE=1', () => {
    expect(compileCacheDir({ NODE_COMPILE_CACHE: '/x/y' }, 'linux')).toBe('/x/y');
    expect(compileCacheDir({ NODE_COMPILE_CACHE: '/x/y', NODE_DISABLE_COMPILE_CACHE: '1' }, 'linux')).toBeUndefined();
    expect(compileCacheDir({ XDG_CACHE_HOME: '/c' }, 'linux')).toBe('/c/plaidbal');
    // A relative XDG_CACHE_HOME is not a base directory (the XDG spec): the home one is used.
    expect(compileCacheDir({ XDG_CACHE_HOME: 'rel' }, 'linux')).toMatch(/\/\.cache\/plaidbal$/);
  });
});
