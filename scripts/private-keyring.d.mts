// Types for scripts/private-keyring.mjs, which scripts/bench.ts imports.
export function onPath(program: string): boolean;
export function privateSessionEnv(dir: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
export interface GnomeKeyring {
  pid: number | undefined;
  output(): string;
  waitForName(timeoutMs?: number): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** Calls `report` if the daemon exits before stop(). */
  onEarlyExit(report: (code: number | null, signal: NodeJS.Signals | null, output: string) => void): void;
  stop(): Promise<void>;
}
export function startGnomeKeyring(password: string): GnomeKeyring;
export function capture(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }>;
