/**
 * The one-session loopback server behind `plaidbal link` (RFC 8252 style): it serves the
 * page that runs Plaid Link and takes back exactly one result.
 *
 * Defences, in the order a request meets them:
 * - bound to 127.0.0.1 on an OS-chosen port, for this session only;
 * - Host must be 127.0.0.1:<port> or localhost:<port>, which defeats DNS rebinding;
 * - the path must carry a 256-bit per-session secret, compared in constant time;
 * - the first client to GET the page claims the session: it gets a cookie (a second 256-bit
 *   secret), and every later request needs it. The path's secret is on the browser's command
 *   line while the browser starts (xdg-open, open), where any local user can read it
 *   (/proc/<pid>/cmdline); a request with that secret and without the cookie ends the session
 *   (LinkPageSharedError), so whoever comes second, the user or someone else, nobody can
 *   complete Link through it;
 * - the callback takes one same-origin JSON POST of at most 64 KiB, validated strictly.
 * No response carries CORS headers, so no other origin can read or preflight anything.
 *
 * No silent waits: a result the page posts but we refuse ends the session at once
 * (LinkCallbackRefusedError; only our own page can reach that far, through the secret path
 * and the same-origin checks). The page holds a presence stream (`events`, an EventSource)
 * open; when every page has gone for longer than a reload takes, the session ends with
 * LinkPageGoneError: Plaid documents that onExit does not fire when the tab is closed.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ENVIRONMENTS, type Environment } from '../types.js';
import { parseLinkCallback, type LinkOutcome } from './callback.js';
import { LINK_API_HOSTS, linkPageCsp, renderLinkPage, type LinkPageMode } from './page.js';

export type {
  LinkAccount,
  LinkExitError,
  LinkExitMetadata,
  LinkInstitution,
  LinkOutcome,
  LinkSuccessMetadata,
} from './callback.js';
export { LINK_API_HOSTS, PLAID_LINK_SCRIPT_URL } from './page.js';

export interface LinkPageOptions {
  /** The only credential that reaches the browser. Must be a `link-<environment>-` token. */
  linkToken: string;
  environment: Environment;
  /**
   * Plaid API origin for the page's CSP connect-src (Link's heartbeat). Defaults to the
   * environment's real host (LINK_API_HOSTS): Link in the browser talks to Plaid itself.
   */
  plaidHost?: string;
  /** The browser tab's title. */
  title?: string;
  mode?: LinkPageMode;
  /** How long no page may be connected before the session ends as closed (a reload fits easily). */
  pageGoneGraceMs?: number;
}

export interface LinkPageServer {
  /** http://127.0.0.1:<port>/<secret>/ */
  url: string;
  /**
   * Resolves with the first valid callback. Rejects with LinkPageClosedError if close()
   * comes first, LinkCallbackRefusedError when the page posted a result we refuse, and
   * LinkPageGoneError when the page was closed (those rejections are pre-handled, so
   * leaving `outcome` unawaited is safe).
   */
  outcome: Promise<LinkOutcome>;
  /** Idempotent. Drops every open connection, then frees the port. */
  close(): Promise<void>;
}

export class LinkPageClosedError extends Error {
  constructor() {
    super('The Link page was closed before Link reported a result');
    this.name = 'LinkPageClosedError';
  }
}

/** The page posted a result that failed validation: the session is over. */
export class LinkCallbackRefusedError extends Error {
  constructor(readonly reason: string) {
    super(`The Link page sent a result plaidbal cannot accept: ${reason}`);
    this.name = 'LinkCallbackRefusedError';
  }
}

/** Every open page went away (tab closed, browser quit) before Link reported a result. */
export class LinkPageGoneError extends Error {
  constructor() {
    super('The Link page was closed before Link reported a result');
    this.name = 'LinkPageGoneError';
  }
}

/**
 * A request carried the page's secret path but not the cookie of the client that opened the page
 * first: another browser or program has the URL (server.ts's header says how it can get it).
 */
export class LinkPageSharedError extends Error {
  constructor() {
    super('The Link page was opened by a second browser or program');
    this.name = 'LinkPageSharedError';
  }
}

export const DEFAULT_PAGE_GONE_GRACE_MS = 5_000;
/** A comment line on the presence stream now and then, so nothing on the way idles it out. */
const PRESENCE_KEEPALIVE_MS = 15_000;

