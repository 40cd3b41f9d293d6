import type { Ctx } from '../../context.js';
import { resolveEnvironment } from '../../credentials.js';
import { enterCritical } from '../../critical.js';
import { CliError, ExitCode, usageError } from '../../errors.js';
import { whyNoPrompt } from '../../io.js';
import { itemsJson, itemsTable } from '../../format/items.js';
import { aad } from '../../store/seal.js';
import type { StoredItem } from '../../store/document.js';
import { goneAtPlaid } from '../../plaid/errors.js';
import { subscriptionProducts } from '../link/products.js';
import { checkAliasFree } from '../link/save.js';
import { escapeControls } from '../../text.js';
import type { ItemsListOptions, ItemsRemoveOptions } from './index.js';
import { pendingRecoveryFor } from './recovery.js';

export async function runItemsList(ctx: Ctx, opts: ItemsListOptions): Promise<number> {
  const store = await ctx.store();
  const environment = opts.env !== undefined ? resolveEnvironment(opts.env, ctx.env) : undefined;
  // Metadata only: listing never unlocks the store.
  const items = store.withLastBalance(store.items(environment).map(({ access_token: _sealed, ...meta }) => meta));
  ctx.io.stdout.write(opts.json ? itemsJson(items) : itemsTable(items, ctx.io.out, ctx.now()));
  return 0;
}

export async function runItemsRename(ctx: Ctx, ref: string, alias: string, opts: Pick<ItemsListOptions, 'env'> = {}): Promise<number> {
  const store = await ctx.store();
  const item = store.resolveItem(ref, opts.env !== undefined ? resolveEnvironment(opts.env, ctx.env) : undefined);
  if (item.alias === alias) {
    ctx.info(`"${item.item_id}" is already called "${alias}".`);
    return 0;
  }
  checkAliasFree(store, alias, item.environment, item.item_id);
  await store.update((doc) => {
    const target = doc.items.find((i) => i.item_id === item.item_id);
    if (!target) throw usageError(`Item ${item.item_id} was removed while renaming.`);
    if (doc.items.some((i) => i.environment === item.environment && i.alias === alias && i.item_id !== item.item_id)) {
      throw usageError(`The alias "${alias}" was taken while renaming.`);
    }
    target.alias = alias;
  });
  ctx.info(`${ctx.io.err.green('✓')} Renamed "${item.alias}" to "${alias}".`);
  return 0;
}

/**
 * What `--local` leaves behind at Plaid. Plaid bills a subscription product every month until the
 * item is removed there (plaid.com/docs/account/billing), and only /item/remove (which needs the
 * access token) or Plaid Support can remove it (support.plaid.com: "How do I stop billing for Plaid
 * products I'm no longer using?").
 */
export function localRemovalWarning(item: StoredItem): string {
  const subscriptions = subscriptionProducts(item.products);
  const billing =
    subscriptions.length > 0 || item.products.length === 0
      ? `Plaid keeps billing it${subscriptions.length ? ` (${subscriptions.join(', ')}: every month)` : ''} until it is removed there.`
      : `Its products (${item.products.join(', ')}) were billed once, when it was linked, but it stays at Plaid (a trial plan counts it among its 10 items) until it is removed there.`;
  return `"${item.alias}" (item_id ${item.item_id}) stays at Plaid after --local: ${billing} While its access token still opens, \`plaidbal items remove ${item.alias}\` without --local removes it at Plaid first; without the token, only Plaid Support can remove it (quote the item_id).`;
}

