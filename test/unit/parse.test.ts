/**
 * Flag parsing, through the program itself: `buildProgram` with a runner that records what it is
 * given (the command commander chose, with its parsed options and arguments, and the program's
 * global flags) instead of running anything, the way gh's tests check a command's flags by
 * giving it a run function that captures its options. What each command then does with its
 * options is tested through its run function (test/unit/run-direct.test.ts) and end to end.
 */
import { CommanderError, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { describe, expect, it } from 'vitest';
import { buildProgram, type Runner } from '../../src/cli.js';

interface Given {
  /** The command's path under the program (`items rotate`). */
  command: string;
  opts: Record<string, unknown>;
  args: unknown[];
  globals: Record<string, unknown>;
}

/** Parses `argv` (what follows `plaidbal`) and gives back what the runner was given, or commander's error. */
async function parse(argv: string[]): Promise<Given | CommanderError> {
  let given: Given | undefined;
  let ran = 0;
  const runner: Runner = async (command, run) => {
    expect(typeof run).toBe('function');
    ran++;
    const path: string[] = [];
    for (let c: CommandUnknownOpts | null = command; c && c.parent; c = c.parent as CommandUnknownOpts | null) path.unshift(c.name());
    given = { command: path.join(' '), opts: { ...command.opts() }, args: [...command.processedArgs], globals: { ...program.opts() } };
  };
  const program = buildProgram(runner);
  // As runProgram sets it up: commander's errors are thrown, not exits, and its output is kept.
  let output = '';
  const quiet = (command: CommandUnknownOpts) => {
    command.exitOverride().configureOutput({ writeOut: (s) => void (output += s), writeErr: (s) => void (output += s) });
    for (const sub of command.commands) quiet(sub as CommandUnknownOpts);
  };
  quiet(program as unknown as CommandUnknownOpts);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      expect(ran, 'a refused command line runs nothing').toBe(0);
      return Object.assign(error, { output });
    }
    throw error;
  }
  expect(ran, `plaidbal ${argv.join(' ')} ran its command once`).toBe(1);
  return given!;
}

async function parsed(argv: string[]): Promise<Given> {
  const got = await parse(argv);
  if (got instanceof CommanderError) throw new Error(`plaidbal ${argv.join(' ')} was refused: ${got.message}`);
  return got;
}

async function refused(argv: string[]): Promise<CommanderError & { output: string }> {
  const got = await parse(argv);
  if (!(got instanceof CommanderError)) throw new Error(`plaidbal ${argv.join(' ')} was accepted: ${JSON.stringify(got)}`);
  return got as CommanderError & { output: string };
}

