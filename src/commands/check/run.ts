import type { Ctx } from '../../context.js';
import { AmountError, parseAmount, type Amount } from '../../amount.js';
import { resolveEnvironment } from '../../credentials.js';
import { CliError, ExitCode, usageError } from '../../errors.js';
import { balanceDrain, fetchItemBalances, parseMinLastUpdated } from '../balance/fetch.js';
import { staleBalance } from '../../format/age.js';
import { checkJson, checkText, fallbackNote, staleNote, type CheckReport } from './format.js';
import { decideFunds } from './funds.js';
import type { CheckOptions } from './index.js';
import { pickItems } from '../pick.js';
import { escapeControls } from '../../text.js';

/** The input as a message shows it: quoted, escaped, and cut short. */
function shown(text: string): string {
  const cut = [...text].slice(0, 32).join('');
  return `${JSON.stringify(cut).slice(0, -1)}${cut.length < text.length ? '…' : ''}"`;
}

function amountOption(text: string): Amount {
  try {
    return parseAmount(text);
  } catch (error) {
    if (!(error instanceof AmountError)) throw error;
    throw usageError(`--amount ${shown(text)} ${error.message}.`, "The amount is in the account's currency: digits with an optional dot, e.g. 125 or 125.50.");
  }
}

/** One real-time balance call for one account, one decision: exit 0 (sufficient) or 7 (insufficient). */
export async function runCheck(ctx: Ctx, opts: CheckOptions): Promise<number> {
  const amount = amountOption(opts.amount);
  const minLastUpdated = parseMinLastUpdated(opts.minLastUpdated);
  if (opts.account.trim() === '') throw usageError('--account is empty.', 'Pass an account_id; `plaidbal balance --item <item> --json` lists them.');
  const environment = opts.env !== undefined ? resolveEnvironment(opts.env, ctx.env) : undefined;
  const store = await ctx.store();
  // One item: check has no --all, and pickItems returns at least one item or throws.
  const item = pickItems(store, { refs: opts.item !== undefined ? [opts.item] : [], env: environment, nameWith: '--item <item>', allowAll: false, onlyItemByDefault: true, oneEnvironment: true })[0]!;

  // Ctrl-C during the call waits for Plaid's answer, which Plaid bills; a second one cancels it.
  const { inFlight, leave } = balanceDrain(ctx, 'realtime', item.environment);
  let result;
  try {
    result = await fetchItemBalances(ctx, store, item, {
      source: 'realtime',
      accountIds: [opts.account],
      minLastUpdated,
      timeoutMs: opts.timeout ? opts.timeout * 1000 : undefined,
      inFlight,
    });
  } finally {
    leave();
  }
  // The item's Plaid error (ITEM_LOGIN_REQUIRED, INVALID_ACCOUNT_ID, …) carries its hint; the top level prints it.
  if (result.error) throw result.error;
  const account = result.json.accounts.find((a) => a.account_id === opts.account);
  if (!account) {
    throw new CliError(`Plaid's answer for "${item.alias}" did not include account ${opts.account}.`, {
      exitCode: ExitCode.PLAID_FAILURE,
      hint: `Try again; \`plaidbal balance --item ${item.alias}\` lists the item's accounts.`,
    });
  }

  const decision = decideFunds(account, amount, { allowCredit: Boolean(opts.allowCredit) });
  const checkedAt = ctx.now().toISOString();
  const report: CheckReport = {
    item_id: item.item_id,
    name: item.alias,
    request_id: result.json.request_id,
    checked_at: checkedAt,
    account,
    amount,
    decision,
    age: staleBalance(account, checkedAt),
  };
  // The notes name the account, whose name comes from the bank.
  for (const note of [fallbackNote(report), staleNote(report)]) if (note) ctx.info(ctx.io.err.yellow(escapeControls(note)));
  ctx.io.stdout.write(opts.json ? checkJson(report) : checkText(report, ctx.io.out));
  // Stopped while Plaid answered: the verdict it billed for is printed, and the run still ends as
  // interrupted, so a script's `check && pay` does not go on after a Ctrl-C or a SIGTERM.
  if (ctx.signal.aborted) throw new CliError('Interrupted, after the balance was answered (the verdict is on stdout).', { exitCode: ExitCode.INTERRUPTED });
  return decision.sufficient ? ExitCode.OK : ExitCode.INSUFFICIENT_FUNDS;
}
