/**
 * What every way of linking ends with: exchange the public token, save the item sealed,
 * then describe it. Plaid advises the free, cached /accounts/get right after linking,
 * not a billed real-time balance call.
 */
import type { AccountBase } from 'plaid';
import type { Ctx } from '../../context.js';
import { enterCritical } from '../../critical.js';
import { CliError, ExitCode, usageError } from '../../errors.js';
import type { PlaidClient } from '../../plaid/client.js';
import { goneAtPlaid, plaidErrorJson } from '../../plaid/errors.js';
import { isPromptCancel } from '../../prompt.js';
import type { StoredItem } from '../../store/document.js';
import { aad, type Sealer } from '../../store/seal.js';
import { WrongPassphraseError } from '../../store/keys.js';
import { StoreKeyChangedError, StoreWriteError, type Store } from '../../store/store.js';
import type { Environment } from '../../types.js';
import { escapeControls, escapeControlsDeep } from '../../text.js';
import { ALIAS_MAX } from '../options.js';

/**
 * Auth: the cheapest product that serves a balance check. Plaid bills it once per item, where
 * Transactions (the old default) is a monthly subscription for as long as the item exists
 * (plaid.com/docs/account/billing). Balance itself is not a Link product and is billed per call
 * whatever the item's products. The cost of Auth is coverage: Link then lists only institutions
 * that support Auth and only checking, savings and cash-management accounts
 * (plaid.com/docs/link/initializing-products; LinkTokenAccountFilters in Plaid's API reference).
 * Credit cards, loans and investment accounts need `--products transactions` (or another product).
 */
export const DEFAULT_PRODUCTS = ['auth'];

/** Plaid does not accept `balance` as a Link product; say so before calling Plaid. */
export function checkProducts(products: string[] | undefined): string[] {
  const list = (products ?? DEFAULT_PRODUCTS).map((p) => p.trim().toLowerCase()).filter(Boolean);
  if (list.includes('balance')) {
    throw usageError(
      '"balance" is not a Link product: Plaid rejects it in products and initial_products. Balance is available on every Item linked with any other product.',
      'Use --products auth (the default), or transactions.',
    );
  }
  const bad = list.filter((p) => !/^[a-z_]{2,40}$/.test(p));
  if (bad.length) throw usageError(`Not Plaid product names: ${bad.join(', ')}.`);
  return [...new Set(list)];
}

export function checkAliasFree(store: Store, alias: string, environment: Environment, exceptItemId?: string): void {
  const taken = store.items(environment).find((i) => i.alias === alias && i.item_id !== exceptItemId);
  if (taken) throw usageError(`The alias "${alias}" is already used by item ${taken.item_id} in ${environment}.`, `Pick another alias, or rename the old one first: plaidbal items rename ${taken.item_id} <new-alias>.`);
  if (store.items().some((i) => i.item_id === alias)) throw usageError(`"${alias}" is another item's item_id and cannot be an alias.`);
}

function slug(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return s || 'item';
}

/** The alias an item gets when none is given, before any -2, -3 suffix: its institution's name as a slug. */
export const aliasBase = (institutionName: string | null): string => slug(institutionName ?? 'item');

export function defaultAlias(aliasesInUse: Set<string>, institutionName: string | null): string {
  const base = aliasBase(institutionName);
  if (!aliasesInUse.has(base)) return base;
  for (let n = 2; ; n++) if (!aliasesInUse.has(`${base}-${n}`)) return `${base}-${n}`;
}

/** `wanted`, or `wanted-2`, `wanted-3`… (cut to fit ALIAS_MAX), whichever is free first. */
export function freeAlias(aliasesInUse: Set<string>, wanted: string): string {
  if (!aliasesInUse.has(wanted)) return wanted;
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    const alias = `${[...wanted].slice(0, ALIAS_MAX - suffix.length).join('')}${suffix}`;
    if (!aliasesInUse.has(alias)) return alias;
  }
}

export interface LinkedItem {
  item: StoredItem;
  accounts: AccountBase[];
  /** Set when /accounts/get failed after the item was saved: the item is still usable later. */
  accountsError: CliError | null;
}

export interface SaveRequest {
  publicToken: string;
  alias?: string;
  products: string[];
  institutionId: string | null;
  /**
   * Known before the exchange (Link's metadata, or looked up first): nothing but the exchange and
   * the save runs while the new token exists only in this process.
   */
  institutionName: string | null;
  /** Link's link_session_id, quoted when the exchange's outcome is unknown (Plaid support can find the item by it). */
  linkSessionId?: string | null;
}

