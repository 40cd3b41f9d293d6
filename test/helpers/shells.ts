/**
 * Drives plaidbal's completion scripts in real shells, installed the way the README says, with
 * a `plaidbal` on PATH that runs the built CLI:
 * - bash: the script sourced after bash-completion (or found by bash-completion's loader),
 *   then its completion function called with COMP_WORDS/COMP_CWORD, as readline would;
 * - zsh: an interactive zsh on a pseudo-terminal (zsh/zpty) with compinit, the script on
 *   $fpath (or sourced), Tab typed after the line; compadd is wrapped to report each match;
 * - fish: the script in ~/.config/fish/completions, and `complete --do-complete <line>`.
 * Each returns the values offered (descriptions dropped).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN } from './cli.js';

export const BASH_COMPLETION = '/usr/share/bash-completion/bash_completion';

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Fails with the Debian package to install when a shell is missing (CI installs them: .ci/run). */
export function requireShell(program: 'bash' | 'zsh' | 'fish'): void {
  const found = spawnSync(program, ['-c', 'exit 0'], { stdio: 'ignore' });
  if (found.error || found.status !== 0) throw new Error(`${program} is not installed: apt-get install -y ${program} (.ci/run installs it)`);
  if (program === 'bash' && !existsSync(BASH_COMPLETION)) throw new Error(`${BASH_COMPLETION} is missing: apt-get install -y bash-completion (.ci/run installs it)`);
}

export interface ShellHome {
  /** HOME, with the completion scripts installed under it. */
  home: string;
  env: NodeJS.ProcessEnv;
}

/**
 * A HOME for the shells, a `plaidbal` on PATH, and each shell's script where the README puts
 * it. `scripts` is what `plaidbal completion <shell>` printed.
 */
export async function shellHome(dir: string, env: NodeJS.ProcessEnv, scripts: Record<'bash' | 'zsh' | 'fish', string>): Promise<ShellHome> {
  const home = join(dir, 'home');
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, 'plaidbal'), `#!/bin/sh\nexec ${quote(process.execPath)} ${quote(BIN)} "$@"\n`);
  await chmod(join(bin, 'plaidbal'), 0o755);
  const files: [string, string][] = [
    [join(home, '.local', 'share', 'bash-completion', 'completions', 'plaidbal'), scripts.bash],
    [join(home, 'plaidbal.bash'), scripts.bash],
    [join(home, '.zfunc', '_plaidbal'), scripts.zsh],
    [join(home, 'plaidbal.zsh'), scripts.zsh],
    [join(home, '.config', 'fish', 'completions', 'plaidbal.fish'), scripts.fish],
  ];
  for (const [file, text] of files) {
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, text);
  }
  return {
    home,
    env: {
      ...env,
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_DATA_HOME: join(home, '.local', 'share'),
      XDG_CACHE_HOME: join(home, '.cache'),
      PATH: `${bin}:${env.PATH ?? process.env.PATH ?? '/usr/bin:/bin'}`,
    },
  };
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, what: string): string {
  const r = spawnSync(command, args, { env, encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) throw new Error(`${what}: ${r.error?.message ?? `exit ${r.status ?? r.signal}`}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * bash: `words` is the line as COMP_WORDS (the last element the word under the cursor, '' after
 * a space). `install`: `source` the script, or let bash-completion's loader find it.
 */
export function bashComplete(shell: ShellHome, words: string[], install: 'source' | 'loader' = 'source'): string[] {
  const line = words.join(' ');
  const script = [
    `source ${quote(BASH_COMPLETION)}`,
    install === 'source' ? `source ${quote(join(shell.home, 'plaidbal.bash'))}` : '__load_completion plaidbal || exit 9',
    // What readline sets before it calls the function `complete -F` registered.
    `COMP_WORDS=(${words.map(quote).join(' ')})`,
    `COMP_CWORD=${words.length - 1}`,
    `COMP_LINE=${quote(line)}`,
    `COMP_POINT=${line.length}`,
    `COMP_TYPE=9`,
    `COMP_KEY=9`,
    `fn=$(complete -p plaidbal) || exit 8`,
    `[[ $fn == 'complete -F __plaidbal_complete plaidbal' ]] || exit 7`,
    // compopt only works under readline; it says so on stderr, which is dropped here.
    `__plaidbal_complete 2>/dev/null`,
    `printf '%s\\n' "\${COMPREPLY[@]}"`,
  ].join('\n');
  return run('bash', ['--norc', '--noprofile', '-c', script], shell.env, `bash completion of "${line}"`)
    .split('\n')
    .filter(Boolean);
}

const ZSHRC = `
PS1='' RPS1=''
if [[ $PLAIDBAL_TEST_ZSH_INSTALL == fpath ]]; then fpath=(~/.zfunc $fpath); fi
# compinit's dump, as zsh keeps one by default: one per way of installing, so that neither finds
# the other's _plaidbal in it. The first completion in each way writes it; the others read it.
autoload -Uz compinit && compinit -u -d ~/.zcompdump-$PLAIDBAL_TEST_ZSH_INSTALL
if [[ $PLAIDBAL_TEST_ZSH_INSTALL == source ]]; then source ~/plaidbal.zsh; fi
zstyle ':completion:*' list-grouped false
# Report each match added (after zsh's own matching against the word), between \\x02 and \\x03.
compadd() {
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd "$@"; return $?; fi
  local -a __matches
  builtin compadd -A __matches "$@"
  local m; for m in "\${__matches[@]}"; do print -rn -- $'\\x02'"$m"$'\\x03'; done
  builtin compadd "$@"
}
plaidbal-test-done() { print -rn -- $'\\x04'; exit 0 }
zle -N plaidbal-test-done
bindkey '^I' complete-word
bindkey '^X' plaidbal-test-done
`;

// Types the line, Tab, then ^X (which prints \\x04 and exits) into an interactive zsh.
const ZSH_DRIVER = `
zmodload zsh/zpty || exit 3
zpty plaidbal zsh -i
zpty -w -n plaidbal "$1"$'\\t\\x18'
out=''
while zpty -r plaidbal chunk; do out+=$chunk; [[ $out == *$'\\x04'* ]] && break; done
print -rn -- "$out"
`;

/** zsh: `line` as typed before Tab. `install`: the script on $fpath, or sourced after compinit. */
export async function zshComplete(shell: ShellHome, line: string, install: 'fpath' | 'source' = 'fpath'): Promise<string[]> {
  await writeFile(join(shell.home, '.zshrc'), ZSHRC);
  const screen = run('zsh', ['-f', '-c', ZSH_DRIVER, 'zsh', line], { ...shell.env, ZDOTDIR: shell.home, PLAIDBAL_TEST_ZSH_INSTALL: install }, `zsh completion of "${line}"`);
  if (!screen.includes('\x04')) throw new Error(`zsh completion of "${line}" did not finish:\n${screen}`);
  return [...new Set([...screen.matchAll(/\x02([^\x03]*)\x03/g)].map((m) => m[1]!))];
}

/** fish: `line` as typed before Tab; the script is autoloaded from ~/.config/fish/completions. */
export function fishComplete(shell: ShellHome, line: string): string[] {
  return run('fish', ['-c', `complete --do-complete ${quote(line)}`], shell.env, `fish completion of "${line}"`)
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t')[0]!);
}
