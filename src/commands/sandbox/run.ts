import type { Ctx } from '../../context.js';
import { usageError } from '../../errors.js';
import { aad } from '../../store/seal.js';

export async function runResetLogin(ctx: Ctx, ref: string): Promise<number> {
  const store = await ctx.store();
  // An alias used in both environments names its Sandbox item here: there is no --env to pick with.
  // Otherwise the whole store answers, so a Production item is named as such below.
  const inSandbox = store.items('sandbox').some((i) => i.alias === ref || i.item_id === ref);
  const item = store.resolveItem(ref, inSandbox ? 'sandbox' : undefined);
  if (item.environment !== 'sandbox') throw usageError(`"${item.alias}" is a ${item.environment} item; reset-login exists only in Sandbox.`);
  const accessToken = await store.open(item.access_token, aad.accessToken(item.environment, item.item_id), `access token of "${item.alias}"`);
  const plaid = await ctx.plaid('sandbox');
  await plaid.call('sandboxItemResetLogin', { access_token: accessToken }, { secrets: [accessToken], item: item.alias });
  ctx.info(`${ctx.io.err.green('✓')} "${item.alias}" now needs its login (ITEM_LOGIN_REQUIRED). Fix it with: plaidbal link --update ${item.alias}`);
  return 0;
}
