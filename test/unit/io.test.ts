/**
 * Colour (src/io.ts): chalk when a stream has colour, and plainStyle, which does what a chalk of
 * level 0 does without loading chalk, when it has none. Which unit a real run loads:
 * test/e2e/startup.test.ts.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import { describe, expect, it } from 'vitest';
import { colorLevel, plainStyle, styleFor } from '../../src/io.js';

const chalk0 = new Chalk({ level: 0 });

/** The styles src/ uses, chained as it chains them, and a few more. */
const uses: Array<[string, (c: ChalkInstance) => string]> = [
  ['bold', (c) => c.bold('Totals')],
  ['dim', (c) => c.dim('never')],
  ['red.bold', (c) => c.red.bold('Error:')],
  ['yellow', (c) => c.yellow('! careful')],
  ['cyan', (c) => c.cyan('Hint:')],
  ['green.bold.underline', (c) => c.green.bold.underline('ok')],
  ['bgRed.white', (c) => c.bgRed.white('x')],
  ['two arguments', (c) => c.dim('a', 'b')],
  ['a number', (c) => c.bold(12.5 as unknown as string)],
  ['null', (c) => c.dim(null as unknown as string)],
  ['undefined', (c) => c.dim(undefined as unknown as string)],
  ['no argument', (c) => c.dim()],
  ['an empty string', (c) => c.red('')],
  ['the instance called', (c) => c('plain', 'text')],
  ['an escape already in the text', (c) => c.bold('\u001b[31mred')],
  ['visible (text shown only with colour)', (c) => c.visible('only in colour')],
  ['visible, chained', (c) => c.red.visible.bold('only in colour')],
];

describe('plainStyle', () => {
  it.each(uses)('%s: the same text as chalk at level 0', (_name, use) => {
    expect(use(plainStyle)).toBe(use(chalk0));
  });

  it('reads level 0, as chalk at level 0 does', () => {
    expect(plainStyle.level).toBe(0);
    expect(plainStyle.red.bold.level).toBe(0);
    expect(chalk0.level).toBe(0);
  });
});

describe('styleFor', () => {
  it('level 0 is plainStyle; a level with colour is chalk at that level', () => {
    expect(styleFor(0)).toBe(plainStyle);
    expect(styleFor(1).red('x')).toBe('\u001b[31mx\u001b[39m');
    expect(styleFor(1).level).toBe(1);
    expect(styleFor(3).level).toBe(3);
    expect(styleFor(1).red.bold('Error:')).toBe(new Chalk({ level: 1 }).red.bold('Error:'));
  });

  it('follows colorLevel: NO_COLOR and --no-color win, FORCE_COLOR colours a pipe, a terminal has colour', () => {
    expect(styleFor(colorLevel(true, { noColorFlag: false, env: { NO_COLOR: '1' } }))).toBe(plainStyle);
    expect(styleFor(colorLevel(true, { noColorFlag: true, env: {} }))).toBe(plainStyle);
    expect(styleFor(colorLevel(false, { noColorFlag: false, env: {} }))).toBe(plainStyle);
    expect(styleFor(colorLevel(false, { noColorFlag: false, env: { FORCE_COLOR: '1' } })).bold('x')).toBe('\u001b[1mx\u001b[22m');
    expect(styleFor(colorLevel(true, { noColorFlag: false, env: { TERM: 'xterm' } })).level).toBe(1);
  });
});
