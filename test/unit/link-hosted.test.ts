/**
 * hostedOutcome (src/commands/link/hosted.ts): what /link/token/get's `link_sessions` mean for a
 * `link --hosted` that waits. The shapes are those of Plaid's LinkTokenGetSessionsResponse
 * (2020-09-14 spec): `finished_at` null while a session is open, `exit` when the user left it,
 * `results.item_add_results[].public_token` when an item was added.
 */
import type { LinkTokenGetSessionsResponse } from 'plaid';
import { describe, expect, it } from 'vitest';
import { hostedOutcome } from '../../src/commands/link/hosted.js';

const open = (id: string) => ({ link_session_id: id, started_at: '2026-12-04T10:00:00Z', finished_at: null }) as unknown as LinkTokenGetSessionsResponse;
const exited = (id: string) =>
  ({ link_session_id: id, started_at: '2026-12-04T10:00:00Z', finished_at: '2026-12-04T10:01:00Z', exit: { error: null, metadata: { status: 'institution_not_found', link_session_id: id, request_id: 'req1', institution: null } } }) as unknown as LinkTokenGetSessionsResponse;
const added = (id: string) =>
  ({ link_session_id: id, started_at: '2026-12-04T10:00:00Z', finished_at: '2026-12-04T10:02:00Z', results: { item_add_results: [{ public_token: 'public-sandbox-1', accounts: [], institution: { name: 'First Platypus Bank', institution_id: 'ins_109508' } }] } }) as unknown as LinkTokenGetSessionsResponse;
const finished = (id: string) => ({ link_session_id: id, started_at: '2026-12-04T10:00:00Z', finished_at: '2026-12-04T10:02:00Z' }) as unknown as LinkTokenGetSessionsResponse;

describe('hostedOutcome', () => {
  it('nothing yet: no sessions, or one still open', () => {
    expect(hostedOutcome([])).toBeNull();
    expect(hostedOutcome([open('a')])).toBeNull();
  });

  it('an exit ends the wait when no other session is open', () => {
    expect(hostedOutcome([exited('a')])).toMatchObject({ kind: 'exit', error: null, metadata: { status: 'institution_not_found', link_session_id: 'a' } });
  });

  it('an exit does not end it while another session from the same URL is still open', () => {
    expect(hostedOutcome([exited('a'), open('b')])).toBeNull();
    expect(hostedOutcome([open('b'), exited('a')])).toBeNull();
  });

  it('an item added in any session wins over exits and open sessions', () => {
    expect(hostedOutcome([exited('a'), open('b'), added('c')])).toMatchObject({ kind: 'success', public_token: 'public-sandbox-1', metadata: { link_session_id: 'c', institution: { name: 'First Platypus Bank' } } });
  });

  it('update mode: a session finished with no exit is the repair, even with nothing added', () => {
    expect(hostedOutcome([finished('a')], { update: true })).toMatchObject({ kind: 'success', public_token: null, metadata: { link_session_id: 'a' } });
    expect(hostedOutcome([finished('a')])).toBeNull();
  });
});
