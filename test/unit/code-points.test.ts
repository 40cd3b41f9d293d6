/** test/helpers/code-points.ts: the same code points as fast-check's `unit: 'binary'`. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anyCodePoint, binaryString } from '../helpers/code-points.js';

describe('anyCodePoint', () => {
  it('makes one code point, never a surrogate, and reads back what it made', () => {
    fc.assert(
      fc.property(anyCodePoint, (value) => {
        const point = value.codePointAt(0)!;
        expect(String.fromCodePoint(point)).toBe(value);
        expect(point >= 0xd800 && point < 0xe000).toBe(false);
        expect(anyCodePoint.canShrinkWithoutContext(value)).toBe(true);
      }),
    );
  });

  it('reaches both ends of both ranges, and refuses what is not one of its code points', () => {
    for (const point of [0, 0xd7ff, 0xe000, 0x10ffff]) expect(anyCodePoint.canShrinkWithoutContext(String.fromCodePoint(point))).toBe(true);
    for (const other of ['\ud800', '\udfff', 'ab', '', 42]) expect(anyCodePoint.canShrinkWithoutContext(other)).toBe(false);
  });

  it('binaryString keeps its constraints', () => {
    fc.assert(
      fc.property(binaryString({ minLength: 2, maxLength: 5 }), (s) => {
        expect([...s].length).toBeGreaterThanOrEqual(2);
        expect([...s].length).toBeLessThanOrEqual(5);
      }),
    );
  });
});
