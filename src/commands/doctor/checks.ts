/**
 * The judgements of `plaidbal doctor`, kept pure so each can be tested with any input: a Node
 * version against package.json's `engines` range, file modes, the store lock's age, clock skew
 * against Plaid's Date header, Sandbox item age, and the exit code a set of checks adds up to.
 */
import { ExitCode } from '../../errors.js';
import type { Environment } from '../../types.js';

/** ✓ ok, ! warn (works, but worth knowing), ✗ fail, – skipped (not checked, or not applicable). */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skipped';

/** Stable check ids (the README lists them). Per-environment checks carry their environment. */
export type CheckId =
  | 'node'
  | 'environment'
  | 'store.directory'
  | 'store.file'
  | 'store.contents'
  | 'store.lock'
  | 'key.keychain'
  | 'key.passphrase'
  | 'credentials'
  | 'network'
  | 'tls'
  | 'items'
  | 'items.sandbox_age'
  | 'clock';

export type FailureExitCode = typeof ExitCode.CONFIG | typeof ExitCode.PLAID_FAILURE;

export interface Check {
  id: CheckId;
  environment: Environment | null;
  title: string;
  status: CheckStatus;
  /** What was found, in a sentence. */
  found: string;
  /** What to do, when something is to be done. */
  fix: string | null;
  /** For a failed check: the exit code it stands for (3 configuration, credentials or store; 5 network). */
  exit_code: FailureExitCode | null;
  /** The facts behind `found`, per check id (README: "plaidbal doctor --json"). */
  details: Record<string, unknown>;
}

type Base = Pick<Check, 'id' | 'title'> & { environment?: Environment | null; details?: Record<string, unknown> };

export const ok = (base: Base, found: string, fix: string | null = null): Check => make(base, 'ok', found, fix, null);
export const warn = (base: Base, found: string, fix: string | null): Check => make(base, 'warn', found, fix, null);
export const skipped = (base: Base, found: string, fix: string | null = null): Check => make(base, 'skipped', found, fix, null);
export const fail = (base: Base, found: string, fix: string | null, exitCode: FailureExitCode): Check => make(base, 'fail', found, fix, exitCode);

function make(base: Base, status: CheckStatus, found: string, fix: string | null, exitCode: FailureExitCode | null): Check {
  return { id: base.id, environment: base.environment ?? null, title: base.title, status, found, fix, exit_code: exitCode, details: base.details ?? {} };
}

/**
 * 0 when nothing failed; otherwise the code of the most serious failure. A configuration,
 * credentials or store problem (3) outranks a network one (5): it will not go away by itself.
 */
export function exitCodeOf(checks: readonly Check[]): number {
  const failed = checks.filter((c) => c.status === 'fail');
  if (failed.length === 0) return ExitCode.OK;
  return failed.some((c) => c.exit_code === ExitCode.CONFIG) ? ExitCode.CONFIG : ExitCode.PLAID_FAILURE;
}

// ---------------------------------------------------------------------------------------------
// Node against `engines`

type Version = [number, number, number];

function parseVersion(text: string): Version | null {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** One comparator of an npm range as [lowest allowed (inclusive), first excluded] bounds. */
function comparatorBounds(text: string): { min: Version | null; below: Version | null } | null {
  const m = /^(>=|<=|>|<|=|\^|~)?v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$/.exec(text);
  if (!m) return null;
  const op = m[1] ?? '=';
  const wild = (s: string | undefined) => s === undefined || s === 'x' || s === '*';
  const major = Number(m[2]);
  const minor = wild(m[3]) ? null : Number(m[3]);
  const patch = minor === null || wild(m[4]) ? null : Number(m[4]);
  const floor: Version = [major, minor ?? 0, patch ?? 0];
  // The first version past the partial one: 20 -> 21.0.0, 20.17 -> 20.18.0, 20.17.1 -> 20.17.2.
  const next: Version = minor === null ? [major + 1, 0, 0] : patch === null ? [major, minor + 1, 0] : [major, minor, patch + 1];
  switch (op) {
    case '>=':
      return { min: floor, below: null };
    case '>':
      return { min: next, below: null };
    case '<':
      return { min: null, below: floor };
    case '<=':
      return { min: null, below: next };
    case '^':
      return { min: floor, below: major > 0 || minor === null ? [major + 1, 0, 0] : [0, minor + 1, 0] };
    case '~':
      return { min: floor, below: minor === null ? [major + 1, 0, 0] : [major, minor + 1, 0] };
    default:
      return { min: floor, below: next };
  }
}

/**
 * Does `version` satisfy the npm range `range` (package.json `engines.node`)? Understands the
 * forms an engines field uses: `>=20.17`, `^20.17.0 || >=22`, `>=18 <23`, `~20.17`, `20.x`.
 * Null when the range is not one of those forms, or the version cannot be read.
 */
export function satisfiesRange(version: string, range: string): boolean | null {
  const v = parseVersion(version);
  if (!v || range.trim() === '') return null;
  let any = false;
  for (const alternative of range.split('||')) {
    const comparators = alternative.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/).filter(Boolean);
    if (comparators.length === 0) return null;
    let all = true;
    for (const c of comparators) {
      const bounds = c === '*' || c === 'x' ? { min: null, below: null } : comparatorBounds(c);
      if (!bounds) return null;
      if ((bounds.min && compare(v, bounds.min) < 0) || (bounds.below && compare(v, bounds.below) >= 0)) all = false;
    }
    if (all) any = true;
  }
  return any;
}

