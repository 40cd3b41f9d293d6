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
  const ask = async <T>(prompt: (context: object) => Promise<T>): Promise<T> => {
    const base = { input: io.stdin, output: io.stderr, clearPromptOnDone: false };
    if (finishing() === null) return prompt(signal ? { ...base, signal } : base);
    const stop = new AbortController();
    const unsubscribe = onStopWhileFinishing(() => stop.abort());
    try {
      return await prompt({ ...base, signal: stop.signal });
    } finally {
      unsubscribe();
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
