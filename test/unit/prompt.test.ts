/**
 * The prompts and the run's signal (src/prompt.ts): SIGTERM or SIGHUP end a prompt waiting for an
 * answer. Inside a critical section (src/critical.ts) a stop waits until what Plaid did is saved,
 * and a prompt can be part of saving it (link asking for the store's passphrase after a rekey,
 * src/commands/link/save.ts): a stop made before such a prompt does not end it, one made while it
 * waits does (src/cli.ts calls stoppedWhileFinishing at each stop during a section).
 * A terminal that closes ends stdin, and resetting it fails (EIO), whether or not a SIGHUP comes:
 * the prompt ends as a stop ends it, inside a section too, and the process does not crash on the
 * error (test/e2e/terminal.test.ts and link-key-changed.test.ts close a real terminal).
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

/**
 * A password prompt on `input`, with `then` done to the stream 100 ms in: how the prompt ended,
 * with the code of what ended it, or that it still waited 5 s later.
 */
async function promptWhile(input: PassThrough, then: () => void): Promise<string> {
  const output = new PassThrough().resume();
  const asked = inquirerPrompter({ stdin: input, stderr: output }, new AbortController().signal)
    .password('Passphrase:')
    .then(
      (answer) => `answered ${answer}`,
      (error: Error) => `ended by ${error.name}, because ${(error.cause as NodeJS.ErrnoException | undefined)?.code}`,
    );
  setTimeout(then, 100);
  return Promise.race([asked, new Promise<string>((resolve) => setTimeout(() => resolve('still waiting 5 s later'), 5000).unref())]);
}

/** A password prompt whose input fails with EIO, as a closed terminal's does; then a second failure, after the prompt. */
async function askAndCloseTerminal(): Promise<string> {
  const input = new PassThrough();
  const eio = () => Object.assign(new Error('read EIO'), { code: 'EIO', errno: -5, syscall: 'read' });
  const outcome = await promptWhile(input, () => input.emit('error', eio()));
  // An EventEmitter throws an 'error' nobody listens for: this one is listened for still.
  input.emit('error', eio());
  return outcome;
}

describe('a prompt whose terminal closes (stdin fails with EIO)', () => {
  it('ends as a stop ends it, and a later failure of the stream is no crash', async () => {
    expect(await askAndCloseTerminal()).toBe('ended by AbortPromptError, because EIO');
  });

  it('inside a critical section too: nobody is there to answer', async () => {
    expect(await inCriticalSection(askAndCloseTerminal)).toBe('ended by AbortPromptError, because EIO');
  });
});

describe('a prompt whose stdin ends (the terminal closed)', () => {
  it('ends as a stop ends it, rather than waiting for an answer that cannot come', async () => {
    const input = new PassThrough();
    expect(await promptWhile(input, () => input.end())).toBe('ended by AbortPromptError, because EOF');
  });

  it('two prompts on one stream, the first ended: a failure during the second still ends it', async () => {
    const input = new PassThrough();
    const output = new PassThrough().resume();
    const outcome = (asked: Promise<string>) =>
      asked.then(
        (answer) => `answered ${answer}`,
        (error: Error) => `ended by ${error.name}`,
      );
    const stopFirst = new AbortController();
    const first = outcome(inquirerPrompter({ stdin: input, stderr: output }, stopFirst.signal).password('First:'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = outcome(inquirerPrompter({ stdin: input, stderr: output }, new AbortController().signal).password('Second:'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    stopFirst.abort();
    expect(await first).toBe('ended by AbortPromptError');
    input.emit('error', Object.assign(new Error('read EIO'), { code: 'EIO' }));
    expect(await Promise.race([second, new Promise<string>((resolve) => setTimeout(() => resolve('still waiting 5 s later'), 5000).unref())])).toBe('ended by AbortPromptError');
  });
});
