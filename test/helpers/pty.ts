/**
 * Runs the built CLI on a real pseudo-terminal (util-linux `script`), so prompts, hidden
 * input and colour can be tested as a person sees them. Answers are typed only once the
 * expected prompt text has appeared.
 */
import { spawn } from './spawner.js';
import { BIN } from './cli.js';

export interface TerminalStep {
  /** Wait until the screen output (since the previous step) matches this. */
  expect: RegExp;
  /** Then type this ("\r" is Enter, "\x1b[B" is the down arrow). */
  send: string;
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
