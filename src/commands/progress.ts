import type { Ctx } from '../context.js';

export interface ProgressOptions {
  /** The pacer's current rate in calls per minute, shown with the count. */
  rate?: () => number;
}

/**
 * On a terminal, "<label> 3/40 · 1 failed · 600/min · ETA 12 s" redrawn on stderr as work
 * finishes (and once a second meanwhile); elsewhere nothing. The ETA is the items left at the
 * pace items have finished so far.
 */
export function progress(ctx: Ctx, label: string, total: number, opts: ProgressOptions = {}) {
  const show = ctx.io.stderrIsTTY && total > 1;
  const started = Date.now();
  let done = 0;
  let failed = 0;
  const draw = () => {
    if (!show) return;
    const parts = [`${label} ${done}/${total}`];
    if (failed) parts.push(`${failed} failed`);
    if (opts.rate) parts.push(`${Math.round(opts.rate())}/min`);
    const elapsed = Date.now() - started;
    if (done > 0 && done < total) parts.push(`ETA ${eta(((total - done) * elapsed) / done)}`);
    ctx.io.stderr.write(`\r\x1b[K${ctx.io.err.dim(`${parts.join(' · ')}…`)}`);
  };
  const timer = show ? setInterval(draw, 1000) : undefined;
  timer?.unref();
  draw();
  return {
    tick(itemFailed = false) {
      done += 1;
      if (itemFailed) failed += 1;
      draw();
    },
    /** Runs `write` (output on a terminal that also shows the progress line) with the line erased, then redraws it. */
    above(write: () => void) {
      if (show) ctx.io.stderr.write('\r\x1b[K');
      write();
      draw();
    },
    clear() {
      if (timer) clearInterval(timer);
      if (show) ctx.io.stderr.write('\r\x1b[K');
    },
  };
}

function eta(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
