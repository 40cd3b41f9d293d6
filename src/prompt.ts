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
  // A terminal that closes (an SSH session that drops, a terminal window closed) ends stdin, and
  // resetting it then fails with EIO, whether or not a SIGHUP reaches plaidbal too (a shell that
  // ignores it passes none on): nobody can answer any more, so the prompt ends as a stop ends it.
  // Left alone, the error crashed the process, and inside link's critical section that left the
  // billed item at Plaid; a prompt that missed the end would wait for ever (endOnFailure).
  const ask = async <T>(prompt: (context: object) => Promise<T>): Promise<T> => {
    const base = { input: io.stdin, output: io.stderr, clearPromptOnDone: false };
    const stop = new AbortController();
    const unsubscribe = [endOnFailure(io.stdin, (error) => stop.abort(error))];
    const signals = [stop.signal];
    if (finishing() === null) {
      if (signal) signals.push(signal);
    } else {
      unsubscribe.push(onStopWhileFinishing(() => stop.abort()));
    }
    try {
      return await prompt({ ...base, signal: AbortSignal.any(signals) });
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

/**
 * Ends a prompt reading `input` when the terminal behind it goes: `failed` is called when the stream
 * ends or closes (a closed terminal's reads end, or fail), or fails, until the returned function
 * is called. Failures go to `failed` instead of the stream's 'error' listeners while a prompt
 * reads it: the prompt's readline interface passes them on as its own 'error' event, which nothing
 * (inquirer included) listens to, and an EventEmitter throws such an event: the error (EIO, from
 * readline resetting the dead terminal's raw mode) would crash the process whatever listened to
 * the stream itself. The stream keeps a listener of its own once a prompt has read it, for an
 * error after the prompt ended: nothing reads the stream any more, so it is nobody's to handle.
 */
const promptsReading = new WeakMap<NodeJS.ReadableStream, Set<(error: Error) => void>>();
function endOnFailure(input: NodeJS.ReadableStream, failed: (error: Error) => void): () => void {
  let reading = promptsReading.get(input);
  if (reading === undefined) {
    const set = (reading = new Set());
    promptsReading.set(input, set);
    input.on('error', () => {});
    const inherited = input.emit;
    input.emit = function (this: NodeJS.ReadableStream, event: string | symbol, ...args: unknown[]): boolean {
      if (event !== 'error' || set.size === 0) return inherited.call(this, event, ...args);
      const error = args[0] instanceof Error ? args[0] : new Error(String(args[0]));
      for (const each of [...set]) each(error);
      return true;
    };
  }
  const gone = () => failed(Object.assign(new Error('The terminal closed (stdin ended).'), { code: 'EOF' }));
  const state = input as NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean };
  if (state.readableEnded || state.destroyed) gone();
  input.once('end', gone);
  input.once('close', gone);
  const set = reading;
  set.add(failed);
  return () => {
    set.delete(failed);
    input.off('end', gone);
    input.off('close', gone);
  };
}
