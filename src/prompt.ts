import { finishing } from './critical.js';

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
  // inquirer handles itself). Not inside a critical section (critical.ts): a stop there is put off
  // until what Plaid did is saved, and a prompt can be part of saving it (link asking for the
  // store's passphrase after a rekey), so a stop made before the prompt must not end it.
  const context = () => ({ input: io.stdin, output: io.stderr, clearPromptOnDone: false, ...(signal && finishing() === null ? { signal } : {}) });
  const load = () => import('@inquirer/prompts');
  return {
    async input(message, opts = {}) {
      const { input } = await load();
      return input({ message, default: opts.default, validate: opts.validate }, context());
    },
    async password(message, opts = {}) {
      const { password } = await load();
      return password({ message, mask: '*', validate: opts.validate }, context());
    },
    async select(message, choices, opts = {}) {
      const { select } = await load();
      return select({ message, choices, default: opts.default }, context());
    },
    async confirm(message, opts = {}) {
      const { confirm } = await load();
      return confirm({ message, default: opts.default }, context());
    },
  };
}
