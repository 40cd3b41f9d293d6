/**
 * The rules for an alias (src/commands/options.ts aliasProblem), which link --name, items
 * rename and items import share. Aliases are readable metadata, stored and printed in the clear.
 */
import { InvalidArgumentError } from '@commander-js/extra-typings';
import { describe, expect, it } from 'vitest';
import { aliasProblem, parseAlias } from '../../src/commands/options.js';
import { freeAlias } from '../../src/commands/link/save.js';
import { CliError, ExitCode } from '../../src/errors.js';

describe('aliasProblem', () => {
  it('refuses anything shaped like a Plaid token, whatever the case: tokens are secrets', () => {
    for (const token of [
      'access-sandbox-435beced-94e8-4df3-a181-1dde1cfa19f0',
      'access-production-8ab976e6-64bc-4b38-98f7-731e7a349970',
      'public-sandbox-0a1b2c3d',
      'link-development-x',
      'processor-sandbox-0asd1-a92nc',
      'Access-Sandbox-ABC',
    ]) {
      expect(aliasProblem(token), token).toMatch(/cannot look like a Plaid token/);
      // Not commander's InvalidArgumentError, whose message quotes the value: a usage error that does not.
      let thrown: unknown;
      try {
        parseAlias(token);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(CliError);
      expect(thrown).not.toBeInstanceOf(InvalidArgumentError);
      expect((thrown as CliError).exitCode).toBe(ExitCode.USAGE);
      expect((thrown as CliError).message).not.toContain(token);
    }
  });

  it('keeps names that merely start with those words', () => {
    for (const name of ['access-bank', 'public-credit-union', 'link', 'sandbox-access-1', 'processor-2', 'acme-42', 'first-platypus-bank-2']) {
      expect(aliasProblem(name), name).toBeNull();
    }
  });

  it('the other rules: empty, leading "-", spaces or controls, an item_id\'s shape', () => {
    expect(() => parseAlias('a b')).toThrow(InvalidArgumentError);
    expect(aliasProblem('')).toMatch(/empty/);
    expect(aliasProblem('-x')).toMatch(/cannot start with "-"/);
    expect(aliasProblem('a b')).toMatch(/spaces or control characters/);
    expect(aliasProblem('a\u0007b')).toMatch(/spaces or control characters/);
    expect(aliasProblem('eVBnVMp7zdTJLkRNr33Rs6zr7KNJqBFL9DrE6')).toMatch(/item_id/);
  });
});

describe('freeAlias (link, when its --name was taken while Link was open)', () => {
  it('adds the first free -N, cut to fit the 64-character limit, and the result is a valid alias', () => {
    expect(freeAlias(new Set(), 'checking')).toBe('checking');
    expect(freeAlias(new Set(['checking']), 'checking')).toBe('checking-2');
    expect(freeAlias(new Set(['checking', 'checking-2']), 'checking')).toBe('checking-3');
    const long = 'é'.repeat(64);
    const next = freeAlias(new Set([long]), long);
    expect(next).toBe(`${'é'.repeat(62)}-2`);
    expect(aliasProblem(next)).toBeNull();
  });
});
