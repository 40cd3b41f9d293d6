/**
 * Small raw-HTTP helpers for tests that talk to the emulator directly (the product itself goes
 * through the official `plaid` client). Requests look like the official client's: POST, JSON,
 * credentials and Plaid-Version in headers.
 */
import { PLAID_VERSION, TEST_CLIENT_ID, TEST_SECRET } from './server.js';
import type { Emulator } from './types.js';

export interface PlaidReply {
  status: number;
  // Tests poke at arbitrary response fields; the contract tests check the shapes.
  body: any;
}

export interface CallOptions {
  /** Extra or replacement headers. */
  headers?: Record<string, string>;
  /** Default true: send TEST_CLIENT_ID / TEST_SECRET as headers. */
  credentials?: boolean;
  /** A raw body instead of JSON.stringify(body). */
  raw?: string;
  signal?: AbortSignal;
}

export async function callPlaid(baseUrl: string, path: string, body: unknown = {}, opts: CallOptions = {}): Promise<PlaidReply> {
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'Plaid-Version': PLAID_VERSION,
      ...(opts.credentials === false ? {} : { 'PLAID-CLIENT-ID': TEST_CLIENT_ID, 'PLAID-SECRET': TEST_SECRET }),
      ...opts.headers,
    },
    body: opts.raw ?? JSON.stringify(body),
    signal: opts.signal,
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed };
}

export interface SandboxItem {
  public_token: string;
  access_token: string;
  item_id: string;
}

/** /sandbox/public_token/create + /item/public_token/exchange; throws on any error. */
export async function createSandboxItem(
  emulator: Pick<Emulator, 'url'>,
  init: { institution_id?: string; initial_products?: string[]; options?: Record<string, unknown> } = {},
): Promise<SandboxItem> {
  const created = await callPlaid(emulator.url, '/sandbox/public_token/create', {
    institution_id: init.institution_id ?? 'ins_109508',
    initial_products: init.initial_products ?? ['transactions'],
    ...(init.options ? { options: init.options } : {}),
  });
  if (created.status !== 200) throw new Error(`/sandbox/public_token/create answered ${created.status}: ${JSON.stringify(created.body)}`);
  const exchanged = await callPlaid(emulator.url, '/item/public_token/exchange', { public_token: created.body.public_token });
  if (exchanged.status !== 200) throw new Error(`/item/public_token/exchange answered ${exchanged.status}: ${JSON.stringify(exchanged.body)}`);
  return { public_token: created.body.public_token, access_token: exchanged.body.access_token, item_id: exchanged.body.item_id };
}