describe('what each command is given', () => {
  // One command line per command, with every flag it has where a flag takes a value to parse.
  const cases: Array<[string[], Omit<Given, 'globals'>]> = [
    [
      ['config', 'init', '--env', 'production', '--client-id', 'cid', '--secret-stdin', '--client-name', 'Acme', '--country-codes', 'US,CA', '--language', 'fr', '--key-source', 'passphrase'],
      { command: 'config init', opts: { env: 'production', clientId: 'cid', secretStdin: true, clientName: 'Acme', countryCodes: ['US', 'CA'], language: 'fr', keySource: 'passphrase' }, args: [] },
    ],
    [['config', 'show', '--json'], { command: 'config show', opts: { json: true }, args: [] }],
    [['config', 'rekey', '--to', 'keychain'], { command: 'config rekey', opts: { to: 'keychain' }, args: [] }],
    [['config', 'path'], { command: 'config path', opts: {}, args: [] }],
    [
      ['link', '--name', 'acme', '--products', 'auth,transactions', '--env', 'sandbox', '--no-browser', '--country', 'US', '--language', 'en', '--redirect-uri', 'https://example.com/oauth', '--timeout', '90', '--json', '--yes'],
      { command: 'link', opts: { name: 'acme', products: ['auth', 'transactions'], env: 'sandbox', browser: false, country: ['US'], institution: 'ins_109508', language: 'en', redirectUri: 'https://example.com/oauth', timeout: 90, json: true, yes: true }, args: [] },
    ],
    [
      ['link', '--sandbox', '--institution', 'ins_3', '--sandbox-username', 'user_good', '--sandbox-password', 'pass_good'],
      { command: 'link', opts: { sandbox: true, institution: 'ins_3', sandboxUsername: 'user_good', sandboxPassword: 'pass_good', browser: true }, args: [] },
    ],
    [['link', '--update', 'acme', '--hosted'], { command: 'link', opts: { update: 'acme', hosted: true, browser: true, institution: 'ins_109508' }, args: [] }],
    [
      ['balance', '-i', 'a', '--item', 'b', '-a', 'acc1', '--account', 'acc2', '--format', 'ndjson', '--rate', '300', '--concurrency', '16', '--min-last-updated', '2026-01-01T00:00:00Z', '-y', '--env', 'production', '--timeout', '2.5'],
      { command: 'balance', opts: { item: ['a', 'b'], account: ['acc1', 'acc2'], format: 'ndjson', rate: 300, concurrency: 16, minLastUpdated: '2026-01-01T00:00:00Z', yes: true, env: 'production', timeout: 2.5 }, args: [] },
    ],
    [['balance', '--all', '--cached', '--json'], { command: 'balance', opts: { all: true, cached: true, json: true }, args: [] }],
    [['balance', '--access-token-stdin'], { command: 'balance', opts: { accessTokenStdin: true }, args: [] }],
    [
      ['check', '--item', 'a', '--account', 'acc', '--amount', '125.50', '--allow-credit', '--json', '--env', 'sandbox', '--min-last-updated', '2026-01-01', '--timeout', '30'],
      { command: 'check', opts: { item: 'a', account: 'acc', amount: '125.50', allowCredit: true, json: true, env: 'sandbox', minLastUpdated: '2026-01-01', timeout: 30 }, args: [] },
    ],
    [['items'], { command: 'items', opts: {}, args: [] }],
    [['items', '--json', '--env', 'production'], { command: 'items', opts: { json: true, env: 'production' }, args: [] }],
    [['items', 'rename', 'old', 'new-name'], { command: 'items rename', opts: {}, args: ['old', 'new-name'] }],
    [['items', 'remove', 'acme', '--yes', '--local'], { command: 'items remove', opts: { yes: true, local: true }, args: ['acme'] }],
    [['items', 'rotate', '--all', '--yes', '--rate', '60'], { command: 'items rotate', opts: { all: true, yes: true, rate: 60 }, args: [undefined] }],
    [['items', 'rotate', '--recover'], { command: 'items rotate', opts: { recover: true }, args: [undefined] }],
    [['items', 'rotate', '--recover', '/tmp/r.json'], { command: 'items rotate', opts: { recover: '/tmp/r.json' }, args: [undefined] }],
    [['items', 'import', '--format', 'csv', '--rate', '120', '--concurrency', '4'], { command: 'items import', opts: { format: 'csv', rate: 120, concurrency: 4 }, args: [] }],
    [['items', 'import', '--name', 'acme'], { command: 'items import', opts: { format: 'token', name: 'acme' }, args: [] }],
    [['items', 'status', 'acme'], { command: 'items status', opts: {}, args: ['acme'] }],
    [['items', 'status', '--all', '--rate', '10', '--concurrency', '2'], { command: 'items status', opts: { all: true, rate: 10, concurrency: 2 }, args: [undefined] }],
    [['sandbox', 'reset-login', 'acme'], { command: 'sandbox reset-login', opts: {}, args: ['acme'] }],
    [['doctor', '--json', '--timeout', '5'], { command: 'doctor', opts: { json: true, timeout: 5 }, args: [] }],
    [['completion', 'zsh'], { command: 'completion', opts: {}, args: ['zsh'] }],
    // The hidden command the completion scripts call, with the words typed so far.
    [['complete', '--', 'balance', '--it'], { command: 'complete', opts: {}, args: [['balance', '--it']] }],
  ];

  it.each(cases)('plaidbal %j', async (argv, expected) => {
    const got = await parsed(argv);
    expect({ command: got.command, opts: got.opts, args: got.args }).toEqual(expected);
    expect(got.globals).toEqual({ color: true });
  });

  it('the global flags reach the runner from anywhere on the line', async () => {
    expect((await parsed(['--debug', 'balance', '--all'])).globals).toEqual({ debug: true, color: true });
    expect((await parsed(['balance', '--all', '--no-color'])).globals).toEqual({ color: false });
    const both = await parsed(['items', 'status', '--debug', 'acme', '--no-color']);
    expect(both).toMatchObject({ command: 'items status', args: ['acme'], globals: { debug: true, color: false } });
  });

  it('every command the program has is in the table above', async () => {
    const program = buildProgram(async () => {}) as unknown as CommandUnknownOpts;
    const paths = (command: CommandUnknownOpts, prefix: string[] = []): string[] =>
      command.commands.flatMap((sub) => {
        const here = [...prefix, sub.name()];
        return [here.join(' '), ...paths(sub as CommandUnknownOpts, here)];
      });
    const covered = new Set(cases.map(([, expected]) => expected.command));
    // `config` and `sandbox` only group their subcommands.
    const runnable = paths(program).filter((path) => path !== 'sandbox' && path !== 'config');
    expect(runnable.filter((path) => !covered.has(path))).toEqual([]);
    expect(runnable.length).toBeGreaterThanOrEqual(15);
  });
});

