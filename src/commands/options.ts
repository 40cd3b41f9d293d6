/** Flag parsers shared by commands. They throw commander's InvalidArgumentError (exit 2), or a usage error where commander would quote a secret. */
import { InvalidArgumentError } from '@commander-js/extra-typings';

/**
 * The parsed options of the command a function declares (with @commander-js/extra-typings, from
 * its `.option()` calls): `OptionsOf<typeof balanceCommand>`. The flags are declared once, there.
 */
export type OptionsOf<Declare extends (...args: never[]) => { opts(): object }> = ReturnType<ReturnType<Declare>['opts']>;
import { hasControls } from '../text.js';
import { usageError } from '../errors.js';
import { looksLikePlaidToken } from '../tokens.js';

export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !Number.isFinite(n) || n <= 0 || n > 3600) {
    throw new InvalidArgumentError('expected a number of seconds more than 0 and at most 3600, e.g. 30');
  }
  return n;
}

export function parseList(value: string, previous: string[] = []): string[] {
  const parts = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new InvalidArgumentError('expected a comma-separated list');
  return [...previous, ...parts];
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export const ALIAS_MAX = 64;

/** Aliases are short, printable, and do not look like flags or Plaid item_ids. */
export function aliasProblem(alias: string): string | null {
  if (alias.length === 0) return 'an alias cannot be empty';
  if ([...alias].length > ALIAS_MAX) return `an alias is at most ${ALIAS_MAX} characters`;
  if (alias.startsWith('-')) return 'an alias cannot start with "-"';
  if (hasControls(alias) || /\s/u.test(alias)) return 'an alias cannot contain spaces or control characters';
  if (/^[A-Za-z0-9]{37}$/.test(alias)) return 'an alias cannot look like a Plaid item_id (37 letters and digits)';
  // Aliases are readable metadata, stored in the clear and printed by `items`, errors and completion:
  // a token pasted as a name (a row's columns swapped, say) would be kept and shown unsealed.
  if (looksLikePlaidToken(alias)) return 'an alias cannot look like a Plaid token (access-, public-, link- or processor-, then an environment): tokens are secrets';
  return null;
}

export function parseAlias(value: string): string {
  const problem = aliasProblem(value);
  // commander's message for an InvalidArgumentError quotes the value it refused: never a token.
  if (problem && looksLikePlaidToken(value)) throw usageError(`That alias was refused: ${problem}. The value is not repeated here.`, 'Name the item with a word of your own, e.g. acme-42.');
  if (problem) throw new InvalidArgumentError(problem);
  return value;
}

/** --concurrency: an upper bound on calls in flight, 1 to MAX_IN_FLIGHT (src/plaid/ratelimit.ts; not imported, so --help stays light). */
export const CONCURRENCY_MAX = 128;

export function parseConcurrency(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > CONCURRENCY_MAX) throw new InvalidArgumentError(`expected a whole number from 1 to ${CONCURRENCY_MAX}`);
  return n;
}

/** --rate: calls per minute, a whole number of at least 1 (the upper bound, Plaid's documented limit, depends on the endpoint and environment). */
export function parseRate(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('expected calls per minute, a whole number of at least 1, e.g. 300');
  return n;
}

export const RATE_HELP = 'calls per minute (default: half of Plaid\'s documented per-client limit for the endpoint; at most that limit)';
export const CONCURRENCY_HELP = `upper bound on calls in flight, 1-${CONCURRENCY_MAX} (default ${CONCURRENCY_MAX}; the number follows from --rate and Plaid's latency)`;
