/**
 * What bin/plaidbal.js does before the CLI runs: load the bundles (dist/<unit>.cjs, scripts/build.mjs)
 * with a V8 code cache made on the user's machine by the user's Node. Built on its own to
 * dist/load.cjs (Node's built-in modules only).
 *
 * Why a code cache: start-up is most of what a `plaidbal balance` costs (docs/benchmarks.md), and
 * without one much of start-up is V8 parsing and compiling the bundles. A cache made at build time
 * only fits the Node that built it (every other Node rejects it), so the cache is made here, by
 * whichever Node runs plaidbal.
 *
 * Why not Node's own compile cache (`module.enableCompileCache()`, which plaidbal used before): Node
 * makes it as a file is compiled, before it runs, so it holds only the code V8 compiles eagerly;
 * every function a command calls is compiled again on every run. Here each unit is compiled with
 * `vm.Script`, and the cache is made with `script.createCachedData()` as the process exits, so it
 * holds what the run compiled. A cache is kept per command (`balance`, `link`, `--help`…): each
 * holds what that command runs. Figures: docs/benchmarks.md, "Figures behind the code".
 *
 * V8 checks a cache against its own version, its flags and the source's length, not the source
 * itself, so a cache file's name carries a hash of the unit's content (computed by the build) and
 * the Node version: a cache never meets code it was not made from.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { constants, homedir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { Script } from 'node:vm';
import { UNIT_HEAD, UNIT_TAIL } from './unit-wrapper.mjs';

/** The content hash of each unit, `{ cli: '…', plaid: '…' }`, defined by scripts/build.mjs. */
declare const __PLAIDBAL_UNIT_HASHES__: Record<string, string>;
const UNIT_HASHES: Record<string, string> = typeof __PLAIDBAL_UNIT_HASHES__ === 'object' ? __PLAIDBAL_UNIT_HASHES__ : {};

/**
 * Where the code cache lives: `NODE_COMPILE_CACHE` when set (Node's own variable, honoured as
 * before), else a directory of the user's own cache (as env-paths names it), not the shared
 * temporary directory, where another user could create it first and hand plaidbal code caches of
 * their making. Undefined when there is none (`NODE_DISABLE_COMPILE_CACHE=1`, no home directory).
 */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string | undefined {
  if (env.NODE_DISABLE_COMPILE_CACHE === '1') return undefined;
  if (env.NODE_COMPILE_CACHE) return env.NODE_COMPILE_CACHE;
  let home: string;
  try {
    home = homedir();
  } catch {
    return undefined;
  }
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'plaidbal');
  if (platform === 'win32') return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'plaidbal', 'Cache');
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, '.cache'), 'plaidbal');
}

/**
 * The name a run's caches are kept under: its command (`balance`, `items`…), `help` for any run
 * asking for help, `none` without one. Anything else is `other`: the name only picks a file.
 */
export function cacheKey(args: readonly string[]): string {
  if (args.includes('--help') || args.includes('-h') || args[0] === 'help') return 'help';
  const command = args.find((a) => !a.startsWith('-'));
  if (command === undefined) return 'none';
  return /^[a-z][a-z-]{0,23}$/.test(command) ? command : 'other';
}

/** Set by code that changes V8's flags at run time (src/plaid/ratelimit.ts): V8 keys caches on its flags. */
const FLAGS_CHANGED = Symbol.for('plaidbal.v8FlagsChanged');

/** Tells the loader not to write caches in this run: V8's flags changed, so what it would write fits no ordinary run. */
export function noteV8FlagsChanged(): void {
  (globalThis as Record<symbol, unknown>)[FLAGS_CHANGED] = true;
}

/** Whether code in this process changed V8's flags (noteV8FlagsChanged). */
export function v8FlagsChanged(): boolean {
  return (globalThis as Record<symbol, unknown>)[FLAGS_CHANGED] === true;
}

