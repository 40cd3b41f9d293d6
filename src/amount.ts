/**
 * Amounts a person types (`plaidbal check --amount 125.50`) and their exact comparison with
 * Plaid's balances. Nothing here uses floating point for a decision: an amount is a scaled
 * BigInt, and a balance (a JSON number) becomes one through the decimal digits it was sent as.
 *
 * The accepted grammar is the canonical one, so an accepted amount prints back exactly as it
 * was typed ("125.50" stays "125.50"), and every other spelling is refused with its fix:
 *
 *   (0 | [1-9][0-9]{0,14}) ( "." [0-9]{1,8} )?      and greater than zero
 *
 * - At most 15 digits before the dot: 999 trillion is past any balance, and keeps the amount
 *   readable in a terminal. At most 8 after it: a satoshi, the smallest unit Plaid reports
 *   (crypto accounts, with an unofficial currency code); no ISO currency uses more than 4.
 * - Refused, each with its own message: empty; spaces anywhere (a script that passes " 5 " has a
 *   bug worth seeing); a sign (`-5`, `-0`, `+5`); zero (`0`, `0.00`: a pointless check); a
 *   comma (decimal or thousands separator); exponents (`1e3`, `1e309`); `NaN`, `Infinity`;
 *   hex, octal, binary (`0x10`); non-ASCII digits (`١٢٣`, `１２３`); a currency symbol; a bare
 *   dot at either end (`.5`, `5.`); leading zeros (`007`); more than one dot; anything else.
 *
 * parseAmount throws AmountError and nothing else, whatever the input.
 */

export const AMOUNT_MAX_INTEGER_DIGITS = 15;
export const AMOUNT_MAX_FRACTION_DIGITS = 8;
/** Inputs longer than this are refused before any other look at them. */
const MAX_INPUT_LENGTH = 64;

/** An exact decimal: `units / 10^scale`. The scale is kept, so 125.50 and 125.5 print differently. */
export interface ScaledDecimal {
  readonly units: bigint;
  readonly scale: number;
}

/** A parsed --amount: positive, within the digit limits above. */
export type Amount = ScaledDecimal;

/** Why an amount was refused. `message` is a lower-case reason naming the fix, without the input. */
export class AmountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AmountError';
  }
}

const CANONICAL = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

export function parseAmount(text: string): Amount {
  if (typeof text !== 'string' || text.length === 0) throw new AmountError('is empty; pass an amount such as 125.50');
  if (text.length > MAX_INPUT_LENGTH) throw new AmountError(`is too long: at most ${AMOUNT_MAX_INTEGER_DIGITS} digits before the dot and ${AMOUNT_MAX_FRACTION_DIGITS} after it`);
  const match = CANONICAL.exec(text);
  if (match === null) throw new AmountError(whyNotAnAmount(text));
  const [, whole = '', fraction = ''] = match;
  if (whole.length > AMOUNT_MAX_INTEGER_DIGITS) throw new AmountError(`is too large: at most ${AMOUNT_MAX_INTEGER_DIGITS} digits before the dot`);
  if (fraction.length > AMOUNT_MAX_FRACTION_DIGITS) throw new AmountError(`has too many decimals: at most ${AMOUNT_MAX_FRACTION_DIGITS}`);
  const units = BigInt(whole + fraction);
  if (units === 0n) throw new AmountError('must be greater than zero');
  return { units, scale: fraction.length };
}

/** The reason a string that is not canonical was refused, most specific first. */
function whyNotAnAmount(text: string): string {
  if (/\s/u.test(text)) return 'contains spaces; pass just the number, e.g. 125.50';
  if (text.startsWith('-')) return 'must be a positive amount, without a sign: the check asks whether an account holds at least this much';
  if (text.startsWith('+')) return 'takes no sign: write 5, not +5';
  if (text.includes(',')) return 'has a comma: use a dot as the decimal separator and no thousands separators, e.g. 1250.50';
  if (/^(nan|inf|infinity)$/i.test(text)) return 'is not a number';
  if (/\p{Sc}/u.test(text)) return "has a currency symbol: leave it out, the amount is in the account's currency";
  if (/^0[xob]/i.test(text)) return 'must be written in decimal digits 0-9 (no hex, octal or binary)';
  if (/^[0-9.]+e[+-]?[0-9]*$/i.test(text)) return 'uses exponent notation: write the amount out in full, e.g. 1000 for 1e3';
  const unusual = [...text].filter((c) => !/[\x20-\x7e]/.test(c));
  if (unusual.some((c) => /\p{Nd}/u.test(c))) return 'must use the ASCII digits 0-9';
  if (unusual.length > 0) return 'has characters that are not digits';
  if (/^\.[0-9]+$/.test(text)) return `needs a 0 before the dot: 0${text}`;
  if (/^[0-9]+\.$/.test(text)) return `needs digits after the dot, or no dot: ${text.slice(0, -1)}`;
  if (/^0[0-9]+(\.[0-9]+)?$/.test(text)) return `has leading zeros: write ${text.replace(/^0+(?=[0-9])/, '')}`;
  if ((text.match(/\./g) ?? []).length > 1) return 'has more than one dot';
  return 'is not an amount: use digits and at most one dot, e.g. 125.50';
}

/** The amount as typed (the grammar admits only the canonical spelling). */
export function formatAmount(amount: Amount): string {
  return formatScaled(amount);
}

/** The decimal, with at least `minScale` fraction digits (padded with zeros, never rounded). */
export function formatScaled(value: ScaledDecimal, minScale = 0): string {
  const scale = Math.max(value.scale, minScale);
  const units = value.units * 10n ** BigInt(scale - value.scale);
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale);
  return `${negative ? '-' : ''}${whole}${scale > 0 ? `.${fraction}` : ''}`;
}

/**
 * A plain decimal string ("-12.50", "0.30000000000000004", "1180591620717411303424"), as
 * exactDecimal in format/money.ts writes Plaid's numbers. Throws RangeError on anything else.
 */
export function scaledFromDecimal(text: string): ScaledDecimal {
  const match = /^(-?)([0-9]+)(?:\.([0-9]+))?$/.exec(text);
  if (match === null) throw new RangeError(`not a plain decimal: ${text.slice(0, 40)}`);
  const [, sign = '', whole = '', fraction = ''] = match;
  const units = BigInt(whole + fraction);
  return { units: sign ? -units : units, scale: fraction.length };
}

function aligned(a: ScaledDecimal, b: ScaledDecimal): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [a.units * 10n ** BigInt(scale - a.scale), b.units * 10n ** BigInt(scale - b.scale), scale];
}

/** -1, 0 or 1, exactly. 125.5 and 125.50 are equal. */
export function compareScaled(a: ScaledDecimal, b: ScaledDecimal): -1 | 0 | 1 {
  const [x, y] = aligned(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** a + b, exactly, at the larger of the two scales. */
export function addScaled(a: ScaledDecimal, b: ScaledDecimal): ScaledDecimal {
  const [x, y, scale] = aligned(a, b);
  return { units: x + y, scale };
}

/** a − b, exactly, at the larger of the two scales. */
export function subtractScaled(a: ScaledDecimal, b: ScaledDecimal): ScaledDecimal {
  const [x, y, scale] = aligned(a, b);
  return { units: x - y, scale };
}