/**
 * The exchange failed. Plaid's client makes it once (retryPolicyFor: a public token is single-use,
 * so a retry after a lost answer only gets INVALID_PUBLIC_TOKEN). Two cases:
 * - Plaid answered with a 4xx error: it refused, issued no access token, and billed nothing
 *   (plaid.com/docs/account/billing: an Item counts as created once an access_token was generated);
 * - anything else (timeout, reset connection, 5xx, a proxy's page): Plaid may have issued an access
 *   token that never arrived. The item may then exist, and bill, at Plaid, and /item/remove needs
 *   that token, which plaidbal does not have. Say so, exit 5, and say how to find it.
 */
export function exchangeFailedError(error: unknown, environment: Environment, req: SaveRequest, at: Date): CliError {
  const failure = error instanceof CliError ? error : new CliError(String(error), { exitCode: ExitCode.UNEXPECTED });
  const status = failure.plaid?.status;
  if (failure.plaid && status !== undefined && status < 500) {
    return new CliError(`The public-token exchange failed: ${failure.message.replace(/\.$/, '')}. Plaid refused it, so it issued no access token and there is no item to save or remove.`, {
      exitCode: failure.exitCode,
      hint: failure.hint,
      plaid: failure.plaid,
    });
  }
  const where = req.institutionName && req.institutionId ? `${req.institutionName} (${req.institutionId})` : (req.institutionName ?? req.institutionId);
  const ids = [req.linkSessionId && `link_session_id ${req.linkSessionId}`, failure.plaid?.request_id && `request_id ${failure.plaid.request_id}`].filter(Boolean).join(', ');
  const cost =
    environment === 'production'
      ? `If it exists, Plaid bills it for its products (${req.products.join(', ') || 'none'}) until it is removed.`
      : 'In Sandbox that costs nothing.';
  return new CliError(
    `The public-token exchange failed without a usable answer (${failure.message.replace(/\.$/, '')}). Plaid may have created the item${where ? ` at ${where}` : ''} and issued an access token that never reached plaidbal. Nothing was saved, and plaidbal did not retry: a public token can be exchanged only once.`,
    {
      exitCode: ExitCode.PLAID_FAILURE,
      plaid: failure.plaid,
      hint: `${cost} plaidbal cannot remove it: /item/remove needs the item's access token, which plaidbal never received. Look for the item in the Plaid Dashboard's activity logs (${environment}, around ${at.toISOString()}${ids ? `, ${ids}` : ''}) and ask Plaid Support to remove it, quoting those. Then run \`plaidbal link\` again to link the account as a new item.`,
    },
  );
}

/** Exchanges the public token and saves the item; if saving fails, removes the item at Plaid so nothing billable is orphaned. */
export async function exchangeAndSave(ctx: Ctx, store: Store, plaid: PlaidClient, req: SaveRequest): Promise<LinkedItem> {
  const environment = plaid.environment;
  const expectedPrefix = `public-${environment}-`;
  if (!req.publicToken.startsWith(expectedPrefix)) {
    throw new CliError(`The public token is not a ${environment} token.`, { exitCode: ExitCode.CONFIG, hint: 'Check PLAID_ENV / --env and PLAIDBAL_BASE_URL: they must point at the same environment.' });
  }
  // Unlock (or create) the key before exchanging, so a wrong passphrase costs no Plaid item.
  const sealer = await store.sealerForWriting();
  store.assertWritable();
  // Stopped before the exchange (unlocking can take a while): nothing has happened at Plaid yet.
  if (ctx.signal.aborted) throw ctx.signal.reason;
  // From the exchange until the item is saved (or removed again), Ctrl-C waits: stopping in
  // between leaves a billed item at Plaid whose token nobody has (critical.ts).
  const leave = enterCritical('exchanging the public token and saving the new item (stopping now could leave a billed item at Plaid without its token)');
  try {
    return await exchangeAndSaveCritical(ctx, store, plaid, req, sealer, leave);
  } finally {
    leave();
  }
}

