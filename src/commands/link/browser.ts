/**
 * `plaidbal link`: Plaid Link in the user's browser, served by a one-session loopback page
 * (src/link/server.ts). Only the link token reaches the browser; the public token comes
 * back to this process, which exchanges it. `--hosted` hands over to Hosted Link instead.
 */
import type { Ctx } from '../../context.js';
import { CliError, ExitCode } from '../../errors.js';
import { LinkCallbackRefusedError, LinkPageGoneError, LinkPageSharedError, startLinkPage } from '../../link/server.js';
import type { LinkOptions } from './index.js';
import { createLinkToken, environmentLabel, finishLink, linkWait, mayOpenBrowser, planLink, retryCommand, waitEnded, waitForUser, waitingLine, type LinkPlan } from './flow.js';

/** What the page server's ways of ending a session mean for the user. */
function pageEndedError(plan: LinkPlan, error: unknown): unknown {
  const nothing = `Nothing was ${plan.update ? 'changed' : 'saved'}.`;
  if (error instanceof LinkPageGoneError) {
    return new CliError(`The Link page was closed before Plaid Link finished. ${nothing}`, {
      exitCode: ExitCode.LINK_CANCELLED,
      hint: `To open Link again, run \`${retryCommand(plan)}\` (Plaid Link does not report a closed tab, so this session is over).`,
    });
  }
  if (error instanceof LinkPageSharedError) {
    return new CliError(
      `The Link page was opened by a second browser or program, without the cookie the first one got, so plaidbal ended the session: nobody can finish Link through it. ${nothing}`,
      {
        exitCode: ExitCode.LINK_CANCELLED,
        hint:
          `Run \`${retryCommand(plan)}\` again and open the page in one browser only, one that keeps cookies for 127.0.0.1. ` +
          "If you opened it only once, another program on this computer had the page's address: while a browser starts, its address is on the browser's command line, which every local user can read.",
      },
    );
  }
  if (error instanceof LinkCallbackRefusedError) {
    return new CliError(`Plaid Link finished, but the page sent a result plaidbal cannot accept (${error.reason}). ${nothing}`, {
      exitCode: ExitCode.PLAID_FAILURE,
      hint: `Run \`${retryCommand(plan)}\` again; if this keeps happening, Plaid Link may have changed: report it with the reason above.`,
    });
  }
  return error;
}

export async function runLink(ctx: Ctx, opts: LinkOptions): Promise<number> {
  if (opts.hosted) return (await import('./hosted.js')).runHostedLink(ctx, opts);

  const plan = await planLink(ctx, opts);
  const e = ctx.io.err;
  const created = await createLinkToken(plan);
  const wait = linkWait(plan, created, Date.now());
  // The page's CSP names Plaid's real API host for the environment (Link's heartbeat), not
  // PLAIDBAL_BASE_URL: Link in the browser always talks to Plaid itself.
  const page = await startLinkPage({
    linkToken: created.link_token,
    environment: plan.environment,
    mode: plan.update ? 'update' : 'new',
  });
  try {
    const what = plan.update ? `reconnect "${plan.update.item.alias}"` : 'link an account';
    const opened = mayOpenBrowser(ctx, opts) && (await ctx.openBrowser(page.url));
    ctx.info(
      opened
        ? `Opened Plaid Link in your browser to ${what} (${environmentLabel(plan.environment)}). If it did not appear, open this in that browser (a second browser ends the session):`
        : `Open this URL in a browser on this computer to ${what} (${environmentLabel(plan.environment)}):`,
    );
    ctx.info(`  ${e.bold(page.url)}`);
    if (!opened && (ctx.env.SSH_CONNECTION || ctx.env.SSH_TTY)) {
      const port = new URL(page.url).port;
      const hosted = plan.update ? `plaidbal link --update ${plan.update.item.alias} --hosted` : 'plaidbal link --hosted';
      ctx.info(e.dim(`  Over SSH: forward the port (ssh -L ${port}:127.0.0.1:${port} <host>), or use \`${hosted}\`.`));
    }
    ctx.info(e.dim(waitingLine(wait)));

    const outcome = await waitForUser(page.outcome, {
      timeoutMs: wait.timeoutMs,
      signal: ctx.signal,
      onTimeout: () => waitEnded(plan, wait, ' The Link page has been shut down.'),
    }).catch((error: unknown) => {
      throw pageEndedError(plan, error);
    });
    // The page has what it needs; nothing else may reach the server.
    await page.close();
    return await finishLink(ctx, plan, outcome);
  } finally {
    await page.close();
  }
}
