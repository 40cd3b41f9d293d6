/** Exact sums of Plaid's numbers, via their shortest round-trip decimal form (src/amount.ts does the arithmetic). */
import { addScaled, formatScaled, scaledFromDecimal, type ScaledDecimal } from '../amount.js';
import { exactDecimal } from './money.js';

/** The exact sum of the numbers, as a decimal string without trailing zeros ("0.3" for 0.1 + 0.2). */
export function sumExact(values: number[]): string {
  const total = values.reduce<ScaledDecimal>((sum, value) => addScaled(sum, scaledFromDecimal(exactDecimal(value))), { units: 0n, scale: 0 });
  const text = formatScaled(total);
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}
