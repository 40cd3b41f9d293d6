/**
 * `plaidbal link`: Plaid Link in the user's browser, served by a one-session loopback page
 * (src/link/server.ts). Only the link token reaches the browser; the public token comes
 * back to this process, which exchanges it. `--hosted` hands over to Hosted Link instead.
 */
import type { Ctx } from '../../context.js';
import { startLinkPage } from '../../link/server.js';
import type { LinkOptions } from './index.js';
import { createLinkToken, describeDuration, environmentLabel, finishLink, mayOpenBrowser, planLink, timedOutError, waitForUser } from './flow.js';

export async function runLink(ctx: Ctx, opts: LinkOptions): Promise<number> {
  if (opts.hosted) return (await import('./hosted.js')).runHostedLink(ctx, opts);

  const plan = await planLink(ctx, opts);
  const e = ctx.io.err;
  const { link_token: linkToken } = await createLinkToken(plan);
  const page = await startLinkPage({
    linkToken,
    environment: plan.environment,
    plaidHost: plan.plaid.host,
    mode: plan.update ? 'update' : 'new',
  });
  try {
    const what = plan.update ? `reconnect "${plan.update.item.alias}"` : 'link an account';
    const opened = mayOpenBrowser(ctx, opts) && (await ctx.openBrowser(page.url));
    ctx.info(
      opened
        ? `Opened Plaid Link in your browser to ${what} (${environmentLabel(plan.environment)}). If it did not appear, open:`
        : `Open this URL in a browser on this computer to ${what} (${environmentLabel(plan.environment)}):`,
    );
    ctx.info(`  ${e.bold(page.url)}`);
    if (!opened && (ctx.env.SSH_CONNECTION || ctx.env.SSH_TTY)) {
      const port = new URL(page.url).port;
      const hosted = plan.update ? `plaidbal link --update ${plan.update.item.alias} --hosted` : 'plaidbal link --hosted';
      ctx.info(e.dim(`  Over SSH: forward the port (ssh -L ${port}:127.0.0.1:${port} <host>), or use \`${hosted}\`.`));
    }
    ctx.info(e.dim(`Waiting for Plaid Link… (Ctrl-C to cancel; gives up after ${describeDuration(plan.timeoutMs)})`));

    const outcome = await waitForUser(page.outcome, {
      timeoutMs: plan.timeoutMs,
      signal: ctx.signal,
      onTimeout: () => timedOutError(plan, ' The Link page has been shut down.'),
    });
    // The page has what it needs; nothing else may reach the server.
    await page.close();
    return await finishLink(ctx, plan, outcome);
  } finally {
    await page.close();
  }
}
