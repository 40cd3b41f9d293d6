/**
 * The prompts and the run's signal (src/prompt.ts): SIGTERM or SIGHUP end a prompt waiting for an
 * answer, except inside a critical section (src/critical.ts), where a stop waits until what Plaid
 * did is saved and a prompt can be part of saving it (link asking for the store's passphrase
 * after a rekey, src/commands/link/save.ts).
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { enterCritical } from '../../src/critical.js';
import { inquirerPrompter } from '../../src/prompt.js';

/** A password prompt on streams, with the run already stopped, answered 100 ms in. */
async function askAfterStop(): Promise<string> {
  const input = new PassThrough();
  const output = new PassThrough().resume();
  const stopped = AbortSignal.abort();
  const asked = inquirerPrompter({ stdin: input, stderr: output }, stopped)
    .password('Passphrase:')
    .then(
      (answer) => `answered ${answer}`,
      (error: Error) => `ended by ${error.name}`,
    );
  setTimeout(() => input.write('the answer\n'), 100);
  return asked;
}

describe('a prompt after the run was stopped', () => {
  it('ends at once outside a critical section', async () => {
    expect(await askAfterStop()).toBe('ended by AbortPromptError');
  });

  it('still asks inside one: the stop waits until the section is finished', async () => {
    const leave = enterCritical('saving the new item');
    try {
      expect(await askAfterStop()).toBe('answered the answer');
    } finally {
      leave();
    }
  });
});
