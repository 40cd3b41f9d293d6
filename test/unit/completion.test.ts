/**
 * Shell completion in process: the program's hidden `complete` command, as the shell scripts
 * call it, against a store file written here. What it offers is derived from the commander
 * program, so these tests compare against the program itself, plus spot checks by name.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandUnknownOpts as Command } from '@commander-js/extra-typings';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildProgram, main } from '../../src/cli.js';
import { ITEM_ARGUMENTS, ITEM_OPTIONS } from '../../src/commands/completion/run.js';
import { ExitCode } from '../../src/errors.js';
import { LINK_PRODUCTS } from '../../src/commands/link/products.js';
import { ENVIRONMENTS } from '../../src/types.js';

const item = (alias: string, environment: string, n: number) => ({
  item_id: `item${String(n).padStart(33, '0')}`,
  alias,
  environment,
  institution_id: 'ins_109508',
  institution_name: 'First Platypus Bank',
  products: ['transactions'],
  linked_at: '2026-01-01T00:00:00.000Z',
  access_token: 'v1.sealed-not-a-token',
});
const STORE = {
  version: 1,
  store_id: 'completion-test',
  key: { source: 'passphrase', kdf: { name: 'scrypt', N: 2 ** 17, r: 8, p: 1, salt: 'c2FsdA==' }, check: 'sealed-check', created_at: '2026-01-01T00:00:00.000Z' },
  profiles: {},
  items: [item('demo', 'sandbox', 1), item('tartan', 'sandbox', 2), item('checking', 'production', 3)],
};
const ALIASES = ['demo', 'tartan', 'checking'];

let dir: string;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plaidbal-completion-'));
  env = { PLAIDBAL_CONFIG_DIR: dir };
  await writeFile(join(dir, 'store.json'), JSON.stringify(STORE, null, 2));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

const noRun = async () => {
  throw new Error('not run');
};

interface Answer {
  values: string[];
  directive: string;
  /** Everything the run wrote to stderr or console.error. */
  errors: string;
}

/** `plaidbal complete -- <words>`, the last word being the one under the cursor. */
async function complete(...words: string[]): Promise<Answer> {
  const lines: string[] = [];
  let errors = '';
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void (errors += args.join(' ')));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((errors += String(chunk)), true));
  let code: number;
  try {
    code = await main(['node', 'plaidbal', 'complete', '--', ...words], env);
  } finally {
    vi.restoreAllMocks();
  }
  expect(code, words.join(' ')).toBe(0);
  const output = lines.join('\n').split('\n');
  const directive = output.pop()!;
  return { values: output.filter(Boolean).map((line) => line.split('\t')[0]!), directive, errors };
}

/** The program, to compare with: built, never run. */
const program = () => buildProgram(noRun);
const visible = (command: Command) => command.createHelp().visibleCommands(command);
/** Every visible command below the program, with its words: [['config'], ['config', 'init'], …]. */
function commandPaths(command: Command = program(), path: string[] = []): [string[], Command][] {
  return visible(command).flatMap((sub) => [[[...path, sub.name()], sub] as [string[], Command], ...commandPaths(sub, [...path, sub.name()])]);
}
const longFlags = (command: Command) => {
  const own = command.createHelp().visibleOptions(command);
  const inherited: typeof own = [];
  for (let parent = command.parent; parent; parent = parent.parent) inherited.push(...parent.options.filter((o) => !o.hidden));
  return [...new Set([...own, ...inherited].map((o) => o.long).filter((l): l is string => Boolean(l)))];
};

