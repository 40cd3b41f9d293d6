import { passphraseProvider, type Ctx } from '../../context.js';
import { describeKeySource } from '../../store/keys.js';

export async function runConfigRekey(ctx: Ctx, opts: { to?: 'keychain' | 'passphrase' }): Promise<number> {
  const store = await ctx.store();
  const current = store.doc.key;
  const target = opts.to ?? current?.source ?? 'keychain';
  const { from, to, removedOldEntry, unconfirmed } = await store.rekey(target, passphraseProvider(ctx.io, ctx.env, ctx.prompt, 'PLAIDBAL_NEW_PASSPHRASE'));
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
  if (removedOldEntry === false) ctx.info(e.yellow(`! The old keychain entry (plaidbal / ${from.source === 'keychain' ? from.account : ''}) could not be deleted; it no longer opens anything, so remove it by hand.`));
  return 0;
}
