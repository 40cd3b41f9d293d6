import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AMOUNT_MAX_FRACTION_DIGITS,
  AMOUNT_MAX_INTEGER_DIGITS,
  AmountError,
  compareScaled,
  formatAmount,
  formatScaled,
  parseAmount,
  scaledFromDecimal,
  subtractScaled,
  type ScaledDecimal,
} from '../../src/amount.js';
import { exactDecimal } from '../../src/format/money.js';
import { binaryString } from '../helpers/code-points.js';

const refused = (text: string): string => {
  try {
    parseAmount(text);
  } catch (error) {
    expect(error).toBeInstanceOf(AmountError);
    return (error as AmountError).message;
  }
  throw new Error(`${JSON.stringify(text)} was accepted`);
};

describe('parseAmount accepts the canonical spelling, and keeps it', () => {
  it.each([
    ['125', 125n, 0],
    ['125.5', 1255n, 1],
    ['125.50', 12550n, 2],
    ['0.01', 1n, 2],
    ['0.5', 5n, 1],
    ['1.0', 10n, 1],
    ['0.00000001', 1n, 8],
    ['999999999999999', 999999999999999n, 0],
    ['999999999999999.99999999', 99999999999999999999999n, 8],
    ['100.00000001', 10000000001n, 8],
  ])('%s', (text, units, scale) => {
    const amount = parseAmount(text);
    expect(amount).toEqual({ units, scale });
    expect(formatAmount(amount)).toBe(text);
  });

  it(`documents its limits: ${AMOUNT_MAX_INTEGER_DIGITS} digits before the dot, ${AMOUNT_MAX_FRACTION_DIGITS} after`, () => {
    expect(AMOUNT_MAX_INTEGER_DIGITS).toBe(15);
    expect(AMOUNT_MAX_FRACTION_DIGITS).toBe(8);
  });
});

describe('parseAmount refuses everything else, saying how to fix it', () => {
  it.each([
    ['', /is empty/],
    ['1e309', /exponent notation.*1000 for 1e3/],
    ['1e3', /exponent notation/],
    ['1E3', /exponent notation/],
    ['1.5e2', /exponent notation/],
    ['-0', /positive amount, without a sign/],
    ['-5', /positive amount, without a sign/],
    ['-0.01', /positive amount/],
    ['+5', /no sign: write 5, not \+5/],
    ['0', /greater than zero/],
    ['0.00', /greater than zero/],
    ['0.00000000', /greater than zero/],
    ['12,50', /use a dot as the decimal separator/],
    ['1,250.00', /no thousands separators/],
    ['NaN', /not a number/],
    ['nan', /not a number/],
    ['Infinity', /not a number/],
    ['-Infinity', /sign/],
    [' 5 ', /spaces/],
    ['5 ', /spaces/],
    ['\t5', /spaces/],
    ['5\n', /spaces/],
    ['1 000', /spaces/],
    ['.5', /needs a 0 before the dot: 0\.5/],
    ['5.', /needs digits after the dot, or no dot: 5/],
    ['007', /leading zeros: write 7/],
    ['00.5', /leading zeros: write 0\.5/],
    ['0x10', /decimal digits 0-9 \(no hex/],
    ['0X1F', /no hex/],
    ['0b101', /no hex, octal or binary/],
    ['0o17', /no hex, octal or binary/],
    ['١٢٣', /ASCII digits/],
    ['１２３', /ASCII digits/],
    ['१२.५०', /ASCII digits/],
    ['$125', /currency symbol/],
    ['125€', /currency symbol/],
    ['1.2.3', /more than one dot/],
    ['1_000', /not an amount/],
    ['abc', /not an amount/],
    ['.', /not an amount/],
    ['5\u0000', /not digits/],
    ['1000000000000000', /too large: at most 15 digits before the dot/],
    ['0.000000001', /too many decimals: at most 8/],
  ])('%j', (text, reason) => {
    expect(refused(text)).toMatch(reason);
  });

  it('very long input is refused before anything else looks at it, and never echoed', () => {
    expect(refused('1'.repeat(65))).toMatch(/too long: at most 15 digits before the dot and 8 after/);
    expect(refused(`${'9'.repeat(15)}.${'9'.repeat(49)}`)).toMatch(/too long/);
    const huge = refused('9'.repeat(100_000));
    expect(huge).toMatch(/too long/);
    expect(huge.length).toBeLessThan(200);
  });
});

/** Valid amounts: up to 15 integer digits and 8 decimals, greater than zero. */
const amountArb = fc
  .record({
    whole: fc.bigInt({ min: 0n, max: 10n ** 15n - 1n }),
    scale: fc.integer({ min: 0, max: 8 }),
    fraction: fc.bigInt({ min: 0n, max: 10n ** 8n - 1n }),
  })
  .map(({ whole, scale, fraction }) => ({ units: whole * 10n ** BigInt(scale) + (fraction % 10n ** BigInt(scale)), scale }))
  .filter((a) => a.units > 0n);

/** Any exact decimal, negative ones included, as Plaid's balances can be. */
const decimalArb: fc.Arbitrary<ScaledDecimal> = fc.record({ units: fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), scale: fc.integer({ min: 0, max: 30 }) });

