import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LinkCallbackRefusedError,
  LinkPageClosedError,
  LinkPageGoneError,
  LinkPageSharedError,
  MAX_CALLBACK_BYTES,
  PLAID_LINK_SCRIPT_URL,
  startLinkPage,
  type LinkOutcome,
  type LinkPageOptions,
  type LinkPageServer,
} from '../../src/link/server.js';

const LINK_TOKEN = 'link-sandbox-6f1c1a7e-5b7d-4b9e-9a55-0c3b8a1d2e4f';
const PUBLIC_TOKEN = 'public-sandbox-0b4d2a1c-93f0-4f1e-8a2b-7c6d5e4f3a2b';

const started: LinkPageServer[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

/**
 * The cookie of the client that opened each session's page, by port. Every request a test sends
 * goes as that client (with the cookie) unless it passes a Cookie header of its own.
 */
const cookies = new Map<number, string>();

/** The name=value of a page's Set-Cookie. */
const cookieOf = (reply: Reply) => String(reply.headers['set-cookie']?.[0] ?? '').split(';')[0]!;

/** A session whose page the test's "browser" has opened (claimed), unless `claim` is false. */
async function start(overrides: Partial<LinkPageOptions> = {}, { claim = true } = {}): Promise<Session> {
  const server = await startLinkPage({
    linkToken: LINK_TOKEN,
    environment: 'sandbox',
    plaidHost: 'https://sandbox.plaid.com',
    ...overrides,
  });
  started.push(server);
  const url = new URL(server.url);
  const port = Number(url.port);
  cookies.delete(port);
  if (claim) {
    const page = await send(port, { path: url.pathname, headers: { Host: `127.0.0.1:${port}` } });
    expect(page.status).toBe(200);
    cookies.set(port, cookieOf(page));
  }
  return { server, port, path: url.pathname, secret: url.pathname.split('/')[1]!, origin: url.origin };
}

function withCookie(port: number, headers: Record<string, string | number> = {}): Record<string, string | number> {
  const cookie = cookies.get(port);
  return cookie && !Object.keys(headers).some((h) => h.toLowerCase() === 'cookie') ? { Cookie: cookie, ...headers } : headers;
}

interface Session {
  server: LinkPageServer;
  port: number;
  /** /<secret>/ */
  path: string;
  secret: string;
  /** http://127.0.0.1:<port> */
  origin: string;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Raw HTTP, so tests control Host, Origin and framing exactly (fetch forbids setting Host). */
function send(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string | number>; body?: string | Buffer },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers: withCookie(port, options.headers), agent: false, setHost: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const get = (s: Session, path = s.path, headers: Record<string, string> = {}) =>
  send(s.port, { path, headers: { Host: `127.0.0.1:${s.port}`, ...headers } });

function successBody(publicToken = PUBLIC_TOKEN): Record<string, unknown> {
  return {
    type: 'success',
    public_token: publicToken,
    metadata: {
      institution: { name: 'First Platypus Bank', institution_id: 'ins_109508' },
      accounts: [
        { id: 'BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp', name: 'Plaid Checking', mask: '0000', type: 'depository', subtype: 'checking', verification_status: null },
      ],
      link_session_id: '79e772be-547d-4c9c-8b76-4ac4ed4c441a',
    },
  };
}

function postCallback(
  s: Session,
  body: unknown,
  headers: Record<string, string | number> = {},
): Promise<Reply> {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return send(s.port, {
    method: 'POST',
    path: `${s.path}callback`,
    headers: {
      Host: `127.0.0.1:${s.port}`,
      Origin: s.origin,
      'Content-Type': 'application/json',
      'Sec-Fetch-Site': 'same-origin',
      ...headers,
    },
    body: payload,
  });
}

/** A callback POST whose body the test writes (and maybe never finishes) itself. */
function openCallback(s: Session, headers: Record<string, string | number> = {}) {
  let req!: ReturnType<typeof httpRequest>;
  const status = new Promise<number>((resolve, reject) => {
    req = httpRequest(
      {
        host: '127.0.0.1',
        port: s.port,
        method: 'POST',
        path: `${s.path}callback`,
        agent: false,
        headers: withCookie(s.port, { Host: `127.0.0.1:${s.port}`, Origin: s.origin, 'Content-Type': 'application/json', ...headers }),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      },
    );
    // Writing into a socket the server has already answered and closed may fail; the status decides.
    req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
  });
  return { req, status };
}

/** True if the outcome promise has settled (either way) after pending I/O has run. */
async function hasSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  await new Promise((r) => setTimeout(r, 20));
  return settled;
}

function csp(headers: IncomingHttpHeaders): Map<string, string[]> {
  const value = headers['content-security-policy'];
  expect(typeof value).toBe('string');
  return new Map(
    String(value)
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...sources]) => [name!, sources]),
  );
}

