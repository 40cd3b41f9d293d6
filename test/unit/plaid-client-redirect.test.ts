/**
 * The Plaid client never follows a redirect: it would carry the PLAID-SECRET header (and the
 * request body, with its access token) to wherever the Location points.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError, ExitCode } from '../../src/errors.js';
import { createPlaidClient } from '../../src/plaid/client.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('redirects', () => {
  const elsewhere: IncomingHttpHeaders[] = [];
  let target: Server;
  let redirecting: Server;
  let baseUrl: string;

  beforeAll(async () => {
    target = createServer((req, res) => {
      elsewhere.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accounts: [], item: {}, request_id: 'r' }));
    });
    const targetUrl = await listen(target);
    redirecting = createServer((req, res) => {
      req.resume();
      res.writeHead(307, { location: `${targetUrl}${req.url}` }).end();
    });
    baseUrl = await listen(redirecting);
  });
  afterAll(async () => {
    await Promise.all([target, redirecting].map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it('a 307 from the Plaid host is an error (exit 5), and nothing reaches the Location', async () => {
    const client = createPlaidClient({ environment: 'sandbox', clientId: 'id', secret: 'the-secret', baseUrl, retries: 0 });
    const error = await client.call('accountsGet', { access_token: 'access-sandbox-x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(ExitCode.PLAID_FAILURE);
    expect((error as CliError).message).toMatch(/307/);
    expect(elsewhere).toEqual([]);
  });
});