describe('what is refused before anything runs', () => {
  // commander's error code says why the line was refused; the message says which argument.
  const INVALID = 'commander.invalidArgument';
  it.each([
    [['balance', '--rate', '0'], INVALID, /option '--rate <calls-per-minute>' argument '0' is invalid/],
    [['balance', '--rate', 'fast'], INVALID, /option '--rate <calls-per-minute>' argument 'fast' is invalid/],
    [['balance', '--concurrency', '129'], INVALID, /option '--concurrency <n>' argument '129' is invalid/],
    [['balance', '--concurrency', '1.5'], INVALID, /option '--concurrency <n>' argument '1.5' is invalid/],
    [['balance', '--timeout', '-1'], INVALID, /option '--timeout <seconds>' argument '-1' is invalid/],
    [['balance', '--timeout', 'soon'], INVALID, /option '--timeout <seconds>' argument 'soon' is invalid/],
    [['balance', '--format', 'xml'], INVALID, /Allowed choices are table, json, ndjson, csv/],
    [['balance', '--item'], 'commander.optionMissingArgument', /option '-i, --item <alias\|item_id>' argument missing/],
    [['balance', '--bogus'], 'commander.unknownOption', /unknown option '--bogus'/],
    [['config', 'init', '--key-source', 'file'], INVALID, /Allowed choices are keychain, passphrase/],
    [['config', 'rekey', '--to', 'file'], INVALID, /Allowed choices are keychain, passphrase/],
    [['items', 'import', '--format', 'json'], INVALID, /Allowed choices are token, ndjson, csv/],
    [['items', 'rename', 'old'], 'commander.missingArgument', /missing required argument 'alias'/],
    [['items', 'rename', 'old', 'a b\u0007'], INVALID, /command-argument value 'a b.*' is invalid for argument 'alias'/],
    [['items', 'remove'], 'commander.missingArgument', /missing required argument 'item'/],
    [['sandbox', 'reset-login'], 'commander.missingArgument', /missing required argument 'item'/],
    [['completion'], 'commander.missingArgument', /missing required argument 'shell'/],
    [['completion', 'tcsh'], INVALID, /Allowed choices are bash, zsh, fish, powershell/],
    [['link', '--timeout', '0'], INVALID, /option '--timeout <seconds>' argument '0' is invalid/],
    [['doctor', '--timeout', 'x'], INVALID, /option '--timeout <seconds>' argument 'x' is invalid/],
    [['balanse'], 'commander.unknownCommand', /unknown command 'balanse'[\s\S]*balance/],
  ] as Array<[string[], string, RegExp]>)('plaidbal %j', async (argv, code, message) => {
    const error = await refused(argv);
    expect(error.exitCode).not.toBe(0);
    expect(error.code).toBe(code);
    expect(error.output).toMatch(message);
  });

  it('--help and --version end the parse with exit code 0 and run nothing', async () => {
    for (const argv of [['--help'], ['balance', '--help'], ['items', 'rotate', '-h'], ['--version'], ['-v']]) {
      const error = await refused(argv);
      expect(error.exitCode, argv.join(' ')).toBe(0);
      expect(error.output.length, argv.join(' ')).toBeGreaterThan(0);
    }
  });
});
