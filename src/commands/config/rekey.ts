import { passphraseProvider, type Ctx } from '../../context.js';
import { configError } from '../../errors.js';
import { describeKeySource } from '../../store/keys.js';
import { backupPath } from '../../store/paths.js';
import { cappedList } from '../../text.js';
import { recoveriesUnderCurrentKey } from '../items/recovery.js';
import type { ConfigRekeyOptions } from './index.js';

export async function runConfigRekey(ctx: Ctx, opts: ConfigRekeyOptions): Promise<number> {
  const store = await ctx.store();
  // A recovery file holds a rotated token sealed with the current key, which --recover needs and
  // the rekey retires (a keychain key is deleted): refused before any key is asked for or made,
  // and again under the lock, in case a rotation failing meanwhile has just written one.
  const noPendingRotation = () => {
    const pending = recoveriesUnderCurrentKey(store);
    if (pending.length === 0) return;
    const files = pending.length === 1 ? `its new token is kept in ${pending[0]}` : `their new tokens are kept in ${cappedList(pending)}`;
    throw configError(
      `${pending.length === 1 ? 'A token rotation is' : `${pending.length} token rotations are`} not finished: ${files}, sealed with the store's current key, which a rekey would retire. Nothing was re-keyed.`,
      'Finish first with: plaidbal items rotate --recover (it saves the token in the store and deletes the file), then run plaidbal config rekey again.',
    );
  };
  noPendingRotation();
  const current = store.doc.key;
  const target = opts.to ?? current?.source ?? 'keychain';
  const { from, to, removedOldEntry, unconfirmed, backupStale } = await store.rekey(target, passphraseProvider(ctx.io, ctx.env, ctx.prompt, 'PLAIDBAL_NEW_PASSPHRASE'), ctx.signal, noPendingRotation);
  const e = ctx.io.err;
  const count = store.doc.items.length;
  ctx.info(`${e.green('✓')} Re-sealed ${count} access token${count === 1 ? '' : 's'} and the stored Plaid secrets.`);
  ctx.info(`  Was: ${describeKeySource(from)}`);
  ctx.info(`  Now: ${describeKeySource(to)}`);
  if (unconfirmed) {
    // As items rotate does for the same failure: the new store is in place and works, so this counts as done.
    const kept =
      from.source === 'keychain'
        ? `the old keychain entry (service plaidbal, account ${from.account}) was kept. Once the disk is healthy and the store has been written again, delete that entry with your keychain's own tool (it opens nothing else).`
        : 'keep the old passphrase until the disk is healthy and the store has been written again.';
    ctx.info(e.yellow(`! ${unconfirmed.message} The store now opens with the new key only; if a crash brings the previous version back, that one opens with the old key, so ${kept}${unconfirmed.hint ? ` ${unconfirmed.hint}` : ''}`));
  }
  if (backupStale && !unconfirmed) {
    // The backup (the notice above says why it was not written) is what a damaged store is restored from.
    const kept =
      from.source === 'keychain'
        ? `the old keychain entry (service plaidbal, account ${from.account}) was kept. Once the backup has been written again (the next change to the store writes it), delete that entry with your keychain's own tool.`
        : 'keep the old passphrase until the backup has been written again (the next change to the store writes it).';
    ctx.info(e.yellow(`! The backup ${backupPath(store.path)} still holds the store as it was before this rekey, which opens with the old key only, so ${kept}`));
  }
  if (removedOldEntry === false) ctx.info(e.yellow(`! The old keychain entry (plaidbal / ${from.source === 'keychain' ? from.account : ''}) could not be deleted. It still opens copies of the store from before this rekey (an old backup): remove it by hand with your keychain's own tool.`));
  return 0;
}
