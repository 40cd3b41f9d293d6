/**
 * fast-check's `unit: 'binary'` for strings: any code point but the UTF-16 surrogates
 * (U+0000 to U+D7FF and U+E000 to U+10FFFF), without its one-off cost.
 *
 * fast-check (4.x) builds that unit as a mapToConstant over 1,112,064 code points, and the first
 * `fc.string({ unit: 'binary' })` a process makes fills a Map with every one of them (to check
 * its default dangerous strings can be made of the unit): seconds of CPU, once in every test
 * process that makes one (docs/benchmarks.md, "Figures behind the code"). This unit
 * covers the same code points with an integer mapped both ways, so it can still shrink a value
 * it did not make.
 */
import fc from 'fast-check';

const SURROGATES = 0xe000 - 0xd800;

export const anyCodePoint: fc.Arbitrary<string> = fc.integer({ min: 0, max: 0x10ffff - SURROGATES }).map(
  (n) => String.fromCodePoint(n < 0xd800 ? n : n + SURROGATES),
  (value) => {
    const point = typeof value === 'string' ? value.codePointAt(0) : undefined;
    if (point === undefined || String.fromCodePoint(point) !== value || (point >= 0xd800 && point < 0xe000)) throw new Error('not one code point outside the surrogates');
    return point < 0xd800 ? point : point - SURROGATES;
  },
);

/** `fc.string({ unit: 'binary', … })`, with the unit above. */
export const binaryString = (constraints: Omit<fc.StringConstraints, 'unit'> = {}): fc.Arbitrary<string> => fc.string({ ...constraints, unit: anyCodePoint });
