/**
 * `plaidbal link --update <item>`: Link's update mode repairs an item's login
 * (ITEM_LOGIN_REQUIRED and friends). The item keeps its item_id and its access token, so
 * there is no exchange and nothing in the store changes; /item/get confirms the repair.
 */
import type { ItemWithConsentFields as Item } from 'plaid';
import type { Ctx } from '../../context.js';
import { parseEnvironment } from '../../credentials.js';
import { CliError, ExitCode, usageError } from '../../errors.js';
import type { PlaidClient } from '../../plaid/client.js';
import { exitCodeForPlaidError, plaidErrorJson } from '../../plaid/errors.js';
import type { StoredItem } from '../../store/document.js';
import { aad } from '../../store/seal.js';
import type { Store } from '../../store/store.js';
import { escapeControls } from '../../text.js';

export interface UpdateTarget {
  item: StoredItem;
  /** Opened from the store; sent only to Plaid, never to the browser. */
  accessToken: string;
}

/**
 * The item to update, by alias or item_id. Its environment decides where Link runs; an
 * --env that disagrees is a usage error rather than a silent switch.
 */
export async function resolveUpdateTarget(store: Store, ref: string, envFlag: string | undefined): Promise<UpdateTarget> {
  const wanted = envFlag === undefined ? undefined : parseEnvironment(envFlag, '--env');
  let item: StoredItem;
  try {
    item = store.resolveItem(ref, wanted);
  } catch (error) {
    const elsewhere = wanted ? store.items().find((i) => (i.item_id === ref || i.alias === ref) && i.environment !== wanted) : undefined;
    if (elsewhere) {
      throw usageError(
        `"${ref}" is a ${elsewhere.environment} item, but --env says ${wanted}.`,
        'Drop --env: update mode always uses the item\'s own environment.',
      );
    }
    throw error;
  }
  const accessToken = await store.open(item.access_token, aad.accessToken(item.environment, item.item_id), `access token of "${item.alias}"`);
  return { item, accessToken };
}

/** /item/get after Link's success: the same item, and Plaid no longer reports an error on it. */
export async function confirmUpdated(plaid: PlaidClient, target: UpdateTarget): Promise<Item> {
  const { item } = await plaid.call('itemGet', { access_token: target.accessToken }, { secrets: [target.accessToken], item: target.item.alias });
  if (item.item_id !== target.item.item_id) {
    throw new CliError(`Plaid answered for item ${item.item_id}, not ${target.item.item_id}. Nothing was changed.`, { exitCode: ExitCode.UNEXPECTED });
  }
  if (item.error) {
    // As items status does: the token the call used is redacted from anything Plaid echoes.
    const info = plaidErrorJson(item.error, [target.accessToken]);
    throw new CliError(`Link finished, but Plaid still reports ${info.error_code} on "${target.item.alias}". Nothing was changed.`, {
      exitCode: exitCodeForPlaidError(info),
      plaid: info,
      hint: `Run \`plaidbal link --update ${target.item.alias}\` again and complete every step in Link.`,
    });
  }
  return item;
}

export function updatedSummary(ctx: Ctx, stored: StoredItem, institutionName: string | null): string {
  const o = ctx.io.out;
  const name = escapeControls(stored.institution_name ?? institutionName ?? stored.institution_id ?? 'the institution');
  return [
    `${o.green('✓')} Reconnected ${o.bold(name)} as ${o.bold(`"${stored.alias}"`)} ${o.dim(`(${stored.environment}, item_id ${stored.item_id})`)}`,
    '  Plaid reports no error on the item. Same item, same access token: nothing in the store changed.',
    '',
    `Next: plaidbal balance --item ${stored.alias}`,
    '',
  ].join('\n');
}

export function updatedJson(stored: StoredItem, item: Item): string {
  const { access_token: _sealed, ...rest } = stored;
  return `${JSON.stringify({ item: { ...rest, last_balance_at: rest.last_balance_at ?? null }, updated: true, item_error: item.error ?? null }, null, 2)}\n`;
}
