import type { Ctx } from '../context.js';
import { escapeControls } from '../text.js';
import type { PlaidClient } from './client.js';
import { isItemFailure } from './errors.js';

/**
 * An institution's name, from the free /institutions/get_by_id. A name is a nicety, so when Plaid
 * does not give it the command goes on without it: null, and a warning ending in `without` (what
 * is done instead). Not such failures, thrown so the command stops there: a stop (Ctrl-C, SIGTERM,
 * SIGHUP) during the call; the credentials refused (isItemFailure); and, with `refusalStops`, any
 * definite refusal of the request (a 4xx other than a 429), for a caller whose next call would be
 * refused the same way (link --sandbox, whose /sandbox/public_token/create names the institution too).
 */
export async function institutionName(ctx: Ctx, plaid: PlaidClient, institutionId: string, without: string, opts: { refusalStops?: boolean } = {}): Promise<string | null> {
  try {
    return (await plaid.call('institutionsGetById', { institution_id: institutionId, country_codes: plaid.profile.countryCodes as never })).institution.name;
  } catch (error) {
    ctx.signal.throwIfAborted();
    if (!isItemFailure(error)) throw error;
    const status = error.plaid?.status;
    if (opts.refusalStops && status !== undefined && status < 500 && status !== 429) throw error;
    ctx.info(ctx.io.err.yellow(`! Could not look up the institution's name (${escapeControls(error.message)}); ${without}.`));
    return null;
  }
}
