/**
 * confirmUpdated: the /item/get after update mode's Link. When Plaid still reports an error on
 * the item, that error becomes the CliError, cut to Plaid's five fields by plaidErrorJson, with
 * the access token redacted from anything Plaid echoes.
 */
import { describe, expect, it } from 'vitest';
import { confirmUpdated, type UpdateTarget } from '../../src/commands/link/update.js';
import { CliError, ExitCode } from '../../src/errors.js';
import type { PlaidClient } from '../../src/plaid/client.js';

const ACCESS_TOKEN = 'access-sandbox-0123456789abcdef';
const target: UpdateTarget = {
  item: {
    item_id: 'item'.padEnd(37, '0'),
    alias: 'demo',
    environment: 'sandbox',
    institution_id: 'ins_109508',
    institution_name: 'First Platypus Bank',
    products: ['transactions'],
    linked_at: '2026-11-01T00:00:00.000Z',
    access_token: 'sealed',
  },
  accessToken: ACCESS_TOKEN,
};

/** A client whose /item/get answers with `item` (Plaid's Item, with what the test needs). */
const answering = (item: Record<string, unknown>) => ({ call: async () => ({ item, request_id: 'req1' }) }) as unknown as PlaidClient;

describe('confirmUpdated', () => {
  it('still an error on the item: exit for that error, its five fields, the token redacted', async () => {
    const plaid = answering({
      item_id: target.item.item_id,
      error: {
        error_type: 'ITEM_ERROR',
        error_code: 'ITEM_LOGIN_REQUIRED',
        error_code_reason: null,
        error_message: `the login details of this item have changed (${ACCESS_TOKEN})`,
        display_message: null,
        request_id: 'req-item-error',
        causes: [],
        status: 400,
        documentation_url: 'https://plaid.com/docs/errors/item/#item_login_required',
        suggested_action: null,
      },
    });
    const error = await confirmUpdated(plaid, target).then(
      () => expect.unreachable('confirmUpdated resolved'),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CliError);
    const e = error as CliError;
    expect(e.exitCode).toBe(ExitCode.ITEM_NEEDS_USER);
    expect(e.message).toBe('Link finished, but Plaid still reports ITEM_LOGIN_REQUIRED on "demo". Nothing was changed.');
    expect(e.plaid).toEqual({
      error_type: 'ITEM_ERROR',
      error_code: 'ITEM_LOGIN_REQUIRED',
      error_message: 'the login details of this item have changed ([redacted])',
      display_message: null,
      request_id: 'req-item-error',
    });
  });

  it('no error on the item: the item', async () => {
    const item = { item_id: target.item.item_id, error: null };
    await expect(confirmUpdated(answering(item), target)).resolves.toBe(item);
  });
});
