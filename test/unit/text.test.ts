import { describe, expect, it } from 'vitest';
import { escapeControls, hasControls, oneLine, stripControls, withoutUserinfo } from '../../src/text.js';

// Every C0 and C1 control character, DEL included, and the two kept for layout.
const C0 = Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i));
const C1 = Array.from({ length: 0x21 }, (_, i) => String.fromCharCode(0x7f + i));
const LAYOUT = ['\t', '\n'];
const DRIVING = [...C0, ...C1].filter((c) => !LAYOUT.includes(c));

describe('escapeControls', () => {
  it('shows each control character as a \\uXXXX escape', () => {
    expect(escapeControls('red \u001b[31mtext\u0007')).toBe('red \\u001b[31mtext\\u0007');
    expect(escapeControls('\r\u0000\u007f\u009b\u0085')).toBe('\\u000d\\u0000\\u007f\\u009b\\u0085');
    for (const c of DRIVING) expect(escapeControls(`a${c}b`)).toBe(`a\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}b`);
  });

  it('keeps tabs, newlines and everything printable as they are', () => {
    const text = 'Plaid said:\n\tno — “quotes”, ¥, é, 😀, \u00a0 and \u00a0';
    expect(escapeControls(text)).toBe(text);
  });

  it('escapes every one in a long string, not only the first', () => {
    expect(escapeControls('\u001b'.repeat(3))).toBe('\\u001b'.repeat(3));
  });
});

describe('stripControls', () => {
  it('drops each control character but tab and newline', () => {
    expect(stripControls('red \u001b[31mtext\u0007')).toBe('red [31mtext');
    expect(stripControls(DRIVING.join(''))).toBe('');
    expect(stripControls(`a\tb\nc${DRIVING.join('')}d`)).toBe('a\tb\nc' + 'd');
  });

  it('keeps printable text as it is', () => {
    expect(stripControls('First Platypus Bank ¥ 😀')).toBe('First Platypus Bank ¥ 😀');
  });
});

describe('hasControls', () => {
  it('finds any control character, tab and newline included', () => {
    for (const c of [...C0, ...C1]) expect(hasControls(`a${c}b`)).toBe(true);
    expect(hasControls('plain text, ¥ and 😀')).toBe(false);
    expect(hasControls('')).toBe(false);
  });

  it('with allowTabNewline, lets tab and newline through and nothing else', () => {
    expect(hasControls('line one\n\tline two', { allowTabNewline: true })).toBe(false);
    for (const c of DRIVING) expect(hasControls(`a${c}b`, { allowTabNewline: true })).toBe(true);
  });

  it('gives the same answer on every call (no regex state carried over)', () => {
    for (let i = 0; i < 3; i++) expect(hasControls('\u001b\u001b', { allowTabNewline: true })).toBe(true);
  });

  it('does not count characters just outside the ranges', () => {
    expect(hasControls('\u0020\u007e\u00a0')).toBe(false);
  });
});

describe('oneLine', () => {
  it('turns each run of control and format characters, line breaks and spaces into one space, trimmed', () => {
    expect(oneLine('  First\tPlatypus\r\n\u2028Bank\u0007 ')).toBe('First Platypus Bank');
    expect(oneLine('a\u202eb\u200bc\u2029d\u0085e\u009bf')).toBe('a b c d e f');
    expect(oneLine('\u001b[31mred\u001b[0m')).toBe('[31mred [0m');
  });

  it('keeps letters of any script, symbols and single emoji as they are', () => {
    expect(oneLine('Café — 銀行 👍 100%')).toBe('Café — 銀行 👍 100%');
    expect(oneLine('')).toBe('');
  });

  it('a zero-width joiner is a format character too: a joined emoji or a ZWNJ word comes apart', () => {
    expect(oneLine('👨\u200d👩\u200d👧')).toBe('👨 👩 👧');
    expect(oneLine('می\u200cخواهم')).toBe('می خواهم');
  });
});

describe('withoutUserinfo', () => {
  it('hides a user and password however the URL spells them, and leaves other URLs as they are', () => {
    for (const [given, shown] of [
      ['https://user:hunter2@proxy.example/', 'https://***@proxy.example/'],
      ['https://user:p@ss@proxy.example/plaid', 'https://***@proxy.example/plaid'],
      ['https:\\\\user:hunter2@proxy.example', 'https://***@proxy.example/'],
      ['https:user:hunter2@proxy.example', 'https://***@proxy.example/'],
      ['http://token@127.0.0.1:8080', 'http://***@127.0.0.1:8080/'],
      ['not a url, u:hunter2@x', '***@x'],
      // No scheme: the URL parser reads `alice:` as one, with no user.
      ['alice:s3cret@proxy.corp:3128', '***@proxy.corp:3128'],
      ['ftp://user:hunter2@proxy.example/', '***@proxy.example/'],
      ['https://sandbox.plaid.com', 'https://sandbox.plaid.com'],
      ['http://127.0.0.1:9/a@b', 'http://127.0.0.1:9/a@b'],
    ]) {
      expect(withoutUserinfo(given!), given).toBe(shown);
    }
  });
});