export async function runItemsRemove(ctx: Ctx, ref: string, opts: ItemsRemoveOptions): Promise<number> {
  const store = await ctx.store();
  const item = store.resolveItem(ref, opts.env !== undefined ? resolveEnvironment(opts.env, ctx.env) : undefined);
  // A recovery file holds the item's only working token: removing the item (at Plaid, whose
  // answer to the dead stored token would be INVALID_ACCESS_TOKEN, or locally) would leave it at
  // Plaid with that token in a file nothing can use any more.
  const pending = pendingRecoveryFor(store, item.item_id);
  if (pending) {
    throw usageError(`An earlier rotation of "${item.alias}" is not finished: its new token is in ${pending}. Nothing was removed.`, 'Finish it first with: plaidbal items rotate --recover');
  }
  if (opts.local && item.environment === 'production') ctx.info(ctx.io.err.yellow(`! ${escapeControls(localRemovalWarning(item))}`));
  if (!opts.yes) {
    if (!ctx.io.canPrompt) throw usageError(`Removing "${item.alias}" needs confirmation, and plaidbal cannot ask here (${whyNoPrompt(ctx.io)}).`, 'Pass --yes to confirm.');
    const what = opts.local ? 'Delete the local copy of' : 'Remove at Plaid and delete';
    const ok = await ctx.prompt.confirm(`${what} "${item.alias}" (${escapeControls(item.institution_name ?? item.item_id)}, ${item.environment})?`, { default: false });
    if (!ok) {
      ctx.info('Nothing was removed.');
      // Declined, as `balance` and `link` exit when the user says no: a script can tell it from done.
      return ExitCode.LINK_CANCELLED;
    }
  }
  let note = '';
  let leave = () => {};
  /** Plaid's refusal of the token (INVALID_ACCESS_TOKEN, ITEM_NOT_FOUND), when that is how the call ended. */
  let refused: string | null = null;
  if (opts.local) {
    note =
      item.environment === 'production'
        ? ` Only the local copy was deleted: item ${item.item_id} still exists at Plaid (see above).`
        : ' Only the local copy was deleted: the item still exists at Plaid (in Sandbox that costs nothing).';
  } else {
    // Removing at Plaid cannot be undone: make sure the local copy can be deleted afterwards.
    store.assertWritable('Nothing was removed at Plaid');
    const accessToken = await store.open(item.access_token, aad.accessToken(item.environment, item.item_id), `access token of "${item.alias}"`);
    const plaid = await ctx.plaid(item.environment);
    // Stopped while the key was unlocked (scrypt, the keychain) or the client made: nothing has
    // happened at Plaid yet, so the run stops here, as link and rotate do before their calls.
    ctx.signal.throwIfAborted();
    // From the call until the local copy is deleted, a stop waits (critical.ts): stopped in between,
    // the item would be gone at Plaid and still listed here, with a token that no longer works.
    leave = enterCritical(`removing "${item.alias}" at Plaid and deleting its local copy`);
    try {
      await plaid.call('itemRemove', { access_token: accessToken }, { secrets: [accessToken], item: item.alias, uninterruptible: true });
    } catch (error) {
      // Already gone at Plaid: the local copy is all that is left, so delete it.
      refused = goneAtPlaid(error);
      if (!refused) {
        leave();
        throw error;
      }
      note = ` Plaid no longer knew the item (${refused}), so only the local copy was deleted.`;
    }
  }
  const gone = refused !== null;
  let rotatedMeanwhile: CliError | null = null;
  try {
    await store.update(
      (doc) => {
      // "Plaid no longer knew the item" was said of the token read above. Another plaidbal process
      // may have rotated it since (Plaid then refuses the old one): the item lives on, with the new one.
      const current = doc.items.find((i) => i.item_id === item.item_id);
      // Or a rotation failing meanwhile has just kept the new token in a recovery file.
      const kept = (gone || opts.local) && pendingRecoveryFor(store, item.item_id);
      if (kept) throw (rotatedMeanwhile = usageError(`"${item.alias}" was rotated while it was being removed, and its new token is kept in ${kept}. Nothing was removed here.`, 'Finish that rotation first with: plaidbal items rotate --recover'));
      if (gone && current && current.access_token !== item.access_token) {
        throw (rotatedMeanwhile = usageError(
          `The access token of "${item.alias}" changed while it was being removed (another plaidbal process rotated it), and Plaid refused the old one. Nothing was removed.`,
          `Run \`plaidbal items remove ${item.alias}\` again to remove it with its new token.`,
        ));
      }
      doc.items = doc.items.filter((i) => i.item_id !== item.item_id);
      },
      // Once Plaid has acted, a busy store is waited for (another plaidbal rotating this item holds
      // the lock through its Plaid call), never a reason to give up half-way.
      opts.local
        ? {}
        : { untilFree: true, onWait: () => ctx.info(ctx.io.err.yellow(`! The store is busy (another plaidbal process holds its lock): waiting for it to delete the local copy of "${item.alias}".`)) },
    );
  } catch (error) {
    if (opts.local || error === rotatedMeanwhile || !(error instanceof CliError)) throw error;
    if (gone) {
      // Plaid refused the token: the item may be gone, or alive with a newer token in the store
      // (another plaidbal rotated it). Deleting the copy without looking could drop that token.
      throw new CliError(`Plaid no longer knew the token of "${item.alias}" (${refused}), and the local copy could not be checked and deleted. ${error.message}`, {
        exitCode: error.exitCode,
        hint: `${error.hint ? `${error.hint} ` : ''}Then run \`plaidbal items remove ${item.alias}\` again: if another plaidbal process rotated its token meanwhile, that removes it at Plaid with the new one.`,
      });
    }
    // Plaid has already removed the item; what is left is a local copy whose token no longer works.
    throw new CliError(`"${item.alias}" was removed at Plaid, but deleting its local copy failed. ${error.message}`, {
      exitCode: error.exitCode,
      hint: `${error.hint ? `${error.hint} ` : ''}Then delete the local copy with: plaidbal items remove --local ${item.alias} --yes`,
    });
  } finally {
    leave();
  }
  ctx.info(`${ctx.io.err.green('✓')} Removed "${item.alias}".${note}`);
  return 0;
}
