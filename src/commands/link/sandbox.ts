import type { Ctx } from '../../context.js';
import { resolveEnvironment } from '../../credentials.js';
import { usageError } from '../../errors.js';
import { institutionName } from '../../plaid/institutions.js';
import type { LinkOptions } from './index.js';
import { checkAliasFree, checkProducts, exchangeAndSave, linkedJson, linkedSummary } from './save.js';

/** `link --sandbox`: /sandbox/public_token/create, then the usual exchange and save. */
export async function runLinkSandbox(ctx: Ctx, opts: LinkOptions): Promise<number> {
  const environment = resolveEnvironment(opts.env, ctx.env);
  if (environment !== 'sandbox') {
    throw usageError('`link --sandbox` only works in Sandbox: Production items must be linked by their owner through Plaid Link.', 'Run `plaidbal link --env production` instead.');
  }
  if (opts.update || opts.hosted) throw usageError('--sandbox cannot be combined with --update or --hosted.');
  if (!/^ins_\d+$/.test(opts.institution)) throw usageError(`"${opts.institution}" is not an institution_id (like ins_109508).`);
  const products = checkProducts(opts.products);
  const store = await ctx.store();
  if (opts.name) checkAliasFree(store, opts.name, environment);
  store.assertWritable();

  const plaid = await ctx.plaid(environment, { timeoutMs: opts.timeout ? opts.timeout * 1000 : undefined });
  const overrides = opts.sandboxUsername || opts.sandboxPassword
    ? { override_username: opts.sandboxUsername ?? 'user_good', override_password: opts.sandboxPassword ?? 'pass_good' }
    : undefined;
  // The name first: looked up after the exchange, it would keep the only copy of the new token in
  // this process for as long as the lookup and its retries take, and a stop during it costs nothing.
  const name = await institutionName(ctx, plaid, opts.institution, 'saving without it', { refusalStops: true });
  ctx.info(ctx.io.err.dim(`Creating a Sandbox item at ${opts.institution}…`));
  const created = await plaid.call('sandboxPublicTokenCreate', {
    institution_id: opts.institution,
    initial_products: products as never,
    ...(overrides ? { options: overrides } : {}),
  });
  const linked = await exchangeAndSave(ctx, store, plaid, { publicToken: created.public_token, alias: opts.name, products, institutionId: opts.institution, institutionName: name });
  ctx.io.stdout.write(opts.json ? linkedJson(linked) : linkedSummary(ctx, linked));
  return 0;
}
