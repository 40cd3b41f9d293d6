/**
 * Critical sections: stretches where stopping would lose something Plaid already did. From the
 * moment Plaid exchanges a public token or rotates an access token until the result is on disk,
 * the new token lives only in this process; exiting then leaves a billed item at Plaid with no
 * token (link) or an item whose only working token is gone (items rotate).
 *
 * While one is open, Ctrl-C does not stop the process: the first press is remembered (the
 * command's signal is aborted, so whatever comes after the section stops), and every press says
 * what is being finished. Outside a section, the second Ctrl-C exits at once (cli.ts). kill -9
 * still ends the process; the README names this as the one window a crash can lose the token.
 */

const open: string[] = [];

/**
 * Opens a critical section; `what` completes "Ctrl-C: still …", e.g. `saving the new access
 * token of "demo"`. Returns the function that closes it (call it exactly once, in a finally).
 */
export function enterCritical(what: string): () => void {
  const entry = what;
  open.push(entry);
  let closed = false;
  return () => {
    if (closed) return;
    closed = true;
    open.splice(open.lastIndexOf(entry), 1);
  };
}

/** What the innermost open critical section is finishing, or null when none is open. */
export function finishing(): string | null {
  return open.at(-1) ?? null;
}

const stopListeners = new Set<() => void>();

/** cli.ts, at each stop (Ctrl-C, SIGTERM, SIGHUP) that comes while a section is open. */
export function stoppedWhileFinishing(): void {
  for (const listener of [...stopListeners]) listener();
}

/**
 * Calls `listener` at each stop that comes while a section is open, until the returned function is
 * called: for a wait inside a section that a person, not plaidbal, ends (a prompt), which a stop
 * made during it should end, though one made before it should not.
 */
export function onStopWhileFinishing(listener: () => void): () => void {
  stopListeners.add(listener);
  return () => void stopListeners.delete(listener);
}

/**
 * Answers on their way: billed calls already sent (a real-time balance), which a stop should not
 * throw away. While a drain is registered, the first Ctrl-C (SIGTERM, SIGHUP) stops what has not
 * been sent and waits for these, saying so (cli.ts); the second cancels them; the third exits.
 */
export interface Drain {
  /** What is being waited for, completing "Ctrl-C: no new calls; waiting for …", or null when nothing is. */
  waitingFor(): string | null;
  /** Cancels what is on its way: its answers are lost. */
  cancel(): void;
}

let drain: Drain | null = null;

/** Registers `d` until the returned function is called (in a finally). */
export function enterDrain(d: Drain): () => void {
  drain = d;
  return () => {
    if (drain === d) drain = null;
  };
}

/** The drain registered now, if any. */
export function draining(): Drain | null {
  return drain;
}