export const MAX_CALLBACK_BYTES = 64 * 1024;
const LOOPBACK = '127.0.0.1';
const SECRET_BYTES = 32;

/** On every response. The page replaces the CSP with its own. */
const COMMON_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  // One request per connection: nothing lingers idle, and unread request bodies die with it.
  Connection: 'close',
} as const;

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  const payload = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(payload.length),
    ...headers,
  });
  res.end(payload); // Node drops the body itself for HEAD
}

function validateOptions(opts: LinkPageOptions): { plaidOrigin: string; title: string; mode: LinkPageMode; graceMs: number } {
  if (!ENVIRONMENTS.includes(opts.environment)) {
    throw new TypeError(`environment must be one of ${ENVIRONMENTS.join(', ')}`);
  }
  // Guards against handing the browser anything but a link token (an access token, say).
  if (!new RegExp(`^link-${opts.environment}-[A-Za-z0-9-]{1,200}$`).test(opts.linkToken)) {
    throw new TypeError(`linkToken must be a ${opts.environment} link token (link-${opts.environment}-…)`);
  }
  let host: URL;
  try {
    host = new URL(opts.plaidHost ?? LINK_API_HOSTS[opts.environment]);
  } catch {
    throw new TypeError('plaidHost must be a URL such as https://sandbox.plaid.com');
  }
  // It goes into the CSP verbatim, so only a bare origin is acceptable. Plain http only on
  // loopback, where a local emulator may stand in for Plaid.
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(host.hostname);
  if (
    !(host.protocol === 'https:' || (host.protocol === 'http:' && loopback)) ||
    host.username !== '' ||
    host.password !== '' ||
    host.pathname !== '/' ||
    host.search !== '' ||
    host.hash !== ''
  ) {
    throw new TypeError('plaidHost must be an https origin such as https://sandbox.plaid.com');
  }
  const mode = opts.mode ?? 'new';
  if (mode !== 'new' && mode !== 'update') throw new TypeError('mode must be "new" or "update"');
  const title = opts.title ?? (mode === 'update' ? 'plaidbal — reconnect an account' : 'plaidbal — link an account');
  if (typeof title !== 'string' || title.length > 200) throw new TypeError('title must be a string of at most 200 characters');
  const graceMs = opts.pageGoneGraceMs ?? DEFAULT_PAGE_GONE_GRACE_MS;
  if (!Number.isInteger(graceMs) || graceMs < 0) throw new TypeError('pageGoneGraceMs must be a non-negative integer');
  return { plaidOrigin: host.origin, title, mode, graceMs };
}

function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const [type = '', ...params] = value.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((p) => p === '' || p === 'charset=utf-8' || p === 'charset="utf-8"');
}

type BodyResult = { kind: 'body'; bytes: Buffer } | { kind: 'too-large' } | { kind: 'aborted' };

function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        req.pause();
        settle({ kind: 'too-large' });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => settle({ kind: 'body', bytes: Buffer.concat(chunks) }));
    req.on('error', () => settle({ kind: 'aborted' }));
    req.on('close', () => settle({ kind: 'aborted' }));
  });
}

