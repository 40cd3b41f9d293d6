/** Exact sums of Plaid's numbers, via their shortest round-trip decimal form (src/amount.ts does the arithmetic). */
import { addScaled, formatScaled, scaledFromDecimal, type ScaledDecimal } from '../amount.js';
import { exactDecimal } from './money.js';

export const ZERO: ScaledDecimal = { units: 0n, scale: 0 };

/** The exact decimal a JSON number from Plaid stands for (23631.9805 stays 23631.9805). */
export function decimalOf(value: number): ScaledDecimal {
  return scaledFromDecimal(exactDecimal(value));
}

/** The decimal as a plain string without trailing zeros ("0.3", "-12.5", "100"). */
export function plainDecimal(value: ScaledDecimal): string {
  const text = formatScaled(value);
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}

/** The exact sum of the numbers, as a decimal string without trailing zeros ("0.3" for 0.1 + 0.2). */
export function sumExact(values: number[]): string {
  return plainDecimal(values.reduce<ScaledDecimal>((sum, value) => addScaled(sum, decimalOf(value)), ZERO));
}