function expectCommonHeaders(reply: Reply): void {
  expect(reply.headers['cache-control']).toBe('no-store');
  expect(reply.headers['x-content-type-options']).toBe('nosniff');
  expect(reply.headers['referrer-policy']).toBe('no-referrer');
  expect(Object.keys(reply.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
}

function connectionRefused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('startLinkPage: the listening socket', () => {
  it('listens on 127.0.0.1 only, on an OS-chosen port', async () => {
    const s = await start();
    expect(s.server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]+\/$/);
    expect(s.port).toBeGreaterThan(0);
    expect((await get(s)).status).toBe(200);

    // Every other local address must refuse: other loopback addresses (Linux routes all
    // of 127/8 to lo), IPv6 loopback, and the machine's real interfaces.
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((i) => i !== undefined && !i.internal && i.family === 'IPv4')
      .map((i) => i!.address);
    if (process.platform === 'linux') others.push('127.0.0.2');
    others.push('::1');
    for (const host of others) {
      expect(await connectionRefused(host, s.port), `reachable on ${host}`).toBe(true);
    }
  });

  it('uses a fresh port and a fresh ≥128-bit base64url secret per session', async () => {
    const a = await start();
    const b = await start();
    expect(a.port).not.toBe(b.port);
    expect(a.secret).not.toBe(b.secret);
    for (const s of [a, b]) {
      expect(s.secret).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(Buffer.from(s.secret, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
    }
  });

  it('close() frees the port promptly even with a connection still open, and is idempotent', async () => {
    const s = await start();
    // A client that connects and never finishes its request must not hold the port.
    const idle = connect({ host: '127.0.0.1', port: s.port });
    await new Promise((r) => idle.once('connect', r));
    idle.write(`GET ${s.path} HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\n`);
    const closedAt = Date.now();
    await Promise.all([s.server.close(), s.server.close()]);
    await s.server.close();
    expect(Date.now() - closedAt).toBeLessThan(1000);
    idle.destroy();

    expect(await connectionRefused('127.0.0.1', s.port)).toBe(true);
    const reuse = createServer();
    await new Promise<void>((resolve, reject) => {
      reuse.once('error', reject);
      reuse.listen({ host: '127.0.0.1', port: s.port, exclusive: true }, resolve);
    });
    expect((reuse.address() as AddressInfo).port).toBe(s.port);
    await new Promise((r) => reuse.close(r));
  });

  it('rejects the outcome with LinkPageClosedError when closed before any callback', async () => {
    const s = await start();
    await s.server.close();
    await expect(s.server.outcome).rejects.toBeInstanceOf(LinkPageClosedError);
  });
});

describe('startLinkPage: options', () => {
  it('refuses to put anything but a link token of the environment into the page', async () => {
    await expect(start({ linkToken: 'access-sandbox-6f1c1a7e-5b7d-4b9e-9a55-0c3b8a1d2e4f' })).rejects.toThrow(/link token/);
    await expect(start({ linkToken: 'link-production-6f1c1a7e' })).rejects.toThrow(/link token/);
    await expect(start({ linkToken: 'link-sandbox-"</script><script>' })).rejects.toThrow(/link token/);
  });

  it('accepts only a bare origin for plaidHost, since it goes into the CSP', async () => {
    for (const plaidHost of [
      'https://sandbox.plaid.com; script-src *',
      'https://sandbox.plaid.com/path',
      'http://sandbox.plaid.com',
      'javascript:alert(1)',
      'not a url',
    ]) {
      await expect(start({ plaidHost }), plaidHost).rejects.toThrow(/plaidHost/);
    }
    // A local emulator over plain http is fine.
    const s = await start({ plaidHost: 'http://127.0.0.1:4010' });
    expect(csp((await get(s)).headers).get('connect-src')).toContain('http://127.0.0.1:4010');
  });
});

describe('the secret path', () => {
  it('serves the page only at /<secret>/; every other path is a bare 404', async () => {
    const s = await start();
    const flipped = s.secret.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    const paths = [
      '/',
      '/favicon.ico',
      `/${s.secret}`, // no trailing slash
      `/${flipped}/`, // same length, one character off
      `/${s.secret.slice(0, -1)}/`,
      `/${s.secret}x/`,
      `/${s.secret.toLowerCase()}/`,
      `/${s.secret}/other`,
      `/${s.secret}/callback/`,
      `//${s.secret}/`,
      `/x/${s.secret}/`,
      `/${encodeURIComponent(s.secret)}%2F`,
      `http://127.0.0.1:${s.port}/${s.secret}/`, // absolute-form request target
    ];
    for (const path of paths) {
      const reply = await get(s, path);
      expect(reply.status, path).toBe(404);
      expect(reply.body).toBe('Not found\n');
      expect(reply.body).not.toContain(LINK_TOKEN);
      expectCommonHeaders(reply);
    }
    expect((await get(s, `${s.path}?utm=1`)).status).toBe(200);
  });

  it('does not serve the callback path to GET, and a wrong secret cannot post', async () => {
    const s = await start();
    const wrong = { ...s, path: `/${'A'.repeat(s.secret.length)}/` };
    expect((await postCallback(wrong, successBody())).status).toBe(404);
    expect(await hasSettled(s.server.outcome)).toBe(false);
  });
});

describe('the Host header (DNS rebinding)', () => {
  it('answers 421 to any Host but 127.0.0.1:<port> or localhost:<port>', async () => {
    const s = await start();
    const hosts = [
      'evil.example',
      `evil.example:${s.port}`,
      '127.0.0.1',
      `127.0.0.1:${s.port + 1}`,
      `localhost:${s.port}.evil.example`,
      `LOCALHOST.:${s.port}`,
      `[::1]:${s.port}`,
      `0.0.0.0:${s.port}`,
      `127.0.0.1:${s.port}@evil.example`,
    ];
    for (const host of hosts) {
      const reply = await get(s, s.path, { Host: host });
      expect(reply.status, host).toBe(421);
      expect(reply.body).not.toContain(LINK_TOKEN);
      expectCommonHeaders(reply);
    }
    // Applies to the callback too, even with a matching Origin.
    const rebound = await postCallback(s, successBody(), { Host: `evil.example:${s.port}`, Origin: `http://evil.example:${s.port}` });
    expect(rebound.status).toBe(421);
    expect(await hasSettled(s.server.outcome)).toBe(false);
  });

  it('answers 421 when there is no Host header at all', async () => {
    const s = await start();
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: s.port }, () => socket.end(`GET ${s.path} HTTP/1.0\r\n\r\n`));
      let data = '';
      socket.on('data', (c) => (data += c.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 421 /);
    expect(raw).not.toContain(LINK_TOKEN);
  });

  it('serves the page under localhost:<port> as well', async () => {
    const s = await start();
    const reply = await get(s, s.path, { Host: `localhost:${s.port}` });
    expect(reply.status).toBe(200);
  });
});

describe('the page response', () => {
  it('sets a nonce CSP matching the inline script and style, plus the hardening headers', async () => {
    const s = await start();
    const reply = await get(s);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
    expectCommonHeaders(reply);
    expect(reply.headers['x-frame-options']).toBe('DENY');

    const policy = csp(reply.headers);
    const scriptSrc = policy.get('script-src') ?? [];
    const nonceSource = scriptSrc.find((src) => src.startsWith("'nonce-"));
    const nonce = nonceSource?.slice("'nonce-".length, -1) ?? '';
    expect(Buffer.from(nonce, 'base64').length).toBeGreaterThanOrEqual(16);
    expect(scriptSrc).toEqual([`'nonce-${nonce}'`, PLAID_LINK_SCRIPT_URL]);
    expect(policy.get('default-src')).toEqual(["'none'"]);
    expect(policy.get('frame-src')).toEqual(['https://cdn.plaid.com/']);
    expect(policy.get('connect-src')).toEqual(["'self'", 'https://sandbox.plaid.com']);
    // Plaid's nonce-based CSP for Link (plaid.com/docs/link/web/#csp-directives, react-plaid-link README).
    expect(policy.get('style-src')).toEqual([`'nonce-${nonce}'`]);
    expect(policy.get('style-src-elem')).toEqual([`'nonce-${nonce}'`]);
    expect(policy.get('style-src-attr')).toEqual(["'unsafe-inline'"]);
    expect(policy.get('img-src')).toEqual(['data:']);
    expect([...policy.keys()].sort()).toEqual(
      ['base-uri', 'connect-src', 'default-src', 'form-action', 'frame-ancestors', 'frame-src', 'img-src', 'script-src', 'style-src', 'style-src-attr', 'style-src-elem'],
    );
    expect(policy.get('base-uri')).toEqual(["'none'"]);
    expect(policy.get('form-action')).toEqual(["'none'"]);
    expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
    // 'unsafe-inline' only where Plaid says Link needs it: style attributes.
    expect(String(reply.headers['content-security-policy']).replace("style-src-attr 'unsafe-inline'", '')).not.toMatch(/unsafe-(inline|eval)|\*/);

    // The executable inline script and the style carry the nonce; the only other script is Plaid's.
    const scripts = [...reply.body.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]!.trim());
    expect(scripts).toEqual([
      'id="link-config" type="application/json"',
      `nonce="${nonce}" src="${PLAID_LINK_SCRIPT_URL}"`, // the nonce Link's own <style> takes
      `nonce="${nonce}"`,
    ]);
    expect(reply.body).toContain(`<style nonce="${nonce}">`);
    expect(reply.body).not.toMatch(/\sstyle=|\son[a-z]+=/i); // no inline style or handler attributes

    // A fresh nonce per response.
    const again = csp((await get(s)).headers).get('script-src')?.[0];
    expect(again).not.toBe(nonceSource);
  });

  it('names the production API host for a production session', async () => {
    const s = await start({ environment: 'production', plaidHost: 'https://production.plaid.com', linkToken: 'link-production-6f1c1a7e-5b7d' });
    const reply = await get(s);
    expect(csp(reply.headers).get('connect-src')).toEqual(["'self'", 'https://production.plaid.com']);
    expect(reply.body).toContain(`src="${PLAID_LINK_SCRIPT_URL}"`);
  });

  it('defaults connect-src to the environment\'s real Plaid host: Link in the browser never uses PLAIDBAL_BASE_URL', async () => {
    const sandbox = await start({ plaidHost: undefined });
    expect(csp((await get(sandbox)).headers).get('connect-src')).toEqual(["'self'", 'https://sandbox.plaid.com']);
    const production = await start({ environment: 'production', plaidHost: undefined, linkToken: 'link-production-6f1c1a7e-5b7d' });
    expect(csp((await get(production)).headers).get('connect-src')).toEqual(["'self'", 'https://production.plaid.com']);
  });

  it('puts the link token in the page and nothing else sensitive', async () => {
    const s = await start({ title: 'plaidbal — <reconnect> & "update"', mode: 'update' });
    const { body } = await get(s);
    expect(body.split(LINK_TOKEN).length - 1).toBe(1);
    expect(body).not.toContain(s.secret); // the callback is posted to a relative URL
    expect(body).not.toMatch(/access-(sandbox|production)-|public-(sandbox|production)-|client_id|PLAID-SECRET|PLAID-CLIENT-ID/i);
    expect(body).not.toContain('innerHTML');
    expect(body).toContain('<title>plaidbal — &#60;reconnect&#62; &#38; &#34;update&#34;</title>');
  });

  it('answers HEAD without a body and refuses other methods on the page', async () => {
    const s = await start();
    const head = await send(s.port, { method: 'HEAD', path: s.path, headers: { Host: `127.0.0.1:${s.port}` } });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const reply = await send(s.port, { method, path: s.path, headers: { Host: `127.0.0.1:${s.port}`, Origin: s.origin } });
      expect(reply.status, method).toBe(405);
      expect(reply.headers.allow).toBe('GET, HEAD');
      expectCommonHeaders(reply);
    }
  });
});