export interface UnitLoader {
  /** The exports of dist/<name>.cjs, loaded once. */
  load(name: string): unknown;
  /**
   * Writes the caches this run should leave, given its exit code: bin/plaidbal.js calls it as the
   * process exits, when V8 has compiled all the run will compile. Never throws.
   */
  save(exitCode: number): void;
  /** What happened to each unit's cache (`cli accepted (ok)`, `plaid written`…): for NODE_DEBUG=plaidbal and the tests. */
  readonly events: string[];
}

export interface UnitLoaderOptions {
  /** Default: compileCacheDir(). Undefined: no cache. */
  cacheDir?: string;
  /** Each unit's content hash. Default: the build's. A unit without one gets no cache. */
  hashes?: Record<string, string>;
}

interface Loaded {
  module: { exports: unknown };
  script: Script;
  /** How its cache was found: accepted, and written by a good or a failed run; or not. */
  from: 'ok' | 'failed' | null;
}

/**
 * Loads the units of `distDir` as Node's require() would (a CommonJS wrapper; `require('./x.cjs')`
 * inside a unit loads unit x here too), each with its code cache, if any, from the cache directory.
 * `save` then writes a cache for each unit that had none accepted, or only one left by a run that
 * failed (which compiled less than a good run), atomically: a file cut short is never read as a
 * cache. Nothing about the cache ever throws: a directory that cannot be made or written, or a file
 * V8 rejects (it is then removed), only means V8 compiles as it would have anyway.
 */
export function unitLoader(distDir: string, args: readonly string[], opts: UnitLoaderOptions = { cacheDir: compileCacheDir() }): UnitLoader {
  const key = cacheKey(args);
  const hashes = opts.hashes ?? UNIT_HASHES;
  const dir = opts.cacheDir === undefined ? undefined : join(opts.cacheDir, `v8-${process.version}-${process.arch}`);
  const loaded = new Map<string, Loaded>();
  const events: string[] = [];
  const debug = /\bplaidbal\b/.test(process.env.NODE_DEBUG ?? '');
  const note = (event: string) => {
    events.push(event);
    if (debug) process.stderr.write(`PLAIDBAL ${process.pid}: code cache: ${event}\n`);
  };
  const cacheFile = (name: string, outcome: 'ok' | 'failed') => join(dir!, `${name}-${hashes[name]}-${key}-${outcome}.bin`);
  const cached = (name: string) => dir !== undefined && hashes[name] !== undefined;

  const load = (name: string): unknown => {
    const known = loaded.get(name);
    if (known) return known.module.exports;
    const file = join(distDir, `${name}.cjs`);
    const source = readFileSync(file, 'utf8');
    if (!source.startsWith(UNIT_HEAD) || !source.endsWith(UNIT_TAIL)) throw new Error(`${file} is not a plaidbal unit (it is not wrapped in ${UNIT_HEAD}…${UNIT_TAIL.trim()}): run npm run build`);
    let cachedData: Buffer | undefined;
    let from: 'ok' | 'failed' | null = null;
    if (cached(name)) {
      for (const outcome of ['ok', 'failed'] as const) {
        try {
          cachedData = readFileSync(cacheFile(name, outcome));
          from = outcome;
          break;
        } catch {
          // none of this outcome
        }
      }
    }
    const script = new Script(source, { filename: file, cachedData });
    if (cachedData !== undefined && script.cachedDataRejected) {
      removeQuietly(cacheFile(name, from!));
      from = null;
      note(`${name} rejected`);
    } else note(`${name} ${from ? `accepted (${from})` : 'none'}`);
    const entry: Loaded = { module: { exports: {} }, script, from };
    loaded.set(name, entry);
    // Node's modules and @napi-rs/keyring: load.cjs is in dist/ beside the units, so its own require
    // resolves as theirs would (and node:module stays unloaded). From source (the tests), one made for the unit.
    const nodeRequire = typeof require === 'function' ? require : process.getBuiltinModule('node:module').createRequire(file);
    const unitRequire = Object.assign(
      (id: string) => {
        const unit = /^\.\/([a-z]+)\.cjs$/.exec(id);
        return unit ? load(unit[1]!) : nodeRequire(id);
      },
      { resolve: nodeRequire.resolve, cache: nodeRequire.cache, main: typeof require === 'undefined' ? undefined : require.main },
    );
    const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
    wrapper.call(entry.module.exports, entry.module.exports, unitRequire, entry.module, file, dirname(file));
    return entry.module.exports;
  };

  const save = (exitCode: number) => {
    // V8 keys a cache on its flags: one made after they changed fits no ordinary run.
    if (dir === undefined || v8FlagsChanged()) return;
    for (const [name, entry] of loaded) {
      if (!cached(name) || entry.from === 'ok') continue;
      if (exitCode !== 0 && entry.from === 'failed') continue;
      // A failed run compiled less than a good one: its cache is kept apart, and replaced by the next good run's.
      if (!writeCache(dir, cacheFile(name, exitCode === 0 ? 'ok' : 'failed'), entry.script)) continue;
      note(`${name} written`);
      if (exitCode === 0) removeQuietly(cacheFile(name, 'failed'));
    }
  };
  return { load, save, events };
}

