/**
 * Runs the built CLI on a real pseudo-terminal (util-linux `script`), so prompts, hidden
 * input and colour can be tested as a person sees them. Answers are typed only once the
 * expected prompt text has appeared. A step can close the terminal instead, as a dropped SSH
 * session or a closed terminal window does.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from './spawner.js';
import { BIN } from './cli.js';

export interface TerminalStep {
  /** Wait until the screen output (since the previous step) matches this. */
  expect: RegExp;
  /** Then type this ("\r" is Enter, "\x1b[B" is the down arrow). */
  send: string;
  /** Then also send this signal to plaidbal itself (the process `script` started), as `kill` would. */
  signal?: NodeJS.Signals;
  /**
   * Then close the terminal: `script`, which holds its master side, is killed, and the terminal's
   * stdin ends (resetting it fails with EIO). plaidbal runs under a shell (sh) that leads the
   * terminal's session and ignores SIGHUP, so no SIGHUP reaches plaidbal: the closed terminal is
   * all it sees. Its exit code is read from what that shell writes. The last step of a run.
   */
  hangUp?: true;
}

/** The plaidbal process among the descendants of `root` (Linux: read from /proc). */
function plaidbalUnder(root: number): number | undefined {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone already
    }
  }
  for (const pid of parent.keys()) {
    let up = pid;
    while (up > 1 && up !== root) up = parent.get(up) ?? 0;
    if (up !== root) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(BIN)) return pid;
    } catch {
      // gone already
    }
  }
  return undefined;
}

export interface TerminalResult {
  /** plaidbal's exit code (script's, which passes it on; after a hang-up, what the shell around plaidbal wrote). */
  code: number | null;
  /** Everything the terminal showed, ANSI codes included. */
  screen: string;
}

// eslint-disable-next-line no-control-regex
export const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function runInTerminal(args: string[], env: NodeJS.ProcessEnv, steps: TerminalStep[] = [], timeoutMs = 30_000): Promise<TerminalResult> {
  const plaidbal = [process.execPath, BIN, ...args].map(quote).join(' ');
  const hangsUp = steps.some((step) => step.hangUp);
  const codeDir = hangsUp ? mkdtempSync(join(tmpdir(), 'plaidbal-pty-')) : '';
  const codeFile = join(codeDir, 'code');
  const command = hangsUp ? `trap '' HUP; ${plaidbal}; echo $? > ${quote(codeFile)}` : plaidbal;
  let hungUp = false;
  /** plaidbal, found before `script` is killed: it is in a session of its own, which kill(script) does not reach. */
  let orphan: number | undefined;
  let poll: NodeJS.Timeout | undefined;
  return new Promise<TerminalResult>((resolve, reject) => {
    // `script -c` runs the command with $SHELL: the hang-up's command is sh's.
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { TERM: 'xterm-256color', COLUMNS: '160', LINES: '50', ...env, ...(hangsUp ? { SHELL: '/bin/sh' } : {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    let seen = 0;
    const pending = [...steps];
    const advance = () => {
      const step = pending[0];
      if (!step) return;
      const fresh = stripAnsi(screen.slice(seen));
      if (step.expect.test(fresh)) {
        pending.shift();
        seen = screen.length;
        // A short pause lets the prompt finish drawing before keys arrive.
        setTimeout(() => {
          child.stdin.write(step.send);
          if (step.signal) {
            const pid = child.pid === undefined ? undefined : plaidbalUnder(child.pid);
            if (pid === undefined) reject(new Error(`no plaidbal process under script (pid ${child.pid}) to send ${step.signal} to`));
            else process.kill(pid, step.signal);
          }
          if (step.hangUp) {
            if (pending.length > 0) reject(new Error('a hangUp step must be the last step'));
            hungUp = true;
            orphan = child.pid === undefined ? undefined : plaidbalUnder(child.pid);
            child.kill('SIGKILL');
          }
          advance();
        }, 50);
      }
    };
    const onData = (d: Buffer) => {
      screen += d.toString('utf8');
      advance();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      clearInterval(poll);
      child.kill('SIGKILL');
      if (orphan !== undefined) {
        try {
          process.kill(orphan, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      reject(new Error(`terminal run timed out; waiting for ${pending[0]?.expect ?? (hungUp ? 'plaidbal to end after the hang-up' : 'exit')}; screen:\n${stripAnsi(screen)}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      child.stdin.destroy();
      if (!hungUp) {
        clearTimeout(timer);
        resolve({ code, screen });
        return;
      }
      // plaidbal goes on without its terminal (a link removing its item at Plaid) until the shell writes its code.
      poll = setInterval(() => {
        let written = '';
        try {
          written = readFileSync(codeFile, 'utf8');
        } catch {
          return;
        }
        if (!written.endsWith('\n')) return;
        clearInterval(poll);
        clearTimeout(timer);
        resolve({ code: Number(written), screen });
      }, 50);
    });
  }).finally(() => {
    if (codeDir) rmSync(codeDir, { recursive: true, force: true });
  });
}
