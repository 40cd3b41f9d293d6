import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPublicTokenFor, parseLinkCallback } from '../../src/link/callback.js';

const institution = { name: 'First Platypus Bank', institution_id: 'ins_109508' };
const account = { id: 'BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp', name: 'Plaid Checking', mask: '0000', type: 'depository', subtype: 'checking', verification_status: null };
const success = {
  type: 'success',
  public_token: 'public-sandbox-0b4d2a1c-93f0-4f1e-8a2b-7c6d5e4f3a2b',
  metadata: { institution, accounts: [account], link_session_id: '79e772be-547d-4c9c-8b76-4ac4ed4c441a' },
};
const exitMetadata = { institution: null, status: 'requires_credentials', link_session_id: '79e772be', request_id: 'Xq1Jk7Vn3LpZ8sQ' };
const exitError = { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOCKED', error_message: 'the account is locked', display_message: null };

/** Through JSON first, as the server sees it: keys set to undefined disappear. */
const reason = (body: unknown, env: 'sandbox' | 'production' = 'sandbox') => {
  const result = parseLinkCallback(JSON.parse(JSON.stringify(body)), env);
  return result.ok ? 'ok' : result.reason;
};

describe('parseLinkCallback', () => {
  it('accepts the documented success and exit shapes, returning exactly them', () => {
    expect(parseLinkCallback(success, 'sandbox')).toEqual({
      ok: true,
      outcome: { kind: 'success', public_token: success.public_token, metadata: success.metadata },
    });
    expect(parseLinkCallback({ type: 'exit', error: exitError, metadata: exitMetadata }, 'sandbox')).toEqual({
      ok: true,
      outcome: { kind: 'exit', error: exitError, metadata: exitMetadata },
    });
    expect(parseLinkCallback({ type: 'exit', error: null, metadata: { institution, status: null, link_session_id: null, request_id: null } }, 'sandbox')).toMatchObject({ ok: true });
    expect(reason({ ...success, metadata: { ...success.metadata, institution: null, accounts: [] } })).toBe('ok');
  });

  it('accepts what Plaid documents as optional missing or null, as null (plaid.com/docs/link/web/#onsuccess)', () => {
    const bare = { id: 'acc1', name: 'Checking', type: 'depository' };
    const result = parseLinkCallback(
      JSON.parse(JSON.stringify({ ...success, metadata: { accounts: [bare, { ...bare, id: 'acc2', mask: null, subtype: null, verification_status: null }], link_session_id: 'x1' } })),
      'sandbox',
    );
    const filled = { ...bare, mask: null, subtype: null, verification_status: null };
    expect(result).toEqual({ ok: true, outcome: { kind: 'success', public_token: success.public_token, metadata: { institution: null, accounts: [filled, { ...filled, id: 'acc2' }], link_session_id: 'x1' } } });
    const exit = parseLinkCallback({ type: 'exit', error: { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOCKED', error_message: 'locked' }, metadata: {} }, 'sandbox');
    expect(exit).toEqual({
      ok: true,
      outcome: { kind: 'exit', error: { error_type: 'ITEM_ERROR', error_code: 'ITEM_LOCKED', error_message: 'locked', display_message: null }, metadata: { institution: null, status: null, link_session_id: null, request_id: null } },
    });
    // What Plaid always sends stays required.
    expect(reason({ ...success, metadata: { ...success.metadata, accounts: [{ ...account, type: undefined }] } })).toBe('metadata.accounts[0].type is missing');
    expect(reason({ ...success, metadata: { ...success.metadata, accounts: undefined } })).toBe('metadata.accounts is missing');
    expect(reason({ type: 'exit', error: { ...exitError, error_code: undefined }, metadata: exitMetadata })).toBe('error.error_code is missing');
  });

  it('requires a public token of the session environment', () => {
    expect(reason(success, 'production')).toBe('public_token is not a production public token');
    expect(reason({ ...success, public_token: 'public-production-1' }, 'production')).toBe('ok');
    expect(isPublicTokenFor('public-sandbox-abc', 'sandbox')).toBe(true);
    expect(isPublicTokenFor('public-sandbox-', 'sandbox')).toBe(false);
    expect(isPublicTokenFor('public-sandboxx-abc', 'sandbox')).toBe(false);
    expect(isPublicTokenFor('xpublic-sandbox-abc', 'sandbox')).toBe(false);
    expect(isPublicTokenFor('public-sandbox-a\nb', 'sandbox')).toBe(false);
  });

  it('names what is wrong', () => {
    const meta = success.metadata;
    expect(reason(null)).toBe('type must be "success" or "exit"');
    expect(reason({ ...success, extra: 1 })).toBe('body.extra is not allowed');
    expect(reason({ ...success, metadata: { ...meta, link_session_id: undefined } })).toBe('metadata.link_session_id is missing');
    expect(reason({ ...success, metadata: { ...meta, accounts: [{ ...account, balance: 1 }] } })).toBe('metadata.accounts[0].balance is not allowed');
    expect(reason({ ...success, metadata: { ...meta, accounts: [{ ...account, mask: 0 }] } })).toBe('metadata.accounts[0].mask must be a string');
    expect(reason({ ...success, metadata: { ...meta, accounts: Array(257).fill(account) } })).toBe('metadata.accounts has more than 256 entries');
    expect(reason({ ...success, metadata: { ...meta, accounts: [{ ...account, id: 'has space' }] } })).toBe('metadata.accounts[0].id has characters that are not allowed');
    expect(reason({ ...success, metadata: { ...meta, institution: { ...institution, name: '' } } })).toBe('metadata.institution.name must be 1–512 characters');
    expect(reason({ type: 'exit', error: { ...exitError, error_code: 7 }, metadata: exitMetadata })).toBe('error.error_code must be a string');
    expect(reason({ type: 'exit', error: exitError, metadata: { ...exitMetadata, status: 'x\u0007' } })).toBe('metadata.status contains control characters');
    expect(reason({ type: 'exit', error: exitError, metadata: [] })).toBe('metadata must be an object');
  });

  it('keeps newlines in error messages but no other control characters', () => {
    const ok = { type: 'exit', error: { ...exitError, error_message: 'line one\nline two\tend' }, metadata: exitMetadata };
    expect(reason(ok)).toBe('ok');
    expect(reason({ ...ok, error: { ...exitError, error_message: 'overwrite\rline' } })).toBe('error.error_message contains control characters');
    expect(reason({ ...ok, error: { ...exitError, display_message: '\u001b]0;title\u0007' } })).toBe('error.display_message contains control characters');
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom('sandbox' as const, 'production' as const), (value, env) => {
        const result = parseLinkCallback(value, env);
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
    // Nor for near-miss shapes built from the valid ones.
    fc.assert(
      fc.property(fc.object({ values: [fc.jsonValue()] }), (noise) => {
        parseLinkCallback({ ...success, ...noise }, 'sandbox');
        parseLinkCallback({ type: 'exit', error: noise, metadata: noise }, 'sandbox');
      }),
      { numRuns: 300 },
    );
  });
});