describe('commands and flags come from the commander program', () => {
  it('the first word: every visible command, completion included, and not the hidden complete', async () => {
    const answer = await complete('');
    expect(answer.values).toEqual(visible(program()).map((c) => c.name()));
    expect(answer.values).toEqual(expect.arrayContaining(['config', 'link', 'balance', 'check', 'items', 'sandbox', 'completion']));
    expect(answer.values).not.toContain('complete');
    expect(answer.directive).toBe(':4');
    expect((await complete('it')).values).toEqual(['items']);
  });

  it('subcommands of each command', async () => {
    for (const [path, command] of commandPaths()) {
      const subs = visible(command).map((c) => c.name());
      if (subs.length === 0) continue;
      expect((await complete(...path, '')).values, path.join(' ')).toEqual(expect.arrayContaining(subs));
    }
    expect((await complete('items', '')).values).toEqual(expect.arrayContaining(['status', 'rename', 'remove']));
  });

  it("each command's flags, with those it inherits (commander takes a parent's flags after a subcommand)", async () => {
    for (const [path, command] of [[[], program()] as [string[], Command], ...commandPaths()]) {
      const answer = await complete(...path, '--');
      expect([...answer.values].sort(), path.join(' ') || '(root)').toEqual(longFlags(command).sort());
    }
    expect((await complete('items', 'status', '--')).values).toEqual(expect.arrayContaining(['--all', '--concurrency', '--env', '--json', '--debug', '--no-color']));
    expect((await complete('balance', '--f')).values).toEqual(['--format']);
  });

  it("a flag's .choices(), and the shells of `completion`", async () => {
    expect((await complete('balance', '--format', '')).values).toEqual(['table', 'json', 'ndjson', 'csv']);
    expect((await complete('balance', '--format=nd')).values).toEqual(['ndjson']);
    const shells = program().commands.find((c) => c.name() === 'completion')!.registeredArguments[0]!.argChoices;
    expect((await complete('completion', '')).values).toEqual(shells);
    expect([...shells!].sort()).toEqual(['bash', 'fish', 'powershell', 'zsh']);
  });
});

describe('values', () => {
  it('--env: sandbox and production, wherever --env is taken (own or inherited)', async () => {
    const withEnv = [[[], program()] as [string[], Command], ...commandPaths()].filter(([, c]) => longFlags(c).includes('--env'));
    expect(withEnv.map(([p]) => p.join(' '))).toEqual(expect.arrayContaining(['config init', 'link', 'balance', 'check', 'items', 'items status']));
    for (const [path] of withEnv) expect((await complete(...path, '--env', '')).values, path.join(' ')).toEqual([...ENVIRONMENTS]);
  });

  it('--products: the Link products, as a comma-separated list', async () => {
    expect((await complete('link', '--products', '')).values).toEqual([...LINK_PRODUCTS]);
    expect((await complete('link', '--sandbox', '--products', 'auth,tr')).values).toEqual(['auth,transactions', 'auth,transfer']);
    expect((await complete('link', '--products=auth,tr')).values).toEqual(['auth,transactions', 'auth,transfer']);
  });

  it('a flag without listed values offers nothing (not the commands, not files)', async () => {
    const answer = await complete('balance', '--timeout', '');
    expect(answer.values).toEqual([]);
    expect(answer.directive).toBe(':4');
  });
});

describe('items: aliases from the store, wherever an item is expected', () => {
  it('ITEM_ARGUMENTS names exactly the commands with an `item` argument, so a new one cannot be missed', () => {
    const withItem = commandPaths()
      .filter(([, c]) => c.registeredArguments.some((a) => a.name() === 'item'))
      .map(([p]) => p.join(' '));
    expect([...ITEM_ARGUMENTS].sort()).toEqual(withItem.sort());
  });

  it('ITEM_OPTIONS are flags the program has', () => {
    const flags = new Set(commandPaths().flatMap(([, c]) => c.options.map((o) => o.long)));
    for (const name of ITEM_OPTIONS) expect(flags.has(`--${name}`), name).toBe(true);
  });

  it('the item argument of items status|rename|remove and sandbox reset-login', async () => {
    for (const path of ITEM_ARGUMENTS) {
      expect((await complete(...path.split(' '), '')).values, path).toEqual(ALIASES);
    }
    expect((await complete('items', 'status', '--all', 'd')).values).toEqual(['demo']);
  });

  it('--item / -i (balance, check) and link --update, also after other flags and with =', async () => {
    for (const words of [['balance', '--item', ''], ['balance', '-i', ''], ['check', '--item', ''], ['link', '--update', ''], ['balance', '--all', '--cached', '--item', '']]) {
      expect((await complete(...words)).values, words.join(' ')).toEqual(ALIASES);
    }
    expect((await complete('balance', '--item=t')).values).toEqual(['tartan']);
    expect((await complete('balance', '--item', 'demo', '--item', 'c')).values).toEqual(['checking']);
  });

  it('only the environment of an --env on the line', async () => {
    expect((await complete('balance', '--env', 'production', '--item', '')).values).toEqual(['checking']);
    expect((await complete('items', 'status', '--env', 'sandbox', '')).values).toEqual(['demo', 'tartan']);
    expect((await complete('link', '--env=sandbox', '--update', '')).values).toEqual(['demo', 'tartan']);
  });

  it('never where something else is expected: the new alias of rename, an --account', async () => {
    expect((await complete('items', 'rename', 'demo', '')).values).toEqual([]);
    expect((await complete('balance', '--item', 'demo', '--account', '')).values).toEqual([]);
    expect((await complete('link', '--name', '')).values).toEqual([]);
  });
});

