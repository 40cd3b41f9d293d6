/**
 * Runs the built CLI on a real pseudo-terminal (util-linux `script`), so prompts, hidden
 * input and colour can be tested as a person sees them. Answers are typed only once the
 * expected prompt text has appeared.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { spawn } from './spawner.js';
import { BIN } from './cli.js';

export interface TerminalStep {
  /** Wait until the screen output (since the previous step) matches this. */
  expect: RegExp;
  /** Then type this ("\r" is Enter, "\x1b[B" is the down arrow). */
  send: string;
  /** Then also send this signal to plaidbal itself (the process `script` started), as `kill` would. */
  signal?: NodeJS.Signals;
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
  code: number | null;
  /** Everything the terminal showed, ANSI codes included. */
  screen: string;
}

// eslint-disable-next-line no-control-regex
export const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function runInTerminal(args: string[], env: NodeJS.ProcessEnv, steps: TerminalStep[] = [], timeoutMs = 30_000): Promise<TerminalResult> {
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { TERM: 'xterm-256color', COLUMNS: '160', LINES: '50', ...env },
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
      child.kill('SIGKILL');
      reject(new Error(`terminal run timed out; waiting for ${pending[0]?.expect ?? 'exit'}; screen:\n${stripAnsi(screen)}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, screen });
    });
  });
}
