import type { Ctx } from '../context.js';
import { escapeControls } from '../text.js';
import type { PlaidClient } from './client.js';

/**
 * An institution's name, from the free /institutions/get_by_id. A name is a nicety, so when Plaid
 * does not give it the command goes on without it: null, and a warning ending in `without` (what
 * is done instead). A stop (Ctrl-C, SIGTERM, SIGHUP) during the call is not such a failure: it is
 * thrown, so the command stops there.
 */
export async function institutionName(ctx: Ctx, plaid: PlaidClient, institutionId: string, without: string): Promise<string | null> {
  try {
    return (await plaid.call('institutionsGetById', { institution_id: institutionId, country_codes: plaid.profile.countryCodes as never })).institution.name;
  } catch (error) {
    ctx.signal.throwIfAborted();
    ctx.info(ctx.io.err.yellow(`! Could not look up the institution's name (${error instanceof Error ? escapeControls(error.message) : 'error'}); ${without}.`));
    return null;
  }
}
