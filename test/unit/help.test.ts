/**
 * `--help` of every command and subcommand ends with examples (README: "Every command has `--help`
 * with examples"). The commands are read off the program itself, so one added later is covered.
 */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { expect, it } from 'vitest';
import { buildProgram } from '../../src/cli.js';
import { runInProcess } from '../helpers/in-process.js';

/** The commands `--help` lists (not the hidden ones a shell's completion calls, nor `help` itself). */
function commandPaths(command: CommandUnknownOpts, path: string[] = []): string[][] {
  return command.createHelp().visibleCommands(command).filter((sub) => sub.name() !== 'help').flatMap((sub) => {
    const here = [...path, sub.name()];
    return [here, ...commandPaths(sub as CommandUnknownOpts, here)];
  });
}

it('every command and subcommand has examples in its --help', async () => {
  const paths = commandPaths(buildProgram(async () => {}) as unknown as CommandUnknownOpts);
  // The tree as it stands, so a command that went missing from it fails here too.
  expect(paths.map((p) => p.join(' '))).toEqual(expect.arrayContaining(['config', 'config init', 'config rekey', 'link', 'balance', 'check', 'items', 'items rotate', 'items import', 'items status', 'sandbox', 'sandbox reset-login', 'doctor', 'completion']));
  for (const path of paths) {
    const r = await runInProcess([...path, '--help'], { env: { PATH: process.env.PATH } });
    expect(r.code, path.join(' ')).toBe(0);
    expect(r.stdout, `plaidbal ${path.join(' ')} --help`).toMatch(/\nExamples:\n {2}\$ .*plaidbal /);
  }
});