// ---------------------------------------------------------------------------------------------
// File modes

export const formatMode = (mode: number) => `0${(mode & 0o777).toString(8).padStart(3, '0')}`;

/**
 * What is wrong with the mode of the store file (expected 0600) or its directory (0700), or null.
 * Any access for group or others is wrong (the store holds sealed secrets and the list of items);
 * so is an owner who cannot read and write (and, for the directory, enter) it.
 */
export function modeProblem(mode: number, kind: 'file' | 'directory'): string | null {
  const others = mode & 0o077;
  if (others) {
    const who = [mode & 0o070 ? 'its group' : null, mode & 0o007 ? 'other users' : null].filter(Boolean).join(' and ');
    return `${who} can ${kind === 'file' ? 'read or change it' : 'list or change it'}`;
  }
  const need = kind === 'file' ? 0o600 : 0o700;
  if ((mode & need) !== need) return kind === 'file' ? 'you cannot both read and write it' : 'you cannot read, write and enter it';
  return null;
}

// ---------------------------------------------------------------------------------------------
// The store lock

/**
 * How long a lock may go unrefreshed before it is stale, as src/store/store.ts locks the store
 * (proper-lockfile, `stale: 5_000`, refreshed every second). Kept in step with that by hand:
 * src/store/ is not to be changed from here.
 */
export const LOCK_STALE_MS = 5_000;

export type LockState = 'none' | 'held' | 'stale' | 'not_a_directory';

/** A lock directory refreshed within LOCK_STALE_MS is held by a running plaidbal; older, it was left behind. */
export function lockState(lock: { isDirectory: boolean; mtimeMs: number } | null, nowMs: number): { state: LockState; ageMs: number | null } {
  if (!lock) return { state: 'none', ageMs: null };
  if (!lock.isDirectory) return { state: 'not_a_directory', ageMs: null };
  const ageMs = Math.max(0, nowMs - lock.mtimeMs);
  return { state: ageMs > LOCK_STALE_MS ? 'stale' : 'held', ageMs };
}

// ---------------------------------------------------------------------------------------------
// Clock skew

/** Within this, the clock is fine; past it, a warning; past CLOCK_FAIL_MS, a failure. */
export const CLOCK_WARN_MS = 60_000;
export const CLOCK_FAIL_MS = 5 * 60_000;

export interface Skew {
  /** Local clock minus Plaid's: positive when this machine is ahead. */
  skewMs: number;
  /** How far off the estimate may be: half a second (Date has whole seconds) plus half the round trip. */
  uncertaintyMs: number;
}

/**
 * Compares the local clock with Plaid's `Date` header. The header has whole seconds, so Plaid's
 * time was somewhere in [Date, Date + 1 s) while the request was in flight; the estimate takes
 * the middle of both intervals.
 */
export function clockSkew(sentAtMs: number, receivedAtMs: number, dateHeader: string): Skew | null {
  const plaidMs = Date.parse(dateHeader);
  if (Number.isNaN(plaidMs)) return null;
  const localMid = (sentAtMs + receivedAtMs) / 2;
  return { skewMs: Math.round(localMid - (plaidMs + 500)), uncertaintyMs: Math.round(500 + (receivedAtMs - sentAtMs) / 2) };
}

/** The status a skew deserves: judged on what it is at least (its size less the uncertainty). */
export function skewStatus(skew: Skew): 'ok' | 'warn' | 'fail' {
  const atLeast = Math.abs(skew.skewMs) - skew.uncertaintyMs;
  return atLeast > CLOCK_FAIL_MS ? 'fail' : atLeast > CLOCK_WARN_MS ? 'warn' : 'ok';
}

export function describeDuration(ms: number): string {
  const s = Math.abs(ms) / 1000;
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

// ---------------------------------------------------------------------------------------------
// Sandbox item age

/** Plaid moves Sandbox items to ITEM_LOGIN_REQUIRED 30 days after they were created. */
export const SANDBOX_ITEM_LIFETIME_DAYS = 30;
const DAY_MS = 86_400_000;

/** Sandbox items linked more than 30 days before `now`, oldest first, with their age in whole days. */
export function expiredSandboxItems<T extends { alias: string; environment: Environment; linked_at: string }>(items: readonly T[], now: Date): { item: T; ageDays: number }[] {
  return items
    .filter((item) => item.environment === 'sandbox')
    .map((item) => ({ item, ageMs: now.getTime() - Date.parse(item.linked_at) }))
    .filter(({ ageMs }) => ageMs > SANDBOX_ITEM_LIFETIME_DAYS * DAY_MS)
    .sort((a, b) => b.ageMs - a.ageMs)
    .map(({ item, ageMs }) => ({ item, ageDays: Math.floor(ageMs / DAY_MS) }));
}

// ---------------------------------------------------------------------------------------------

/** A path or value as one shell word: single-quoted unless it is plainly safe. */
export function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
