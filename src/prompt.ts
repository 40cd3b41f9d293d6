import { finishing, onStopWhileFinishing } from './critical.js';

/**
 * Prompts, kept apart from logic. @inquirer/prompts is loaded only when a prompt is
 * actually shown, and prompts write to stderr so stdout carries results only.
 */
export interface Prompter {
  input(message: string, opts?: { default?: string; validate?: (value: string) => true | string }): Promise<string>;
  password(message: string, opts?: { validate?: (value: string) => true | string }): Promise<string>;
  select<T extends string>(message: string, choices: { value: T; name: string; description?: string }[], opts?: { default?: T }): Promise<T>;
  confirm(message: string, opts?: { default?: boolean }): Promise<boolean>;
}

export function inquirerPrompter(io: { readonly stdin: NodeJS.ReadableStream; readonly stderr: NodeJS.WritableStream }, signal?: AbortSignal): Prompter {
  // Read at the first prompt: creating process.stdin costs start-up time that most runs never use.
  // The run's signal ends a prompt waiting for an answer: SIGTERM or SIGHUP (src/cli.ts main) stop
  // the run there as they stop it anywhere else (Ctrl-C at a prompt is a key press, which
  // inquirer handles itself). Inside a critical section (critical.ts) a stop is put off until what
  // Plaid did is saved, and a prompt can be part of saving it (link asking for the store's
  // passphrase after a rekey): a stop made before the prompt does not end it, one made while it
  // waits does (nobody may be there to answer it).
  // A terminal that closes (an SSH session that drops, a terminal window closed) fails the reads of
  // stdin with EIO, before the SIGHUP that follows it, or with none at all under nohup: nobody can
  // answer any more, so the prompt ends as a stop ends it. Left alone, the stream's error would
  // crash the process, inside link's critical section leaving the billed item at Plaid.
  const ask = async <T>(prompt: (context: object) => Promise<T>): Promise<T> => {
    const base = { input: io.stdin, output: io.stderr, clearPromptOnDone: false };
    const stop = new AbortController();
    const unsubscribe = [endOnFailure(io.stdin, (error) => stop.abort(error))];
    if (finishing() === null) {
      if (signal) unsubscribe.push(abortWith(signal, stop));
    } else {
      unsubscribe.push(onStopWhileFinishing(() => stop.abort()));
    }
    try {
      return await prompt({ ...base, signal: stop.signal });
    } finally {
      for (const off of unsubscribe) off();
    }
  };
  const load = () => import('@inquirer/prompts');
  return {
    async input(message, opts = {}) {
      const { input } = await load();
      return ask((context) => input({ message, default: opts.default, validate: opts.validate }, context));
    },
    async password(message, opts = {}) {
      const { password } = await load();
      return ask((context) => password({ message, mask: '*', validate: opts.validate }, context));
    },
    async select(message, choices, opts = {}) {
      const { select } = await load();
      return ask((context) => select({ message, choices, default: opts.default }, context));
    },
    async confirm(message, opts = {}) {
      const { confirm } = await load();
      return ask((context) => confirm({ message, default: opts.default }, context));
    },
  };
}

/** A prompt ended by Ctrl-C typed at it, or by a stop (the run's signal, or a stop during a critical section). */
export function isPromptCancel(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError');
}

/** Aborts `controller` when `signal` is (or already was) aborted; returns the function that stops listening. */
function abortWith(signal: AbortSignal, controller: AbortController): () => void {
  if (signal.aborted) {
    controller.abort(signal.reason);
    return () => {};
  }
  const abort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', abort, { once: true });
  return () => signal.removeEventListener('abort', abort);
}

/**
 * Calls `failed` instead of `input`'s 'error' listeners while a prompt reads it, until the returned
 * function is called. The prompt's readline interface passes the stream's errors on as its own
 * 'error' event, which nothing (inquirer included) listens to: an EventEmitter throws such an
 * event, so the error would crash the process whatever listened to the stream itself. Once a prompt
 * has read the stream, a listener of its own stays, for a read already on its way when the prompt
 * ended: nothing reads the stream any more, so its failure is nobody's to handle.
 */
const quietened = new WeakSet<NodeJS.ReadableStream>();
function endOnFailure(input: NodeJS.ReadableStream, failed: (error: Error) => void): () => void {
  if (!quietened.has(input)) {
    quietened.add(input);
    input.on('error', () => {});
  }
  const emit = Object.hasOwn(input, 'emit') ? input.emit : undefined;
  const inherited = input.emit;
  input.emit = function (this: NodeJS.ReadableStream, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'error') return inherited.call(this, event, ...args);
    failed(args[0] instanceof Error ? args[0] : new Error(String(args[0])));
    return true;
  };
  return () => {
    if (emit === undefined) delete (input as Partial<NodeJS.ReadableStream>).emit;
    else input.emit = emit;
  };
}