async function exchangeAndSaveCritical(ctx: Ctx, store: Store, plaid: PlaidClient, req: SaveRequest, sealer: Sealer, leave: () => void): Promise<LinkedItem> {
  const environment = plaid.environment;
  let exchange;
  try {
    exchange = await plaid.call('itemPublicTokenExchange', { public_token: req.publicToken }, { secrets: [req.publicToken], uninterruptible: true });
  } catch (error) {
    throw exchangeFailedError(error, environment, req, ctx.now());
  }
  const accessToken = exchange.access_token;
  const itemId = exchange.item_id;

  const { institutionName } = req;

  let saved: StoredItem | undefined;
  let taken = false;
  const save = (key: Sealer) =>
    store.update((doc) => {
      const inEnv = doc.items.filter((i) => i.environment === environment);
      const inUse = new Set(inEnv.map((i) => i.alias));
      // --name was free when Link opened; another plaidbal process may have taken it since. The item
      // exists at Plaid (and is billed): it is saved under the next free alias, not removed again.
      const alias = req.alias ? freeAlias(inUse, req.alias) : defaultAlias(inUse, institutionName);
      taken = req.alias !== undefined && alias !== req.alias;
      saved = {
        item_id: itemId,
        alias,
        environment,
        institution_id: req.institutionId,
        institution_name: institutionName,
        products: req.products,
        linked_at: ctx.now().toISOString(),
        last_balance_at: null,
        access_token: key.seal(accessToken, aad.accessToken(environment, itemId)),
      };
      doc.items = doc.items.filter((i) => i.item_id !== itemId).concat(saved);
    }, {
      // Plaid has created (and billed) the item: a busy store is waited for, never a reason to remove it again.
      untilFree: true,
      onWait: () => ctx.info(ctx.io.err.yellow('! The store is busy (another plaidbal process holds its lock): waiting for it to save the new item, which Plaid has created.')),
    });
  try {
    await saveUnderCurrentKey(ctx, store, sealer, save);
  } catch (error) {
    if (error instanceof StoreWriteError && error.committed) {
      // The new store is in place (only the directory's fsync failed): the item is saved and
      // works, so the link is done. Reported as a failure, it would invite a second, billed link.
      ctx.info(ctx.io.err.yellow(`! ${error.message} The item is saved and works; only if a crash brought back the previous version would it be missing (then link it again).`));
    } else {
      try {
        await plaid.call('itemRemove', { access_token: accessToken }, { secrets: [accessToken], uninterruptible: true });
        ctx.info(ctx.io.err.yellow('! Saving the item failed, so it was removed at Plaid again (nothing is left billing).'));
      } catch (removeError) {
        // The token was just issued, so Plaid not knowing it means an earlier attempt of this
        // removal (retried after a lost answer) went through.
        const gone = goneAtPlaid(removeError);
        if (gone) {
          ctx.info(ctx.io.err.yellow(`! Saving the item failed, so it was removed at Plaid again (nothing is left billing; Plaid answered ${gone} to a repeated removal).`));
        } else {
          // Only /item/remove with the token stops the billing, and nobody else has the token: Plaid
          // Support can remove the item (../shared/PLAID-NOTES.md, billing), not the Dashboard.
          const why = removeError instanceof Error ? escapeControls(removeError.message).replace(/\.$/, '') : 'error';
          ctx.info(
            ctx.io.err.red(
              `! Saving the item failed, and removing it at Plaid failed too (${why}): item ${itemId} (${environment}, created ${ctx.now().toISOString()}) is left at Plaid without its token, and may bill until Plaid Support removes it. Ask them to, quoting that item_id.`,
            ),
          );
        }
      }
      throw error;
    }
  }
  leave(); // saved: listing the accounts can be interrupted
  if (taken) ctx.info(ctx.io.err.yellow(`! The alias "${escapeControls(req.alias!)}" was taken by another plaidbal process while Link was open, so the item is saved as "${escapeControls(saved!.alias)}". Rename it with: plaidbal items rename ${saved!.alias} <alias>`));

  let accounts: AccountBase[] = [];
  let accountsError: CliError | null = null;
  // Stopped while the item was being saved: it is saved; its accounts are not asked for.
  if (ctx.signal.aborted) return { item: saved!, accounts, accountsError: new CliError('plaidbal was stopped (Ctrl-C, SIGTERM or SIGHUP) while it saved the item, so they were not asked for', { exitCode: ExitCode.INTERRUPTED }) };
  try {
    accounts = (await plaid.call('accountsGet', { access_token: accessToken }, { secrets: [accessToken], item: saved!.alias })).accounts;
  } catch (error) {
    accountsError = error as CliError;
  }
  return { item: saved!, accounts, accountsError };
}