/** The value as a fraction n/d, for an oracle that never scales. */
const crossCompare = (a: ScaledDecimal, b: ScaledDecimal): number => {
  const left = a.units * 10n ** BigInt(b.scale);
  const right = b.units * 10n ** BigInt(a.scale);
  return left < right ? -1 : left > right ? 1 : 0;
};

describe('properties', () => {
  it('parse(format(x)) is x, and format(parse(s)) is s', () => {
    fc.assert(
      fc.property(amountArb, (amount) => {
        const text = formatAmount(amount);
        expect(parseAmount(text)).toEqual(amount);
        expect(formatAmount(parseAmount(text))).toBe(text);
      }),
    );
  });

  it('never throws anything but AmountError, whatever the input', () => {
    const inputs = fc.oneof(
      binaryString({ maxLength: 80 }),
      fc.string({ unit: 'grapheme', maxLength: 80 }),
      fc.stringMatching(/^[-+0-9.,eExXn _]{0,30}$/),
      fc.double().map(String),
      fc.bigInt().map(String),
    );
    fc.assert(
      fc.property(inputs, (text) => {
        try {
          const amount = parseAmount(text);
          expect(amount.units > 0n).toBe(true);
          expect(formatAmount(amount)).toBe(text);
        } catch (error) {
          expect(error).toBeInstanceOf(AmountError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('comparison agrees with BigInt arithmetic (cross-multiplied, no common scale)', () => {
    fc.assert(
      fc.property(decimalArb, decimalArb, (a, b) => {
        const expected = crossCompare(a, b);
        expect(compareScaled(a, b)).toBe(expected);
        // toBe is Object.is, and -0 is not 0: when a equals b the reverse comparison is plain 0.
        expect(compareScaled(b, a)).toBe(expected === 0 ? 0 : -expected);
        // a - b compares with zero as a compares with b.
        expect(compareScaled(subtractScaled(a, b), { units: 0n, scale: 0 })).toBe(crossCompare(a, b));
      }),
    );
  });

  it('a balance of n cents is sufficient for m cents exactly when n >= m', () => {
    // The balance arrives as a double (n / 100, as JSON.parse reads "123.45"); its exact decimal
    // is the one Plaid sent, so no 0.1 + 0.2 error can flip the verdict.
    fc.assert(
      fc.property(fc.bigInt({ min: 1n - 10n ** 15n, max: 10n ** 15n - 1n }), amountArb.map((a) => ({ units: a.units, scale: 2 })), (cents, amount) => {
        const balance = scaledFromDecimal(exactDecimal(Number(cents) / 100));
        expect(compareScaled(balance, amount) >= 0).toBe(cents >= amount.units);
      }),
    );
  });

  it('formatScaled pads, never rounds, and reads back', () => {
    fc.assert(
      fc.property(decimalArb, fc.integer({ min: 0, max: 40 }), (value, minScale) => {
        const text = formatScaled(value, minScale);
        const back = scaledFromDecimal(text);
        expect(compareScaled(back, value)).toBe(0);
        expect(back.scale).toBe(Math.max(value.scale, minScale));
      }),
    );
  });
});

describe('exact comparison of Plaid numbers', () => {
  const cmp = (balance: number, amount: string) => compareScaled(scaledFromDecimal(exactDecimal(balance)), parseAmount(amount));

  it('0.1 + 0.2 is just above 0.3, and 0.3 is 0.3', () => {
    expect(cmp(0.1 + 0.2, '0.3')).toBe(1);
    expect(cmp(0.3, '0.3')).toBe(0);
    expect(cmp(0.3, '0.30')).toBe(0);
    expect(cmp(0.3, '0.30000001')).toBe(-1);
  });

  it('where floats would say yes, the exact comparison says no', () => {
    expect(999999999999999.9 >= Number('999999999999999.91')).toBe(true); // the float mistake
    expect(cmp(999999999999999.9, '999999999999999.91')).toBe(-1);
  });

  it('differences are exact', () => {
    const diff = subtractScaled(parseAmount('0.30000001'), scaledFromDecimal(exactDecimal(0.1 + 0.2)));
    expect(formatScaled(diff)).toBe('0.00000000999999996');
    expect(formatScaled(subtractScaled(parseAmount('100.01'), scaledFromDecimal(exactDecimal(100))), 2)).toBe('0.01');
  });

  it('scaledFromDecimal reads negatives, -0 and huge integers, and refuses the rest', () => {
    expect(scaledFromDecimal('-12.50')).toEqual({ units: -1250n, scale: 2 });
    expect(scaledFromDecimal(exactDecimal(-0))).toEqual({ units: 0n, scale: 0 });
    expect(scaledFromDecimal(exactDecimal(2 ** 70))).toEqual({ units: 1180591620717411300000n, scale: 0 });
    expect(scaledFromDecimal('1180591620717411303424')).toEqual({ units: 2n ** 70n, scale: 0 });
    for (const bad of ['NaN', '1e3', '', '.5', '--1']) expect(() => scaledFromDecimal(bad)).toThrow(RangeError);
  });
});
