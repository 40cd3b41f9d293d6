import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { plainTable } from '../../src/format/table.js';

const plain = new Chalk({ level: 0 });
const coloured = new Chalk({ level: 1 });
const ANSI = /\u001b\[/;

function rendered(compact?: boolean): string {
  const table = plainTable(['Name', 'Amount'], plain, compact === undefined ? {} : { compact });
  table.push(['one', '1'], ['two', '22']);
  return table.toString();
}

describe('plainTable', () => {
  it('writes no ANSI escape of its own when colour is off', () => {
    expect(rendered()).not.toMatch(ANSI);
    expect(rendered(false)).not.toMatch(ANSI);
  });

  it('makes the headings bold with the chalk it is given, and nothing else coloured', () => {
    const table = plainTable(['Name'], coloured);
    table.push(['one']);
    const text = table.toString();
    expect(text).toContain(coloured.bold('Name'));
    expect(text.replace(coloured.bold('Name'), '')).not.toMatch(ANSI);
  });

  it('is compact by default: one rule under the heading, none between rows', () => {
    const lines = rendered().split('\n');
    // top border, heading, rule, two rows, bottom border
    expect(lines).toHaveLength(6);
    expect(lines[1]).toMatch(/Name.*Amount/);
    expect(lines[3]).toMatch(/one/);
    expect(lines[4]).toMatch(/two/);
  });

  it('with compact: false, rules off every row', () => {
    const lines = rendered(false).split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[4]).not.toMatch(/one|two/);
  });

  it('passes cli-table3 options through (alignment)', () => {
    const table = plainTable(['Name', 'Amount'], plain, { colAligns: ['left', 'right'] });
    table.push(['one', '1'], ['two', '22']);
    expect(table.toString()).toMatch(/ {2}1 │/);
  });
});