describe('the store: read, never written; any problem means no aliases and no error', () => {
  async function files() {
    const names = await readdir(dir);
    return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n)).catch(() => null)])));
  }

  it('leaves the store directory byte-identical', async () => {
    const before = await files();
    expect((await complete('balance', '--item', '')).values).toEqual(ALIASES);
    expect(await files()).toEqual(before);
  });

  const broken: [string, () => Promise<void>][] = [
    ['missing', () => rm(join(dir, 'store.json'))],
    ['empty', () => writeFile(join(dir, 'store.json'), '')],
    ['not JSON', () => writeFile(join(dir, 'store.json'), '{"version":1,"items":[')],
    ['not a plaidbal store', () => writeFile(join(dir, 'store.json'), JSON.stringify({ items: [{ alias: 'demo' }] }))],
    ['a malformed item', () => writeFile(join(dir, 'store.json'), JSON.stringify({ ...STORE, items: [...STORE.items, { alias: 'x' }] }))],
    ['a directory', async () => (await rm(join(dir, 'store.json')), await mkdir(join(dir, 'store.json')))],
    ['a store directory that is a file', async () => (await rm(dir, { recursive: true }), await writeFile(dir, 'x'))],
  ];
  for (const [what, breakIt] of broken) {
    it(`${what}: no aliases, nothing on stderr, commands still complete`, async () => {
      await breakIt();
      const answer = await complete('items', 'status', '');
      expect(answer).toEqual({ values: [], directive: ':4', errors: '' });
      expect((await complete('ite')).values).toEqual(['items']);
    });
  }
});

describe('completion <shell>', () => {
  async function script(shell: string): Promise<string> {
    let out = '';
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void (out += `${args.join(' ')}\n`));
    try {
      expect(await main(['node', 'plaidbal', 'completion', shell], env)).toBe(0);
    } finally {
      vi.restoreAllMocks();
    }
    return out;
  }

  it('prints a script for each shell that calls `plaidbal complete --`', async () => {
    expect(await script('bash')).toMatch(/complete -F __plaidbal_complete plaidbal/);
    expect(await script('zsh')).toMatch(/^#compdef plaidbal/);
    expect(await script('fish')).toMatch(/complete -c plaidbal /);
    expect(await script('powershell')).toMatch(/Register-ArgumentCompleter/);
    for (const shell of ['bash', 'zsh', 'fish']) expect(await script(shell), shell).toContain('plaidbal complete -- ');
    expect(await script('powershell')).toContain(`& plaidbal complete '--' `);
  });

  it('refuses another shell, or none, with a usage error (exit 2) and nothing on stdout', async () => {
    for (const args of [['completion', 'tcsh'], ['completion']]) {
      let stdout = '';
      let stderr = '';
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
      vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += a.join(' ')));
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
      try {
        expect(await main(['node', 'plaidbal', ...args], env), args.join(' ')).toBe(ExitCode.USAGE);
      } finally {
        vi.restoreAllMocks();
      }
      expect(stdout).toBe('');
      expect(stderr).toMatch(/error: /);
    }
  });
});
