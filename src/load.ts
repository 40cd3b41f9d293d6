/**
 * What bin/plaidbal.js does before it loads the CLI bundle: turn on Node's compile cache. Built
 * on its own to dist/load.cjs (Node's built-in modules only).
 *
 * Why a compile cache: start-up is most of what a `plaidbal balance` costs (docs/benchmarks.md),
 * and without a cache much of start-up is V8 parsing and compiling the bundles. Node's compile
 * cache (`module.enableCompileCache()`, Node 22.1+) keeps V8's code cache for each file it loads
 * and reuses it on the next run. It is made on the user's machine by the user's Node, so it works
 * on whichever Node line runs plaidbal (a cache made at build time only fits the Node that built it).
 */
import { constants as moduleConstants, enableCompileCache } from 'node:module';
import { constants, homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/**
 * Where the compile cache lives: `NODE_COMPILE_CACHE` when set (Node's own variable), else a
 * directory of the user's own cache (as env-paths names it), not Node's default of
 * `os.tmpdir()/node-compile-cache`: on Linux that is a directory of the shared /tmp, where another
 * user could create it first and hand plaidbal code caches of their making. Node adds one
 * subdirectory per Node version, architecture and V8 flags under it.
 */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string | undefined {
  if (env.NODE_COMPILE_CACHE) return undefined; // enableCompileCache() with no directory reads it
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

export interface CompileCache {
  /** One of module.constants.compileCacheStatus, by name. */
  status: 'ENABLED' | 'ALREADY_ENABLED' | 'FAILED' | 'DISABLED' | 'UNKNOWN';
  directory?: string;
  message?: string;
}

/**
 * Turns the compile cache on for every module loaded from here on. Never throws: a cache that
 * cannot be used (a read-only or full disk, NODE_DISABLE_COMPILE_CACHE=1) only means V8 compiles
 * as it would have anyway. Node writes the cache when the process exits.
 */
export function startCompileCache(dir = compileCacheDir()): CompileCache {
  try {
    const result = dir === undefined ? enableCompileCache() : enableCompileCache(dir);
    const statuses = moduleConstants.compileCacheStatus as Record<string, number>;
    const status = (Object.keys(statuses).find((name) => statuses[name] === result.status) ?? 'UNKNOWN') as CompileCache['status'];
    return { status, directory: result.directory, message: result.message };
  } catch (error) {
    return { status: 'FAILED', message: (error as Error).message };
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