export async function startLinkPage(opts: LinkPageOptions): Promise<LinkPageServer> {
  const { plaidOrigin, title, mode, graceMs } = validateOptions(opts);
  const { linkToken, environment } = opts;
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  const secretBytes = Buffer.from(secret, 'utf8');
  /** The cookie's value: given to the first client that opens the page, needed by every later request. */
  const session = Buffer.from(randomBytes(SECRET_BYTES).toString('base64url'), 'utf8');
  let claimed = false;

  let accepted: LinkOutcome | undefined;
  let resolveOutcome!: (outcome: LinkOutcome) => void;
  let rejectOutcome!: (error: Error) => void;
  const outcome = new Promise<LinkOutcome>((resolve, reject) => {
    resolveOutcome = resolve;
    rejectOutcome = reject;
  });
  // The caller may close() without ever awaiting the outcome; that must not crash the process.
  outcome.catch(() => {});

  const server = createServer({
    requestTimeout: 30_000,
    headersTimeout: 10_000,
    keepAliveTimeout: 1_000,
    maxHeaderSize: 16 * 1024,
  });
  let port = 0;
  let allowedHosts: ReadonlySet<string> = new Set();

  const equalsSecret = (candidate: string, expected: Buffer): boolean => {
    const bytes = Buffer.from(candidate, 'utf8');
    return bytes.length === expected.length && timingSafeEqual(bytes, expected);
  };
  const isSecret = (candidate: string): boolean => equalsSecret(candidate, secretBytes);
  /** Named after the port: cookies are per host, not per port, and another session may run beside this one. */
  const cookieName = () => `plaidbal-${port}`;
  const hasSessionCookie = (headers: IncomingHttpHeaders): boolean =>
    (headers.cookie ?? '').split(';').some((pair) => {
      const at = pair.indexOf('=');
      return at !== -1 && pair.slice(0, at).trim() === cookieName() && equalsSecret(pair.slice(at + 1).trim(), session);
    });

  /** 'page' for /<secret>/ (a query is ignored); 'callback' and 'events' for exactly /<secret>/<name>. */
  const route = (rawUrl: string | undefined): 'page' | 'callback' | 'events' | null => {
    if (rawUrl === undefined || !rawUrl.startsWith('/')) return null;
    const queryAt = rawUrl.indexOf('?');
    const path = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
    const segments = path.split('/'); // ['', secret, rest]
    if (segments.length !== 3 || !isSecret(segments[1] ?? '')) return null;
    if (segments[2] === '') return 'page';
    if (segments[2] === 'callback' && queryAt === -1) return 'callback';
    if (segments[2] === 'events' && queryAt === -1) return 'events';
    return null;
  };

  // Presence: the pages holding the event stream open. Once one has connected, none for
  // `graceMs` means the page was closed.
  const presence = new Set<ServerResponse>();
  let goneTimer: NodeJS.Timeout | undefined;
  let ended = false;
  const end = (error: Error): void => {
    if (ended || accepted !== undefined) return;
    ended = true;
    clearTimeout(goneTimer);
    rejectOutcome(error);
  };
  const streamPresence = (res: ServerResponse): void => {
    clearTimeout(goneTimer);
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8' });
    res.write(': plaidbal is waiting for Plaid Link\n\n');
    presence.add(res);
    const keepalive = setInterval(() => res.write(': waiting\n\n'), PRESENCE_KEEPALIVE_MS);
    keepalive.unref();
    res.once('close', () => {
      clearInterval(keepalive);
      presence.delete(res);
      if (presence.size > 0 || ended || accepted !== undefined) return;
      clearTimeout(goneTimer);
      goneTimer = setTimeout(() => end(new LinkPageGoneError()), graceMs);
      goneTimer.unref();
    });
  };

  /**
   * Same-origin means the Origin is this very Host over http. The page is opened at
   * 127.0.0.1; one opened first as localhost (a user retyping the URL) works the same way, its
   * posts carrying a matching Host and Origin. (Opened at one name after the other, it is a
   * second client: the session cookie belongs to the first name.) A page on one name posting to
   * the other is cross-origin, which a browser could only attempt after a preflight that we refuse.
   */
  const isSameOrigin = (headers: IncomingHttpHeaders): boolean => {
    const host = headers.host;
    if (host === undefined || !allowedHosts.has(host)) return false;
    if (headers.origin !== `http://${host}`) return false;
    const site = headers['sec-fetch-site'];
    return site === undefined || site === 'same-origin';
  };

  const servePage = (res: ServerResponse, headers: Record<string, string> = {}): void => {
    const nonce = randomBytes(16).toString('base64');
    send(res, 200, renderLinkPage({ nonce, linkToken, environment, title, mode }), {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': linkPageCsp(nonce, plaidOrigin),
      ...headers,
    });
  };

  /** A request with the secret path and without the first client's cookie: the URL is in other hands. */
  const shared = (res: ServerResponse): void => {
    end(new LinkPageSharedError());
    send(res, 403, 'This Link session is open in another browser, or another program has its address, so plaidbal has ended it. Run plaidbal link again, and open the page in one browser.\n');
  };

  const takeCallback = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > MAX_CALLBACK_BYTES) {
      res.once('close', () => end(new LinkCallbackRefusedError(`the result is larger than ${MAX_CALLBACK_BYTES} bytes`)));
      return send(res, 413, 'Payload too large\n');
    }
    const body = await readBody(req, MAX_CALLBACK_BYTES);
    if (body.kind === 'aborted') return;
    if (body.kind === 'too-large') {
      res.once('close', () => end(new LinkCallbackRefusedError(`the result is larger than ${MAX_CALLBACK_BYTES} bytes`)));
      return send(res, 413, 'Payload too large\n');
    }

    // Only our own page gets this far; a refusal ends the session once the page has its answer.
    const refuse = (status: number, reason: string): void => {
      if (accepted !== undefined) return send(res, 409, 'This Link session has already finished\n');
      res.once('close', () => end(new LinkCallbackRefusedError(reason)));
      send(res, status, `Invalid callback: ${reason}\n`);
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body.bytes));
    } catch {
      return refuse(400, 'body is not UTF-8 JSON');
    }
    const result = parseLinkCallback(parsed, environment);
    if (!result.ok) return refuse(400, result.reason);
    if (ended) return send(res, 409, 'This Link session has already finished\n');
    // Another post may have been accepted while this body was arriving.
    if (accepted !== undefined) return send(res, 409, 'This Link session has already finished\n');

    accepted = result.outcome;
    const value = accepted;
    // Settle only once the answer is on its way, so a caller that closes the server as
    // soon as the outcome arrives cannot cut the page's response short.
    res.once('close', () => resolveOutcome(value));
    send(res, 204, '');
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const host = req.headers.host;
    if (host === undefined || !allowedHosts.has(host)) return send(res, 421, 'Misdirected request\n');

    const target = route(req.url);
    if (target === null) return send(res, 404, 'Not found\n');

    if (target === 'page') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return send(res, 405, 'Method not allowed\n', { Allow: 'GET, HEAD' });
      }
      // A reload, or HEAD (no body, so no link token): no claim is made.
      if (hasSessionCookie(req.headers) || req.method === 'HEAD') return servePage(res);
      if (claimed) return shared(res);
      claimed = true;
      // HttpOnly: the page's scripts (and Link's) never see it. SameSite=Lax: no other site's
      // request carries it but a top-level navigation, which cannot know the secret path anyway;
      // Strict could leave it off a reload some browsers count as cross-site.
      return servePage(res, { 'Set-Cookie': `${cookieName()}=${session.toString('utf8')}; Path=/${secret}/; HttpOnly; SameSite=Lax` });
    }

    // Everything but the page belongs to the client that opened it.
    if (!hasSessionCookie(req.headers)) return shared(res);

    if (target === 'events') {
      if (req.method !== 'GET') return send(res, 405, 'Method not allowed\n', { Allow: 'GET' });
      // EventSource sends no Origin on a same-origin request; Sec-Fetch-Site says where it came from.
      const site = req.headers['sec-fetch-site'];
      if (site !== undefined && site !== 'same-origin') return send(res, 403, 'Forbidden\n');
      if (accepted !== undefined || ended) {
        // Said as an event, so the page (a reload, say) can tell "finished" from "plaidbal is gone".
        const payload = Buffer.from('event: finished\ndata: finished\n\n', 'utf8');
        res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', 'Content-Length': String(payload.length) });
        res.end(payload);
        return;
      }
      return streamPresence(res);
    }

    // OPTIONS lands here too: a CORS preflight gets a plain 405 without Access-Control-*.
    if (req.method !== 'POST') return send(res, 405, 'Method not allowed\n', { Allow: 'POST' });
    if (!isSameOrigin(req.headers)) return send(res, 403, 'Forbidden\n');
    if (!isJsonContentType(req.headers['content-type'])) {
      return send(res, 415, 'Content-Type must be application/json\n');
    }
    if (accepted !== undefined || ended) return send(res, 409, 'This Link session has already finished\n');
    takeCallback(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'Internal error\n');
    });
  });

  // Malformed requests: answer with the same no-store/nosniff headers rather than Node's bare default.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const status =
      error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large'
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout'
      : '400 Bad Request';
    socket.end(
      `HTTP/1.1 ${status}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n` +
        'Content-Length: 0\r\nConnection: close\r\n\r\n',
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => rejectOutcome(error));

  port = (server.address() as AddressInfo).port;
  allowedHosts = new Set([`${LOOPBACK}:${port}`, `localhost:${port}`]);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      clearTimeout(goneTimer);
      server.close(() => resolve());
      server.closeAllConnections();
      if (accepted !== undefined) resolveOutcome(accepted);
      else end(new LinkPageClosedError());
    });
    return closing;
  };

  return { url: `http://${LOOPBACK}:${port}/${secret}/`, outcome, close };
}
