/**
 * The prompts and the run's signal (src/prompt.ts): SIGTERM or SIGHUP end a prompt waiting for an
 * answer. Inside a critical section (src/critical.ts) a stop waits until what Plaid did is saved,
 * and a prompt can be part of saving it (link asking for the store's passphrase after a rekey,
 * src/commands/link/save.ts): a stop made before such a prompt does not end it, one made while it
 * waits does (src/cli.ts calls stoppedWhileFinishing at each stop during a section).
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { enterCritical, stoppedWhileFinishing } from '../../src/critical.js';
import { inquirerPrompter } from '../../src/prompt.js';

/**
 * A password prompt on streams, with the run already stopped; 100 ms in, `then` happens: the
 * answer is typed, or another stop comes.
 */
async function askAfterStop(then: 'typed' | 'stopped again'): Promise<string> {
  const input = new PassThrough();
  const output = new PassThrough().resume();
  const asked = inquirerPrompter({ stdin: input, stderr: output }, AbortSignal.abort())
    .password('Passphrase:')
    .then(
      (answer) => `answered ${answer}`,
      (error: Error) => `ended by ${error.name}`,
    );
  setTimeout(() => (then === 'typed' ? input.write('the answer\n') : stoppedWhileFinishing()), 100);
  // A prompt nothing ends fails the test here rather than at vitest's timeout.
  return Promise.race([asked, new Promise<string>((resolve) => setTimeout(() => resolve('still waiting 5 s later'), 5000).unref())]);
}

async function inCriticalSection<T>(run: () => Promise<T>): Promise<T> {
  const leave = enterCritical('saving the new item');
  try {
    return await run();
  } finally {
    leave();
  }
}

describe('a prompt after the run was stopped', () => {
  it('ends at once outside a critical section', async () => {
    expect(await askAfterStop('typed')).toBe('ended by AbortPromptError');
  });

  it('still asks inside one: the stop waits until the section is finished', async () => {
    expect(await inCriticalSection(() => askAfterStop('typed'))).toBe('answered the answer');
  });

  it('inside one, ends when another stop comes while it waits', async () => {
    expect(await inCriticalSection(() => askAfterStop('stopped again'))).toBe('ended by AbortPromptError');
  });
});