describe('the callback', () => {
  it('resolves the outcome with the validated result', async () => {
    const s = await start();
    const reply = await postCallback(s, successBody());
    expect(reply.status).toBe(204);
    expectCommonHeaders(reply);
    const expected: LinkOutcome = {
      kind: 'success',
      public_token: PUBLIC_TOKEN,
      metadata: successBody().metadata as Extract<LinkOutcome, { kind: 'success' }>['metadata'],
    };
    await expect(s.server.outcome).resolves.toEqual(expected);
  });

  it('resolves an exit, with or without an error', async () => {
    const metadata = { institution: null, status: null, link_session_id: 'a1b2', request_id: null };
    const closed = await start();
    expect((await postCallback(closed, { type: 'exit', error: null, metadata })).status).toBe(204);
    await expect(closed.server.outcome).resolves.toEqual({ kind: 'exit', error: null, metadata });

    const failed = await start();
    const error = { error_type: 'ITEM_ERROR', error_code: 'INVALID_CREDENTIALS', error_message: 'the provided credentials were not correct', display_message: 'The credentials were not correct.' };
    expect((await postCallback(failed, { type: 'exit', error, metadata })).status).toBe(204);
    await expect(failed.server.outcome).resolves.toEqual({ kind: 'exit', error, metadata });
  });

  it('accepts the page opened as localhost:<port>, posting with its own origin', async () => {
    const s = await start();
    const reply = await postCallback(s, successBody(), { Host: `localhost:${s.port}`, Origin: `http://localhost:${s.port}` });
    expect(reply.status).toBe(204);
    await expect(s.server.outcome).resolves.toMatchObject({ kind: 'success' });
  });

  it('answers a foreign Origin with 403', async () => {
    const s = await start();
    const origins = [
      'http://evil.example',
      'null',
      `https://127.0.0.1:${s.port}`,
      `http://127.0.0.1:${s.port + 1}`,
      `http://127.0.0.1:${s.port}/`,
      `http://127.0.0.1`,
      `http://localhost:${s.port}`, // the other name is a different origin than this Host
    ];
    for (const origin of origins) {
      const reply = await postCallback(s, successBody(), { Origin: origin });
      expect(reply.status, origin).toBe(403);
      expectCommonHeaders(reply);
    }
    // The cross-site fetch metadata of a browser is refused even with a forged-looking Origin.
    expect((await postCallback(s, successBody(), { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    expect(await hasSettled(s.server.outcome)).toBe(false);
  });

  it('answers a missing Origin with 403', async () => {
    const s = await start();
    const reply = await send(s.port, {
      method: 'POST',
      path: `${s.path}callback`,
      headers: { Host: `127.0.0.1:${s.port}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(successBody()),
    });
    expect(reply.status).toBe(403);
    expect(await hasSettled(s.server.outcome)).toBe(false);
  });

  it('answers anything but application/json with 415', async () => {
    const s = await start();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/jsonp']) {
      const reply = await postCallback(s, successBody(), { 'Content-Type': type });
      expect(reply.status, type).toBe(415);
    }
    const none = await send(s.port, {
      method: 'POST',
      path: `${s.path}callback`,
      headers: { Host: `127.0.0.1:${s.port}`, Origin: s.origin },
      body: JSON.stringify(successBody()),
    });
    expect(none.status).toBe(415);
    expect(await hasSettled(s.server.outcome)).toBe(false);
    // Parameters a browser might add are fine.
    expect((await postCallback(s, successBody(), { 'Content-Type': 'application/json; charset=UTF-8' })).status).toBe(204);
  });

  it('answers other methods with 405, preflights included, and never sends CORS headers', async () => {
    const s = await start();
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const reply = await send(s.port, {
        method,
        path: `${s.path}callback`,
        headers: {
          Host: `127.0.0.1:${s.port}`,
          Origin: 'http://evil.example',
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type',
        },
      });
      expect(reply.status, method).toBe(405);
      expect(reply.headers.allow).toBe('POST');
      expectCommonHeaders(reply);
    }
  });

  it('accepts only one result: later posts get 409', async () => {
    const s = await start();
    expect((await postCallback(s, successBody())).status).toBe(204);
    const later = await postCallback(s, successBody('public-sandbox-ffffffff-0000'));
    expect(later.status).toBe(409);
    expect((await postCallback(s, { type: 'exit', error: null, metadata: { institution: null, status: null, link_session_id: null, request_id: null } })).status).toBe(409);
    await expect(s.server.outcome).resolves.toMatchObject({ public_token: PUBLIC_TOKEN });
  });

  it('lets only one of two interleaved posts win', async () => {
    const s = await start();
    // Both requests are past the header checks before either body is complete.
    const a = openCallback(s);
    const b = openCallback(s);
    const bodyA = JSON.stringify(successBody());
    const bodyB = JSON.stringify(successBody('public-sandbox-ffff'));
    a.req.write(bodyA.slice(0, 10));
    b.req.write(bodyB.slice(0, 10));
    await new Promise((r) => setTimeout(r, 50));
    a.req.end(bodyA.slice(10));
    b.req.end(bodyB.slice(10));
    expect([await a.status, await b.status].sort()).toEqual([204, 409]);
  }, 5_000);

  it('answers 409 after the first result without reading the body', async () => {
    const s = await start();
    expect((await postCallback(s, successBody())).status).toBe(204);
    const late = openCallback(s, { 'Content-Length': 1000 });
    late.req.write('{"type":'); // never finished
    expect(await late.status).toBe(409);
  }, 5_000);

  it('answers a body over 64 KiB with 413, whether declared or streamed, and ends the session', async () => {
    const big = JSON.stringify({ ...successBody(), padding: 'x'.repeat(MAX_CALLBACK_BYTES) });
    const s1 = await start();
    expect((await postCallback(s1, big)).status).toBe(413);

    // A declared size over the limit is refused before any of the body arrives.
    const s2 = await start();
    const declared = openCallback(s2, { 'Content-Length': 10 * MAX_CALLBACK_BYTES });
    declared.req.write('{');
    expect(await declared.status).toBe(413);

    // Chunked, with no Content-Length to check up front: refused once the limit is passed,
    // without waiting for the rest.
    const s3 = await start();
    const chunked = openCallback(s3, { 'Transfer-Encoding': 'chunked' });
    chunked.req.write('{"type":"success","pad":"');
    chunked.req.write('x'.repeat(MAX_CALLBACK_BYTES));
    expect(await chunked.status).toBe(413);

    // Only our page can post here, so a refused result ends the session: no silent wait.
    for (const s of [s1, s2, s3]) {
      await expect(s.server.outcome).rejects.toThrow(LinkCallbackRefusedError);
      await expect(s.server.outcome).rejects.toThrow(`larger than ${MAX_CALLBACK_BYTES} bytes`);
      expect((await postCallback(s, successBody())).status).toBe(409);
    }
  }, 5_000);

  it('answers a public token of another environment (or no public token) with 400 and ends the session', async () => {
    for (const token of [
      'public-production-0b4d2a1c-93f0-4f1e-8a2b-7c6d5e4f3a2b',
      'access-sandbox-0b4d2a1c-93f0-4f1e-8a2b-7c6d5e4f3a2b',
      'link-sandbox-0b4d2a1c',
      'public-sandbox-',
      'public-sandbox-abc def',
      `public-sandbox-${'a'.repeat(300)}`,
    ]) {
      const s = await start();
      const reply = await postCallback(s, successBody(token));
      expect(reply.status, token).toBe(400);
      await expect(s.server.outcome, token).rejects.toThrow(LinkCallbackRefusedError);
      // Nothing later can revive it.
      expect((await postCallback(s, successBody())).status).toBe(409);
    }

    const production = await start({ environment: 'production', linkToken: 'link-production-1', plaidHost: 'https://production.plaid.com' });
    expect((await postCallback(production, successBody())).status).toBe(400);
    await expect(production.server.outcome).rejects.toThrow('public_token is not a production public token');
    const good = await start({ environment: 'production', linkToken: 'link-production-1', plaidHost: 'https://production.plaid.com' });
    expect((await postCallback(good, successBody('public-production-1'))).status).toBe(204);
  });

  it('answers malformed payloads with 400, naming the problem, and ends the session', async () => {
    const s = await start();
    const good = successBody();
    const meta = good.metadata as Record<string, unknown>;
    const bodies: Array<[string, string | Buffer]> = [
      ['not JSON', '{"type":'],
      ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d])],
      ['array', '[]'],
      ['null', 'null'],
      ['no type', JSON.stringify({ ...good, type: undefined })],
      ['unknown type', JSON.stringify({ ...good, type: 'done' })],
      ['extra key', JSON.stringify({ ...good, access_token: 'access-sandbox-1' })],
      ['token not a string', JSON.stringify({ ...good, public_token: 42 })],
      ['metadata missing', JSON.stringify({ type: 'success', public_token: PUBLIC_TOKEN })],
      ['accounts not an array', JSON.stringify({ ...good, metadata: { ...meta, accounts: {} } })],
      ['control characters', JSON.stringify({ ...good, metadata: { ...meta, institution: { name: 'Bank\u001b[31m', institution_id: 'ins_1' } } })],
      ['overlong name', JSON.stringify({ ...good, metadata: { ...meta, institution: { name: 'x'.repeat(513), institution_id: 'ins_1' } } })],
    ];
    for (const [label, body] of bodies) {
      const fresh = await start();
      const reply = await postCallback(fresh, body);
      expect(reply.status, label).toBe(400);
      expect(reply.body).toMatch(/^Invalid callback: /);
      const error = await fresh.server.outcome.then(() => null, (e: unknown) => e);
      expect(error, label).toBeInstanceOf(LinkCallbackRefusedError);
      expect(`Invalid callback: ${(error as LinkCallbackRefusedError).reason}\n`, label).toBe(reply.body);
    }
    expect(await hasSettled(s.server.outcome)).toBe(false);
  });
});

/** Opens the page's presence stream like its EventSource does; resolves once the first bytes arrive. */
function openPresence(s: Session, headers: Record<string, string> = {}): Promise<{ status: number; first: string; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: s.port,
        path: `${s.path}events`,
        agent: false,
        setHost: false,
        headers: withCookie(s.port, { Host: `127.0.0.1:${s.port}`, Accept: 'text/event-stream', 'Sec-Fetch-Site': 'same-origin', ...headers }),
      },
      (res) => {
        res.once('data', (chunk: Buffer) =>
          resolve({ status: res.statusCode ?? 0, first: chunk.toString('utf8'), close: () => req.destroy() }),
        );
        res.once('end', () => resolve({ status: res.statusCode ?? 0, first: '', close: () => req.destroy() }));
      },
    );
    req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
    req.end();
  });
}

describe('presence: noticing that the page went away', () => {
  it('ends the session with LinkPageGoneError once the page has been gone for the grace period', async () => {
    const s = await start({ pageGoneGraceMs: 50 });
    const stream = await openPresence(s);
    expect(stream.status).toBe(200);
    expect(stream.first).toMatch(/^: /); // an SSE comment: no data, just presence
    expect(await hasSettled(s.server.outcome)).toBe(false);
    stream.close();
    await expect(s.server.outcome).rejects.toThrow(LinkPageGoneError);
    expect((await postCallback(s, successBody())).status).toBe(409);
  });

  it('does not end while no page has connected yet, nor when a page comes back within the grace (a reload)', async () => {
    // Each wait is past the grace; the grace is long enough for a reload on a busy machine.
    const s = await start({ pageGoneGraceMs: 1_000 });
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await hasSettled(s.server.outcome)).toBe(false); // the user has not opened the URL yet

    const first = await openPresence(s);
    first.close();
    const second = await openPresence(s); // the reloaded page
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await hasSettled(s.server.outcome)).toBe(false);
    expect((await postCallback(s, successBody())).status).toBe(204);
    expect(await s.server.outcome).toMatchObject({ kind: 'success' });
    second.close();
  });

  it('tells a page that opens after the result that the session has finished', async () => {
    const s = await start();
    expect((await postCallback(s, successBody())).status).toBe(204);
    const late = await openPresence(s);
    expect(late.status).toBe(200);
    expect(late.first).toBe('event: finished\ndata: finished\n\n');
  });

  it('takes the stream only as a same-origin GET', async () => {
    const s = await start();
    expect((await send(s.port, { method: 'POST', path: `${s.path}events`, headers: { Host: `127.0.0.1:${s.port}` } })).status).toBe(405);
    expect((await get(s, `${s.path}events`, { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    expect((await get(s, `${s.path}events?x=1`)).status).toBe(404);
  });
});

describe('the session belongs to the first client that opens the page', () => {
  // The page's URL is on the browser's command line while it starts (xdg-open), where any local
  // user can read it: the path's secret alone must not let another program finish Link.
  it('the first GET gets an HttpOnly, SameSite=Lax cookie for the secret path; its reloads are served', async () => {
    const s = await start({}, { claim: false });
    const first = await get(s);
    expect(first.status).toBe(200);
    const setCookie = String(first.headers['set-cookie']?.[0]);
    expect(setCookie).toMatch(new RegExp(`^plaidbal-${s.port}=[A-Za-z0-9_-]{43}; Path=/${s.secret}/; HttpOnly; SameSite=Lax$`));
    const reload = await get(s, s.path, { Cookie: cookieOf(first) });
    expect(reload.status).toBe(200);
    expect(reload.body).toContain(LINK_TOKEN);
    expect(reload.headers['set-cookie']).toBeUndefined();
    expect(await hasSettled(s.server.outcome)).toBe(false);
  });

  it('HEAD claims nothing (it carries no link token): the first GET after it still gets the cookie', async () => {
    const s = await start({}, { claim: false });
    const head = await send(s.port, { method: 'HEAD', path: s.path, headers: { Host: `127.0.0.1:${s.port}` } });
    expect(head.status).toBe(200);
    expect(head.headers['set-cookie']).toBeUndefined();
    expect(cookieOf(await get(s))).toMatch(/^plaidbal-\d+=/);
    expect(await hasSettled(s.server.outcome)).toBe(false);
  });

  it('a second client with the URL and without the cookie ends the session: 403, LinkPageSharedError, and the first can no longer post', async () => {
    const s = await start();
    const other = await get(s, s.path, { Cookie: '' });
    expect(other.status).toBe(403);
    expect(other.body).not.toContain(LINK_TOKEN);
    expectCommonHeaders(other);
    await expect(s.server.outcome).rejects.toBeInstanceOf(LinkPageSharedError);
    expect((await postCallback(s, successBody())).status).toBe(409);
  });

  it('another program that opens the page before the browser gets the link token, but cannot finish Link: the browser arriving ends the session', async () => {
    const s = await start({}, { claim: false });
    const thief = await get(s);
    expect(thief.status).toBe(200);
    const browser = await get(s, s.path, { Cookie: 'plaidbal-other=1' });
    expect(browser.status).toBe(403);
    await expect(s.server.outcome).rejects.toBeInstanceOf(LinkPageSharedError);
    expect((await postCallback(s, successBody(), { Cookie: cookieOf(thief) })).status).toBe(409);
  });

  it('a callback or the presence stream without the cookie ends the session, whoever sends it', async () => {
    for (const request of [
      (s: Session) => postCallback(s, successBody(), { Cookie: '' }),
      (s: Session) => get(s, `${s.path}events`, { Cookie: 'plaidbal-1=x' }),
      (s: Session) => postCallback(s, successBody(), { Cookie: `plaidbal-${s.port}=${'A'.repeat(43)}` }),
    ]) {
      const s = await start();
      expect((await request(s)).status).toBe(403);
      await expect(s.server.outcome).rejects.toBeInstanceOf(LinkPageSharedError);
    }
  });
});
