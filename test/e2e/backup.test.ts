/**
 * store.json.bak: the copy of the last version plaidbal wrote. A store damaged from outside
 * (a truncating sync tool, a manual edit, a dying disk) is never repaired silently: the error
 * names the backup, what it holds and the exact command that restores it, and that command
 * brings back every item with a token that still opens.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createWorld, type World } from '../helpers/world.js';

const ALIASES = ['first', 'second', 'third'];
let world: World;
let good: Buffer;
let backup: string;

const aliases = async () => {
  const result = await world.run(['items', '--json']);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { items: { alias: string }[] }).items.map((i) => i.alias);
};

/** The restore command the error printed: the line after "…with:". */
function printedCommand(stderr: string): string {
  const match = /with:\n {2}(.+)\n?/.exec(stderr);
  expect(match, stderr).not.toBeNull();
  return match![1]!;
}

beforeAll(async () => {
  world = await createWorld({}, {}, { inProcess: true });
  expect((await world.init('passphrase')).code).toBe(0);
  for (const alias of ALIASES) await world.link(alias);
  good = readFileSync(world.store.file);
  backup = `${world.store.file}.bak`;
});
afterAll(() => world?.close());
beforeEach(() => {
  writeFileSync(world.store.file, good);
  rmSync(backup, { recursive: true, force: true });
  writeFileSync(backup, good, { mode: 0o600 });
});

describe('store.json.bak', () => {
  it('is written beside the store by every write, with the same bytes and mode 0600', async () => {
    rmSync(backup);
    const renamed = await world.run(['items', 'rename', 'first', 'renamed']);
    expect(renamed.code, renamed.stderr).toBe(0);
    expect(readFileSync(backup).equals(readFileSync(world.store.file))).toBe(true);
    expect(readFileSync(backup).equals(good)).toBe(false);
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    expect(await aliases()).toEqual(['renamed', 'second', 'third']);
  });

  it.each([
    ['truncated to half', (b: Buffer) => b.subarray(0, b.length >> 1), 'not valid JSON'],
    ['emptied', () => Buffer.alloc(0), 'not valid JSON'],
    ['half-written (the rest NUL bytes, as a crash can leave it)', (b: Buffer) => Buffer.concat([b.subarray(0, b.length >> 1), Buffer.alloc(b.length - (b.length >> 1))]), 'not valid JSON'],
    ['replaced by a foreign JSON document', () => Buffer.from('{"editor.fontSize": 14}\n'), 'cannot be read'],
  ])('store.json %s: exit 3 names the backup and its items; the printed command restores every item', async (_what, damage, words) => {
    const damaged = damage(good);
    writeFileSync(world.store.file, damaged);
    const result = await world.run(['balance', '--item', 'second']);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toContain(words);
    expect(result.stderr).toContain(`Its backup ${backup} is intact`);
    expect(result.stderr).toContain('3 items: first (sandbox), second (sandbox), third (sandbox)');
    // Nothing restored silently, nothing changed.
    expect(readFileSync(world.store.file).equals(damaged)).toBe(true);
    expect(readFileSync(backup).equals(good)).toBe(true);

    const command = printedCommand(result.stderr);
    expect(command).toBe(`mv "${world.store.file}" "${world.store.file}.broken" && cp -p "${backup}" "${world.store.file}"`);
    execFileSync('sh', ['-c', command]);
    expect(readFileSync(`${world.store.file}.broken`).equals(damaged)).toBe(true); // the damaged file is kept for a look
    unlinkSync(`${world.store.file}.broken`);
    expect(await aliases()).toEqual(ALIASES);
    // The restored tokens still open and work at Plaid.
    const balance = await world.run(['balance', '--all', '--json']);
    expect(balance.code, balance.stderr).toBe(0);
    expect((JSON.parse(balance.stdout) as { items: { error: unknown }[] }).items.map((i) => i.error)).toEqual([null, null, null]);
    expect(statSync(world.store.file).mode & 0o777).toBe(0o600);
  });

  it('a missing store with its backup still there: every command says so, nothing new is created, the command restores it', async () => {
    unlinkSync(world.store.file);
    const before = world.emulator.items().length;
    for (const args of [['items'], ['link', '--sandbox', '--name', 'fresh']]) {
      const result = await world.run(args);
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toContain(`The store at ${world.store.file} is missing, but ${backup} is an intact backup (3 items`);
    }
    expect(world.emulator.items().length).toBe(before);
    const result = await world.run(['items']);
    execFileSync('sh', ['-c', printedCommand(result.stderr)]);
    expect(await aliases()).toEqual(ALIASES);
  });

  it('a damaged store whose backup is damaged too says the backup cannot help', async () => {
    writeFileSync(world.store.file, '');
    writeFileSync(backup, '{"version": 1');
    const result = await world.run(['items']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`Its backup ${backup} cannot help: it is not valid JSON either.`);
    expect(result.stderr).toContain(`mv "${world.store.file}" "${world.store.file}.broken"`);
  });

  it('a backup that cannot be written costs a warning, not the change: the store itself is saved', async () => {
    rmSync(backup);
    mkdirSync(backup); // something outside plaidbal put a directory there
    const result = await world.run(['items', 'rename', 'third', 'kept']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`! The store was saved, but its backup ${backup} could not be updated`);
    expect(await aliases()).toEqual(['first', 'second', 'kept']);
    expect(statSync(backup).isDirectory()).toBe(true);
  });
});
