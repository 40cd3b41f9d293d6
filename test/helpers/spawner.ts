/**
 * `spawn` for the suite's child processes (the built CLI above all), started from a small
 * process of its own (spawner-process.cjs) instead of from the vitest worker.
 *
 * Why: `child_process.spawn` forks the calling process and waits, on the calling thread, until the
 * child has exec'd. The fork copies the caller's page tables, so its cost grows with the caller's
 * size, and a vitest worker is a large process. While it waits, the worker can do nothing else:
 * not even answer, from its emulator, the CLIs it started a moment before. From a small process
 * of its own, a spawn is cheap and the worker's event loop never stops. Figures (the workers'
 * time inside spawn, the CPU of leaks.test.ts before and after): docs/benchmarks.md, "Figures
 * behind the code", the suite's processes.
 *
 * What the tests see is what node:child_process gives them: a real process, with real pipes
 * for stdin, stdout and stderr, the environment and arguments given, its exit code and signal,
 * and `kill` delivering a real signal. Only its parent is another process. The subset of
 * ChildProcess the suite uses is here: stdio as 'pipe' or 'ignore' (or 'inherit'), env, cwd;
 * pid, stdin/stdout/stderr, kill, exitCode/signalCode; 'spawn', 'error', 'exit' and 'close'.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const SPAWNER = fileURLToPath(new URL('./spawner-process.cjs', import.meta.url));

type Stdio = 'pipe' | 'ignore' | 'inherit';

type StdioOption = Stdio | readonly [Stdio, Stdio, Stdio];

export interface LightSpawnOptions<S extends StdioOption = StdioOption> {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdio?: S;
}

/** The child's streams as its stdio option makes them: a stream for 'pipe', null otherwise. */
type Each<S extends StdioOption> = S extends Stdio ? readonly [S, S, S] : S;
type Streams<S extends StdioOption> = {
  readonly stdin: Each<S>[0] extends 'pipe' ? Writable : null;
  readonly stdout: Each<S>[1] extends 'pipe' ? PassThrough : null;
  readonly stderr: Each<S>[2] extends 'pipe' ? PassThrough : null;
};

type Message =
  | { t: 'spawn'; id: number; pid: number }
  | { t: 'error'; id: number; message: string; code?: string; errno?: number; syscall?: string }
  | { t: 'data'; id: number; fd: 1 | 2; data: Uint8Array }
  | { t: 'exit' | 'close'; id: number; code: number | null; signal: NodeJS.Signals | null };

/** A child process started through the spawner: the part of ChildProcess the suite uses. */
export class LightChild extends EventEmitter {
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly stdin: Writable | null;
  readonly stdout: PassThrough | null;
  readonly stderr: PassThrough | null;
  #ended = false;

  constructor(
    readonly id: number,
    stdio: [Stdio, Stdio, Stdio],
    private readonly post: (message: object) => void,
  ) {
    super();
    this.stdin =
      stdio[0] === 'pipe'
        ? new Writable({
            write: (chunk: Buffer, _encoding, done) => {
              if (!this.#ended) this.post({ t: 'stdin', id, data: chunk });
              done();
            },
            final: (done) => {
              if (!this.#ended) this.post({ t: 'stdin-end', id });
              done();
            },
          })
        : null;
    this.stdout = stdio[1] === 'pipe' ? new PassThrough() : null;
    this.stderr = stdio[2] === 'pipe' ? new PassThrough() : null;
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.#ended) return false;
    this.post({ t: 'kill', id: this.id, signal });
    return true;
  }

  /** @internal What the spawner says about this child. */
  receive(message: Message): void {
    switch (message.t) {
      case 'spawn':
        this.pid = message.pid;
        this.emit('spawn');
        break;
      case 'error': {
        const error = Object.assign(new Error(message.message), { code: message.code, errno: message.errno, syscall: message.syscall });
        this.emit('error', error);
        break;
      }
      case 'data':
        (message.fd === 1 ? this.stdout : this.stderr)?.write(Buffer.from(message.data));
        break;
      case 'exit':
        this.exitCode = message.code;
        this.signalCode = message.signal;
        this.emit('exit', message.code, message.signal);
        break;
      case 'close':
        this.#ended = true;
        void this.#close(message.code, message.signal);
        break;
    }
  }

  /** 'close' after everything written to stdout and stderr has reached whoever reads them. */
  async #close(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const streams = [this.stdout, this.stderr].filter((s): s is PassThrough => s !== null);
    const reading = streams.filter((s) => s.readableFlowing === true).map((s) => once(s, 'end'));
    for (const stream of streams) stream.end();
    await Promise.all(reading);
    await new Promise((resolve) => setImmediate(resolve));
    this.emit('close', code, signal);
  }
}

let spawner: ChildProcess | undefined;
const live = new Map<number, LightChild>();
let nextId = 1;

/** Neither the spawner nor its channel keeps this process alive while nothing runs through it. */
function holdOpen(spawnerProcess: ChildProcess, hold: boolean): void {
  const channel = spawnerProcess.channel as { ref(): void; unref(): void } | undefined;
  if (hold) {
    spawnerProcess.ref();
    channel?.ref();
  } else {
    spawnerProcess.unref();
    channel?.unref();
  }
}

function theSpawner(): ChildProcess {
  if (spawner && spawner.connected) return spawner;
  // No execArgv: the worker's own flags (vitest's loaders) have no business in the spawner.
  const started = fork(SPAWNER, [], { execArgv: [], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  started.on('message', (message: Message) => {
    const child = live.get(message.id);
    if (!child) return;
    if (message.t === 'close') {
      live.delete(message.id);
      if (live.size === 0) holdOpen(started, false);
    }
    child.receive(message);
  });
  started.on('exit', (code, signal) => {
    if (spawner === started) spawner = undefined;
    // Whatever ran through it can no longer be heard from: say so rather than wait forever.
    for (const [id, child] of live) {
      live.delete(id);
      child.receive({ t: 'error', id, message: `the suite's spawner process exited (${code ?? signal}) while this child was running` });
      child.receive({ t: 'close', id, code: null, signal: null });
    }
  });
  spawner = started;
  return started;
}

/** child_process.spawn, through the spawner process. */
export function spawn<const S extends StdioOption = 'pipe'>(command: string, args: readonly string[], options: LightSpawnOptions<S> = {}): LightChild & Streams<S> {
  const given: StdioOption = options.stdio ?? 'pipe';
  const stdio: [Stdio, Stdio, Stdio] = typeof given === 'string' ? [given, given, given] : [...given];
  const through = theSpawner();
  const id = nextId++;
  const child = new LightChild(id, stdio, (message) => {
    if (through.connected) through.send(message);
  });
  live.set(id, child);
  holdOpen(through, true);
  through.send({ t: 'spawn', id, command, args: [...args], options: { env: options.env ?? process.env, cwd: options.cwd, stdio } });
  return child as LightChild & Streams<S>;
}
