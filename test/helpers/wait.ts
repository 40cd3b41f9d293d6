/**
 * Waiting on events rather than on time: a plaidbal run is signalled while the emulator keeps
 * Plaid's answer to one of its calls back (Emulator.holdNext), so that the signal lands while that
 * call is on its way however slow the machine, and the answer goes only once the run has said it
 * took the signal in. Each wait here is bounded (20 s unless given), and fails naming what it
 * waited for, with the run's stderr where the test reads it, well before vitest's own timeout.
 */
import type { Emulator, RecordedRequest } from '../emulator/index.js';

/** A call the emulator keeps back until released. */
export type Held = ReturnType<Emulator['holdNext']>;

/** A plaidbal run in progress: how it ends, and its stderr so far. */
export interface Running {
  closed: Promise<unknown>;
  stderr: () => string;
}

/** Polls `condition` every 10 ms; throws, naming `what` (made when it throws, when a function), after `timeoutMs`. */
export async function until(condition: () => boolean, what: string | (() => string), timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Waits for `held`'s call to reach the emulator; throws when the run ends first, with how it ended
 * (a run in process ends with its whole output) and its stderr, when the test reads it, or after
 * `timeoutMs`.
 */
export async function arrival(held: Held, run: { closed: Promise<unknown>; stderr?: () => string }, timeoutMs = 20_000): Promise<RecordedRequest> {
  const stderr = () => (run.stderr ? ` Its stderr:\n${run.stderr()}` : '');
  const ended = run.closed.then((end) => {
    throw new Error(`plaidbal ended (${JSON.stringify(end)}) before its held call arrived.${stderr()}`);
  });
  return within(Promise.race([held.arrived, ended]), 'the held call to arrive', stderr, timeoutMs);
}

/**
 * Sends `signal` `presses` times while `held` keeps Plaid's answer back, each once the run took the
 * last one in (`ack` once more on its stderr), then lets the answer go, also when a wait fails.
 */
export async function signalWhileHeld(
  held: Held,
  run: Running & { child: { kill(signal: NodeJS.Signals): unknown } },
  ack: string,
  { signal = 'SIGINT', presses = 1 }: { signal?: NodeJS.Signals; presses?: number } = {},
): Promise<void> {
  try {
    await arrival(held, run);
    for (let n = 1; n <= presses; n += 1) {
      run.child.kill(signal);
      await until(() => run.stderr().split(ack).length - 1 >= n, () => `${signal} number ${n} to be taken in ("${ack}" on stderr); its stderr:\n${run.stderr()}`);
    }
  } finally {
    held.release();
  }
}

/** Waits for `promise`; throws, naming `what` and with `detail()`, after `timeoutMs`. */
export async function within<T>(promise: Promise<T>, what: string, detail: () => string = () => '', timeoutMs = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}. ${detail()}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