/**
 * Saves with `sealer`; when the store's key changed since it was unlocked (another plaidbal
 * process's first write gave a new store its key while Link was open, or `config rekey` ran),
 * unlocks the key the store has now and saves again, rather than throwing away an item Plaid has
 * created and bills. A keychain key is read from the keychain; a passphrase comes from
 * PLAIDBAL_PASSPHRASE or the prompt, so after a rekey to a new passphrase only someone who knows it
 * can save the item. A key that does not open ends the save: the caller removes the item at Plaid.
 */
async function saveUnderCurrentKey(ctx: Ctx, store: Store, sealer: Sealer, save: (sealer: Sealer) => Promise<unknown>): Promise<void> {
  // A rekey at every attempt would be someone re-keying in a loop: three tries, then give up.
  for (let attempt = 1; ; attempt++) {
    try {
      await save(sealer);
      return;
    } catch (error) {
      if (!(error instanceof StoreKeyChangedError) || attempt === 3) throw error;
      ctx.info(ctx.io.err.yellow(`! The store ${error.what} while the item was being linked: saving it under the store's key as it is now.`));
      try {
        sealer = await unlockTypingAgain(ctx, store);
      } catch (unlockError) {
        if (isPromptCancel(unlockError)) {
          throw new CliError(`plaidbal was stopped while it asked for the store's passphrase (the store ${error.what} while the item was being linked), so the item was not saved.`, { exitCode: ExitCode.INTERRUPTED });
        }
        const why = unlockError instanceof Error ? unlockError.message.replace(/ Nothing was changed\.$/, '') : String(unlockError);
        throw new CliError(`The store ${error.what} while the item was being linked, and its key as it is now did not open (${why.replace(/\.$/, '')}), so the item was not saved.`, {
          exitCode: unlockError instanceof CliError ? unlockError.exitCode : ExitCode.CONFIG,
          hint: ["Link it again with the store's key as it is now.", unlockError instanceof CliError ? unlockError.hint : undefined].filter(Boolean).join(' '),
        });
      }
    }
  }
}

/**
 * store.unlock(), where a passphrase typed at the prompt that does not open the store may be typed
 * again, up to three times: one typing error must not cost an item Plaid has created. A passphrase
 * from PLAIDBAL_PASSPHRASE is not asked for again.
 */
async function unlockTypingAgain(ctx: Ctx, store: Store): Promise<Sealer> {
  for (let tries = 1; ; tries++) {
    try {
      return await store.unlock();
    } catch (error) {
      const typed = ctx.io.canPrompt && !ctx.env.PLAIDBAL_PASSPHRASE;
      // A stop made meanwhile (while the passphrase was checked) is not asked past again.
      if (!(error instanceof WrongPassphraseError) || !typed || tries === 3 || ctx.signal.aborted) throw error;
      ctx.info(ctx.io.err.yellow('! That passphrase does not open the store. Type it again:'));
    }
  }
}

export function linkedSummary(ctx: Ctx, linked: LinkedItem, verb = 'Linked'): string {
  const o = ctx.io.out;
  const item = escapeControlsDeep(linked.item);
  const lines = [`${o.green('✓')} ${verb} ${o.bold(item.institution_name ?? item.institution_id ?? 'an institution')} as ${o.bold(`"${item.alias}"`)} ${o.dim(`(${item.environment}, item_id ${item.item_id})`)}`];
  for (const a of escapeControlsDeep(linked.accounts)) {
    lines.push(`  ${a.name}${a.mask ? ` ••${a.mask}` : ''}  ${o.dim(`${a.type}${a.subtype ? ` / ${a.subtype}` : ''}`)}`);
  }
  if (linked.accountsError) lines.push(o.yellow(`  (could not list accounts yet: ${escapeControls(linked.accountsError.message)})`));
  lines.push('', `Next: plaidbal balance --item ${item.alias}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The linked item as JSON. `accounts_error` is null when the accounts were listed; otherwise Plaid's
 * error (the five fields, as everywhere in plaidbal's JSON): the item is linked and saved all the
 * same, and `accounts` is empty because listing failed, not because the item has none.
 */
export function linkedJson(linked: LinkedItem): string {
  const { access_token: _sealed, ...item } = linked.item;
  const accounts = linked.accounts.map((a) => ({ account_id: a.account_id, name: a.name, mask: a.mask ?? null, type: a.type, subtype: a.subtype ?? null }));
  const accountsError = linked.accountsError ? plaidErrorJson(linked.accountsError) : null;
  return `${JSON.stringify({ item: { ...item, last_balance_at: item.last_balance_at ?? null }, accounts, accounts_error: accountsError }, null, 2)}\n`;
}
