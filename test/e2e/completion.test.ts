/**
 * Shell completion end to end: the scripts `plaidbal completion <shell>` prints, installed and
 * run in real bash, zsh and fish, against the built CLI and a store whose key is a passphrase
 * that completion is never given. Aliases still come (the store's readable metadata); the
 * store stays byte-identical, Plaid (the emulator) is not called, and nothing prompts: zsh
 * runs plaidbal on a terminal, where a prompt would hang the test.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { bashComplete, fishComplete, requireShell, shellHome, zshComplete, type ShellHome } from '../helpers/shells.js';
import { linkedWorld, type World } from '../helpers/world.js';

const ALIASES = ['demo', 'tartan'];

let world: World;
let dir: string;
let shell: ShellHome;
let before: Map<string, Buffer>;
let requestsBefore: number;

beforeAll(async () => {
  // PLAIDBAL_PASSPHRASE is set for these: the store is keyed by a passphrase.
  world = await linkedWorld();
  await world.link('tartan', '--institution', 'ins_109511', '--products', 'auth');

  const env = { ...world.env };
  delete env.PLAIDBAL_PASSPHRASE;
  const scripts = { bash: '', zsh: '', fish: '' };
  for (const name of ['bash', 'zsh', 'fish'] as const) {
    const r = await runCli(['completion', name], { env });
    expect(r, name).toMatchObject({ code: 0, stderr: '' });
    scripts[name] = r.stdout;
  }
  dir = await mkdtemp(join(tmpdir(), 'plaidbal-shells-'));
  shell = await shellHome(dir, env, scripts);
  before = await world.store.snapshot();
  requestsBefore = world.emulator.requests.length;
});

afterAll(async () => {
  await world?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The store is as it was, and nothing reached Plaid. */
async function untouched(): Promise<void> {
  expect(await world.store.snapshot()).toEqual(before);
  // No lock directory, temporary file or anything else beside the store and its backup.
  expect((await readdir(world.store.dir)).sort()).toEqual([...before.keys()].sort());
  expect(world.emulator.requests.length).toBe(requestsBefore);
}

describe('bash (with bash-completion)', () => {
  beforeAll(() => requireShell('bash'));

  it('offers the aliases of a passphrase store without the passphrase, wherever an item is expected', async () => {
    for (const words of [
      ['plaidbal', 'items', 'status', ''],
      ['plaidbal', 'items', 'rename', ''],
      ['plaidbal', 'items', 'remove', ''],
      ['plaidbal', 'items', 'rotate', ''],
      ['plaidbal', 'balance', '--item', ''],
      ['plaidbal', 'check', '-i', ''],
      ['plaidbal', 'link', '--update', ''],
    ]) {
      expect(bashComplete(shell, words), words.join(' ')).toEqual(ALIASES);
    }
    expect(bashComplete(shell, ['plaidbal', 'items', 'status', 't'])).toEqual(['tartan']);
    expect(bashComplete(shell, ['plaidbal', 'balance', '--env', 'production', '--item', ''])).toEqual([]);
    await untouched();
  });

  it('commands, flags and flag values', () => {
    expect(bashComplete(shell, ['plaidbal', 'i'])).toEqual(['items']);
    expect(bashComplete(shell, ['plaidbal', 'items', ''])).toEqual(['rename', 'remove', 'rotate', 'import', 'status']);
    expect(bashComplete(shell, ['plaidbal', 'items', 'import', '--format', ''])).toEqual(['token', 'ndjson', 'csv']);
    expect(bashComplete(shell, ['plaidbal', 'balance', '--access'])).toEqual(['--access-token-stdin']);
    expect(bashComplete(shell, ['plaidbal', 'balance', '--f'])).toEqual(['--format']);
    expect(bashComplete(shell, ['plaidbal', 'balance', '--format', ''])).toEqual(['table', 'json', 'ndjson', 'csv']);
    expect(bashComplete(shell, ['plaidbal', 'items', 'status', '--env', ''])).toEqual(['sandbox', 'production']);
    expect(bashComplete(shell, ['plaidbal', 'link', '--products', 'auth,tr'])).toEqual(['auth,transactions', 'auth,transfer']);
  });

  it("installed where bash-completion's loader finds it", () => {
    expect(bashComplete(shell, ['plaidbal', 'items', 'remove', ''], 'loader')).toEqual(ALIASES);
  });
});

describe('zsh (compinit, on a terminal)', () => {
  beforeAll(() => requireShell('zsh'));

  it('offers the aliases without the passphrase, from $fpath and when sourced', async () => {
    expect(await zshComplete(shell, 'plaidbal items status ')).toEqual(ALIASES);
    expect(await zshComplete(shell, 'plaidbal balance --item=')).toEqual(ALIASES);
    expect(await zshComplete(shell, 'plaidbal link --update d', 'source')).toEqual(['demo']);
    await untouched();
  });

  it('commands, flags and flag values', async () => {
    expect(await zshComplete(shell, 'plaidbal ite')).toEqual(['items']);
    expect(await zshComplete(shell, 'plaidbal balance --format ')).toEqual(['table', 'json', 'ndjson', 'csv']);
    expect(await zshComplete(shell, 'plaidbal link --env ')).toEqual(['sandbox', 'production']);
  });
});

describe('fish', () => {
  beforeAll(() => requireShell('fish'));

  it('offers the aliases without the passphrase, with --item and --item=', async () => {
    expect(fishComplete(shell, 'plaidbal items status ')).toEqual([...ALIASES].sort());
    expect(fishComplete(shell, 'plaidbal balance --item=')).toEqual(['--item=demo', '--item=tartan']);
    expect(fishComplete(shell, 'plaidbal items remove t')).toEqual(['tartan']);
    await untouched();
  });

  it('commands, flags and flag values', () => {
    expect(fishComplete(shell, 'plaidbal ite')).toEqual(['items']);
    expect(fishComplete(shell, 'plaidbal link --products=auth,tr')).toEqual(['--products=auth,transactions', '--products=auth,transfer']);
  });
});

describe('plaidbal complete (what the scripts call)', () => {
  it('without a store: exit 0, commands still complete, no aliases and nothing on stderr', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'plaidbal-nostore-'));
    try {
      const env = { ...shell.env, PLAIDBAL_CONFIG_DIR: empty };
      expect(await runCli(['complete', '--', 'items', 'status', ''], { env })).toMatchObject({ code: 0, stdout: ':4\n', stderr: '' });
      expect(await runCli(['complete', '--', 'ite'], { env })).toMatchObject({ code: 0, stderr: '' });
      expect(await readdir(empty)).toEqual([]);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('completion with an unknown shell, or none: exit 2, nothing on stdout', async () => {
    for (const args of [['completion', 'tcsh'], ['completion']]) {
      const r = await runCli(args, { env: shell.env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/error: /);
    }
  });
});