/** Writes one cache file through a temporary file and a rename; true when it is in place. Never throws. */
function writeCache(dir: string, file: string, script: Script): boolean {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const data = script.createCachedData();
    const fd = openSync(temp, 'w', 0o600);
    try {
      // A disk that fills part-way answers with a short write, not an error: write the rest, and
      // the next write then fails with ENOSPC. A file cut short is never renamed into place.
      for (let written = 0; written < data.length; ) {
        const n = writeSync(fd, data, written);
        if (n <= 0) throw new Error('no progress'); // never an endless loop
        written += n;
      }
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch {
    removeQuietly(temp);
    return false;
  }
  pruneOtherBuilds(dir, file);
  return true;
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // not there, or not ours to remove: either way nothing to do
  }
}

/** Caches of another build (and temporary files) are removed once this old: two installs of different versions that share the cache do not keep removing each other's. */
const OTHER_BUILD_AGE_MS = 7 * 24 * 3600 * 1000;

/**
 * Removes caches of the same unit left by other builds (another hash), so that upgrades do not pile
 * them up, and temporary files a run killed while writing left behind.
 */
function pruneOtherBuilds(dir: string, file: string): void {
  const [unit, hash] = basename(file).split('-');
  try {
    for (const other of readdirSync(dir)) {
      const [otherUnit, otherHash] = other.split('-');
      const stale = other.endsWith('.tmp') || (other.endsWith('.bin') && otherUnit === unit && otherHash !== hash);
      if (stale && Date.now() - statSync(join(dir, other)).mtimeMs > OTHER_BUILD_AGE_MS) unlinkSync(join(dir, other));
    }
  } catch {
    // a cache that stays is only disk space
  }
}

const SIGNALS = Object.keys(constants.signals) as NodeJS.Signals[];

export function signalListeners(): Map<NodeJS.Signals, Set<Function>> {
  return new Map(SIGNALS.map((signal) => [signal, new Set(process.rawListeners(signal))]));
}

/**
 * conf's writer, atomically, pulls in when-exit, which on loading hooks SIGINT, SIGTERM, SIGHUP and
 * a dozen more, and on the first one re-sends that signal to the process. plaidbal never writes
 * through atomically (src/store/write.ts has its own verified writer), so those hooks have nothing
 * to clean up; what they do is turn one Ctrl-C into two, and the second one makes cli.ts exit at
 * once, before a command can write what it has and say so (items import keeps every verified
 * token on Ctrl-C). So the conf bundle (scripts/build.mjs) removes the signal listeners that
 * loading conf added, with these two.
 */
export function dropNewSignalListeners(before: Map<NodeJS.Signals, Set<Function>>): void {
  for (const signal of SIGNALS) {
    const known = before.get(signal)!;
    for (const listener of process.rawListeners(signal)) if (!known.has(listener)) process.removeListener(signal, listener as (...args: unknown[]) => void);
  }
}
