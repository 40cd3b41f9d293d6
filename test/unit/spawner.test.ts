/**
 * test/helpers/spawner.ts: the suite starts its child processes through it, so what the tests
 * read from a child must be what node:child_process would have given them.
 */
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { spawn } from '../helpers/spawner.js';

/** stdout, stderr, and the code and signal of 'close'. */
async function collect(child: ReturnType<typeof spawn<'pipe'>>) {
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { stdout, stderr, code, signal };
}

describe('the suite spawner', () => {
  it('a real process: its argv, env, cwd, stdin, stdout and stderr (all of it, before close) and exit code', async () => {
    const script = `
      let input = '';
      process.stdin.setEncoding('utf8').on('data', (d) => (input += d)).on('end', () => {
        process.stdout.write(JSON.stringify({ argv: process.argv.slice(1), env: process.env.SPAWNER_TEST, cwd: process.cwd(), input, ppid: process.ppid }));
        process.stderr.write('x'.repeat(300000));
        process.exitCode = 3;
      });`;
    const child = spawn(process.execPath, ['-e', script, 'one', 'two words'], { env: { ...process.env, SPAWNER_TEST: 'set here' }, cwd: '/tmp' });
    child.stdin.write('first ');
    child.stdin.end('second');
    const r = await collect(child);
    expect(r.code).toBe(3);
    expect(r.signal).toBeNull();
    expect(child.exitCode).toBe(3);
    expect(r.stderr.length).toBe(300000);
    const seen = JSON.parse(r.stdout);
    expect(seen).toMatchObject({ argv: ['one', 'two words'], env: 'set here', cwd: '/tmp', input: 'first second' });
    // Its parent is the spawner, not this process.
    expect(seen.ppid).not.toBe(process.pid);
    expect(child.pid).toBeGreaterThan(0);
  });

  it('kill delivers the signal, and close reports it', async () => {
    const child = spawn(process.execPath, ['-e', 'process.stdout.write("ready"); setInterval(() => {}, 1000)']);
    await once(child.stdout, 'data');
    expect(child.kill('SIGTERM')).toBe(true);
    const r = await collect(child);
    expect(r).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(child.signalCode).toBe('SIGTERM');
  });

  it('a command that cannot start is an error event with its code, then close', async () => {
    const child = spawn('/nonexistent/plaidbal-spawner-test', [], { stdio: 'ignore' });
    const [error] = (await once(child, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ENOENT');
    await once(child, 'close');
    expect(child.stdin).toBeNull();
    expect(child.stdout).toBeNull();
  });
});
