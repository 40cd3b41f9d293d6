/**
 * Loads plaidbal's bundles ("units", dist/<unit>-<hash>.cjs) with the V8 code cache the build
 * made for each, so that a run does not parse and compile plaidbal's code from scratch.
 *
 * Why: start-up is most of what a `plaidbal balance` costs (docs/benchmarks.md), and most of
 * start-up was V8 parsing and compiling the bundles. Node 20 has no compile cache for ES
 * modules (module.enableCompileCache() arrived in Node 22), but vm.Script accepts the cached
 * data V8 produces. So the build bundles CommonJS units, compiles each eagerly once, and stores
 * V8's cache beside it; here each unit is compiled with that cache and run with the arguments a
 * CommonJS module gets, plus two of plaidbal's own:
 * - `__importMetaUrl`, what `import.meta.url` is in the sources (the build defines one as the other);
 * - `__plaidbalVendor(unit, name)`, which loads another unit on first use and returns one of its
 *   exports: the CLI unit reaches plaid/axios, conf, cli-table3, @inquirer/prompts and open only
 *   through it, so `--help` never loads them.
 *
 * A cache V8 rejects (another Node or V8 version than the build's, other V8 flags) costs only its
 * read: V8 then compiles the source as it would have anyway. Cache files carry the hash of their
 * unit's source in their name, so a cache can only ever meet the source it was made from.
 *
 * This module is built on its own to dist/load.cjs and required by bin/plaidbal.js; it uses
 * nothing but Node's built-in modules.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';

/**
 * The V8 flags plaidbal runs with, set by bin/plaidbal.js before any unit is compiled, and by the
 * build before it makes the code caches (V8 keys a cache on its flags: a cache made under other
 * flags is rejected).
 *
 * `--optimize-for-size`: V8's heap heuristics favour memory over throughput. By default V8 sizes
 * its heap for a long-lived server on a large machine: over a fan-out of 10,000 items it grew the
 * young generation to 128 MiB and let garbage pile up to a peak RSS of about 270 MiB, with some
 * 20 MiB live. A CLI waiting on Plaid is not bound by garbage collection: the same run, with the
 * same wall time, peaks under 120 MiB with this flag (docs/benchmarks.md, "Peak memory").
 */
export const V8_FLAGS = ['--optimize-for-size'];

export function setV8Flags(): void {
  for (const flag of V8_FLAGS) setFlagsFromString(flag);
}

/** Maps each unit to the base name of its files in dist/ (`<unit>-<hash>`: .cjs and .cache). */
export const MANIFEST = 'units.json';

const PARAMS = ['exports', 'require', 'module', '__filename', '__dirname', '__importMetaUrl', '__plaidbalVendor'];

/** The unit's source as a function of the module arguments. The cache is made from exactly this text. */
export function wrap(source: string): string {
  return `(function (${PARAMS.join(', ')}) {${source}\n})`;
}

export interface CompiledUnit {
  file: string;
  script: Script;
  /** True when V8 refused the cache (see above), undefined when there was none. */
  cacheRejected: boolean | undefined;
}

const manifests = new Map<string, Record<string, string>>();

export function unitFiles(dir: string, unit: string): { source: string; cache: string } {
  let manifest = manifests.get(dir);
  if (!manifest) {
    manifest = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Record<string, string>;
    manifests.set(dir, manifest);
  }
  const base = manifest[unit];
  if (!base) throw new Error(`plaidbal: ${join(dir, MANIFEST)} names no unit "${unit}". Rebuild with \`npm run build\`.`);
  return { source: join(dir, `${base}.cjs`), cache: join(dir, `${base}.cache`) };
}

export function compileUnit(dir: string, unit: string): CompiledUnit {
  const files = unitFiles(dir, unit);
  const source = readFileSync(files.source, 'utf8');
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(files.cache);
  } catch {
    // No cache (a build that could not make one): compile as usual.
  }
  const script = new Script(wrap(source), { filename: files.source, cachedData });
  return { file: files.source, script, cacheRejected: cachedData ? script.cachedDataRejected : undefined };
}

/** Loads units from `dir` (dist/), each once. */
export function unitLoader(dir: string): (unit: string) => Record<string, unknown> {
  const loaded = new Map<string, Record<string, unknown>>();
  const load = (unit: string): Record<string, unknown> => {
    const done = loaded.get(unit);
    if (done) return done;
    const { file, script } = compileUnit(dir, unit);
    const module = { exports: {} as Record<string, unknown> };
    loaded.set(unit, module.exports);
    const run = script.runInThisContext() as (...args: unknown[]) => void;
    const vendor = (from: string, name: string) => load(from)[name];
    const before = unit === 'conf' ? signalListeners() : null;
    run.call(module.exports, module.exports, createRequire(file), module, file, dir, pathToFileURL(file).href, vendor);
    if (before) dropNewSignalListeners(before);
    loaded.set(unit, module.exports);
    return module.exports;
  };
  return load;
}

const SIGNALS = Object.keys(constants.signals) as NodeJS.Signals[];

function signalListeners(): Map<NodeJS.Signals, Set<Function>> {
  return new Map(SIGNALS.map((signal) => [signal, new Set(process.rawListeners(signal))]));
}

/**
 * conf's writer, atomically, pulls in when-exit, which on loading hooks SIGINT, SIGTERM, SIGHUP and
 * a dozen more, and on the first one re-sends that signal to the process. plaidbal never writes
 * through atomically (src/store/write.ts has its own verified writer), so those hooks have nothing
 * to clean up; what they do is turn one Ctrl-C into two, and the second one makes cli.ts exit at
 * once, before a command can write what it has and say so (items import keeps every verified
 * token on Ctrl-C). So the signal listeners conf's unit adds are removed again.
 */
function dropNewSignalListeners(before: Map<NodeJS.Signals, Set<Function>>): void {
  for (const signal of SIGNALS) {
    const known = before.get(signal)!;
    for (const listener of process.rawListeners(signal)) if (!known.has(listener)) process.removeListener(signal, listener as (...args: unknown[]) => void);
  }
}
