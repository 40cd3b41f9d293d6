import type { Ctx } from '../context.js';

/** On a terminal, "<label> 3/40…" redrawn on stderr as work finishes; elsewhere nothing. */
export function progress(ctx: Ctx, label: string, total: number) {
  const show = ctx.io.stderrIsTTY && total > 1;
  let done = 0;
  const draw = () => show && ctx.io.stderr.write(`\r${ctx.io.err.dim(`${label} ${done}/${total}…`)}`);
  draw();
  return {
    tick() {
      done += 1;
      draw();
    },
    clear() {
      if (show) ctx.io.stderr.write('\r\x1b[K');
    },
  };
}
