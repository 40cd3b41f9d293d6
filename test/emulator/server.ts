/**
 * The HTTP side of the emulator: node:http on 127.0.0.1, body parsing, credentials, routing,
 * the request log, latency and fault injection. Plaid's behaviour lives in routes.ts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PlaidApiError, errorCodeForStatus, missingFields, plaidError } from './errors.js';
import { hostedLinkPage, isHostedLinkPath } from './hosted-link.js';
import { newRequestId } from './ids.js';
import { ROUTES, completeLinkSession, startLinkSession, type RouteContext } from './routes.js';
import { EmulatorState } from './state.js';
import { userGoodAccounts, DEFAULT_INSTITUTION, SANDBOX_INSTITUTIONS } from './fixtures.js';
import { logNormalSampler } from './plaid-like.js';
import type { Competition, Emulator, EmulatorOptions, Fault, FaultKind, LatencyModel, RateLimits, RecordedRequest } from './types.js';
import type { PlaidErrorTypeName } from './wire.js';

export const TEST_CLIENT_ID = 'test_client_id';
export const TEST_SECRET = 'test_sandbox_secret';
export const PLAID_VERSION = '2020-09-14';
export const SANDBOX_RATE_LIMITS: RateLimits = { perItem: 25, perClient: 100, windowMs: 60_000 };

interface ActiveFault extends Fault {
  remaining: number;
}

interface Reply {
  status: number;
  body: string;
  contentType: string;
  /** What the log shows as the response. */
  logged: unknown;
  /** How the connection ends instead of a normal response. */
  ending?: 'hang' | 'reset' | 'truncate';
}

const log = (line: string) => process.stderr.write(`[plaid-emulator] ${line}\n`);

const jsonReply = (status: number, payload: Record<string, unknown>): Reply => ({
  status,
  body: JSON.stringify(payload),
  contentType: 'application/json; charset=utf-8',
  logged: payload,
});

function errorReply(error: PlaidApiError): Reply {
  return jsonReply(error.status, { ...error.body, request_id: newRequestId() });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function faultReply(fault: Fault): Reply {
  const kind = fault.kind ?? 'error';
  switch (kind) {
    case 'error': {
      const code = fault.error_code ?? errorCodeForStatus(fault.status ?? 500);
      return errorReply(faultError(fault, code));
    }
    case 'malformed-json': {
      const body = `{"accounts":[{"account_id":"${newRequestId()}","balances":{"available":1`;
      return { status: fault.status ?? 200, body, contentType: 'application/json; charset=utf-8', logged: body };
    }
    case 'truncated': {
      const body = JSON.stringify({ accounts: [], item: null, request_id: newRequestId() });
      return { status: fault.status ?? 200, body, contentType: 'application/json; charset=utf-8', logged: body, ending: 'truncate' };
    }
    case 'wrong-content-type': {
      const status = fault.status ?? 502;
      const body = `<html><head><title>${status} Bad Gateway</title></head><body><center><h1>${status} Bad Gateway</h1></center></body></html>`;
      return { status, body, contentType: 'text/html', logged: body };
    }
    case 'hang':
      return { status: 0, body: '', contentType: '', logged: undefined, ending: 'hang' };
    case 'reset':
    case 'keep-alive-race':
      return { status: 0, body: '', contentType: '', logged: undefined, ending: 'reset' };
  }
}

function faultError(fault: Fault, code: string): PlaidApiError {
  return plaidError(code, {
    ...(fault.status !== undefined ? { status: fault.status } : {}),
    ...(fault.error_type !== undefined ? { error_type: fault.error_type as PlaidErrorTypeName } : {}),
    ...(fault.error_message !== undefined ? { error_message: fault.error_message } : {}),
    ...(fault.display_message !== undefined ? { display_message: fault.display_message } : {}),
  });
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const clientId = opts.clientId ?? TEST_CLIENT_ID;
  const secret = opts.secret ?? TEST_SECRET;
  const environment = opts.environment ?? 'sandbox';
  const rateLimits: RateLimits = { ...SANDBOX_RATE_LIMITS, ...opts.rateLimits };
  const state = new EmulatorState(environment, opts.clock ?? Date.now);
  const requests: RecordedRequest[] = [];
  const faults: ActiveFault[] = [];
  const pathLatency = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  /** Requests read so far on each connection. */
  const requestsServed = new WeakMap<Socket, number>();
  const warnedVersions = new Set<string>();
  let latencyMs = opts.latencyMs ?? 0;
  const itemLatency = new Map<string, number>();
  /** Per path, the requests received and not yet answered (RecordedRequest.concurrent). */
  const unanswered = new Map<string, number>();
  /** holdNext's, per path, first come first held. */
  const holds = new Map<string, { arrive: (record: RecordedRequest) => void; released: Promise<void> }[]>();
  /** Every hold's release, run when the emulator closes, so that no answer is left waiting. */
  const releases: (() => void)[] = [];
  let model: { paths: Set<string>; sample: () => number } | null = null;
  const setModel = (m: LatencyModel | null | undefined) => {
    model = m ? { paths: new Set(m.paths ?? ['/accounts/balance/get']), sample: logNormalSampler(m) } : null;
  };
  setModel(opts.latencyModel);
  let origin = '';

  const sleep = (ms: number) =>
    ms <= 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            resolve();
          }, ms);
          timers.add(timer);
        });

  function takeFault(path: string): ActiveFault | undefined {
    const fault = faults.find((f) => f.path === path && f.remaining > 0);
    if (fault) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) faults.splice(faults.indexOf(fault), 1);
    }
    return fault;
  }

  /** Plaid's own processing: route, body, credentials, fields, then the endpoint. */
  function answer(req: IncomingMessage, path: string, raw: string, parsed: unknown): Reply {
    const route = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
    if (!route || req.method !== 'POST' || (route.sandboxOnly && environment !== 'sandbox')) {
      log(`UNKNOWN ENDPOINT ${req.method} ${path}: answering 404 NOT_FOUND (Plaid has no such ${environment} endpoint)`);
      return errorReply(plaidError('NOT_FOUND'));
    }
    const contentType = header(req, 'content-type') ?? '';
    if (!/^application\/json\s*(;|$)/i.test(contentType) || raw.length === 0 || typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return errorReply(plaidError('INVALID_BODY'));
    }
    const body = parsed as Record<string, unknown>;

    const version = header(req, 'plaid-version');
    if (version !== PLAID_VERSION && !warnedVersions.has(String(version))) {
      warnedVersions.add(String(version));
      log(`request without Plaid-Version: ${PLAID_VERSION} (got ${version ?? 'none'}); the emulator only speaks ${PLAID_VERSION}`);
    }

    const sentClientId = header(req, 'plaid-client-id') ?? (typeof body.client_id === 'string' ? body.client_id : undefined);
    const sentSecret = header(req, 'plaid-secret') ?? (typeof body.secret === 'string' ? body.secret : undefined);
    const missing = [...(sentClientId ? [] : ['client_id']), ...(sentSecret ? [] : ['secret'])];
    if (missing.length > 0) return errorReply(missingFields(missing));
    if (sentClientId !== clientId || sentSecret !== secret) return errorReply(plaidError('INVALID_API_KEYS'));

    const unknown = Object.keys(body).filter((field) => !route.fields.includes(field));
    if (unknown.length > 0) return errorReply(plaidError('UNKNOWN_FIELDS', { params: { fields: unknown.join(', ') } }));

    const requestId = newRequestId();
    const ctx: RouteContext = { state, origin, clientId, rateLimits, redirectUris: opts.redirectUris ?? null, requestId };
    try {
      return jsonReply(200, { ...route.handle(body, ctx), request_id: requestId });
    } catch (error) {
      if (error instanceof PlaidApiError) return errorReply(error);
      log(`BUG in ${path}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return errorReply(plaidError('INTERNAL_SERVER_ERROR'));
    }
  }

  function send(res: ServerResponse, reply: Reply): void {
    if (reply.ending === 'hang') return;
    if (reply.ending === 'reset') {
      res.socket?.resetAndDestroy();
      return;
    }
    const bytes = Buffer.from(reply.body, 'utf8');
    // Plaid's Date header, from the emulator's clock (so a test can set Plaid's time apart from this machine's).
    res.writeHead(reply.status, { 'Content-Type': reply.contentType, 'Content-Length': bytes.length, Date: new Date(state.clock()).toUTCString() });
    if (reply.ending === 'truncate') {
      // Promise the whole body, deliver half, then drop the connection.
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.socket?.destroy());
      return;
    }
    res.end(bytes);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = state.clock();
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const raw = await readBody(req);

    if (isHostedLinkPath(path)) {
      const page = hostedLinkPage(state, req.method ?? 'GET', path, raw);
      res.writeHead(page.status, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(page.html);
      return;
    }

    let parsed: unknown;
    try {
      parsed = raw.length > 0 ? JSON.parse(raw) : undefined;
    } catch {
      parsed = raw;
    }
    const headers = { ...req.headers };
    const served = requestsServed.get(req.socket) ?? 0;
    requestsServed.set(req.socket, served + 1);
    const concurrent = (unanswered.get(path) ?? 0) + 1;
    unanswered.set(path, concurrent);
    let answered = false;
    const settle = () => {
      if (answered) return;
      answered = true;
      unanswered.set(path, unanswered.get(path)! - 1);
    };
    // A hang is answered never: it counts until the caller gives up (and a request whose handling failed, until its 500).
    res.once('close', settle);
    const record: RecordedRequest = { method: req.method ?? '', path, headers, body: parsed, status: 0, response: undefined, at, concurrent, reusedConnection: served > 0 };
    requests.push(record);

    const taken = takeFault(path);
    // A keep-alive race needs a connection that was idle after an earlier request (types.ts).
    const fault = taken?.kind === 'keep-alive-race' && !record.reusedConnection ? undefined : taken;
    const token = typeof parsed === 'object' && parsed !== null ? (parsed as { access_token?: unknown }).access_token : undefined;
    const itemId = typeof token === 'string' && itemLatency.size > 0 ? state.itemIdForToken(token) : undefined;
    const delay =
      latencyMs +
      (pathLatency.get(path) ?? 0) +
      (fault?.latencyMs ?? 0) +
      (itemId ? (itemLatency.get(itemId) ?? 0) : 0) +
      (model?.paths.has(path) ? model.sample() : 0);
    const reply = fault ? faultReply(fault) : answer(req, path, raw, typeof parsed === 'string' ? undefined : parsed);
    if (fault) record.fault = fault.kind ?? ('error' satisfies FaultKind);
    record.status = reply.status;
    record.response = reply.logged;
    opts.onAnswered?.(record);
    if (reply.ending === 'hang') opts.onRequest?.(record);
    const hold = holds.get(path)?.shift();
    if (hold) {
      hold.arrive(record);
      await hold.released;
    }
    await sleep(delay);
    send(res, reply);
    // Answered: before the caller can send its next request, which a 'close' could come after.
    if (reply.ending !== 'hang') settle();
    if (reply.ending !== 'hang') opts.onRequest?.(record);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`BUG: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let closed: Promise<void> | undefined;
  return {
    url: origin,
    requests,
    inject(fault: Fault): void {
      const times = fault.times ?? 1;
      if (!(times > 0)) throw new Error(`Plaid emulator: fault.times must be positive (got ${times})`);
      if (!fault.path.startsWith('/')) throw new Error(`Plaid emulator: fault.path must be a path such as /accounts/balance/get (got ${fault.path})`);
      // Build the error once now, so a fault the table cannot express fails here rather than mid-test.
      if ((fault.kind ?? 'error') === 'error') faultError(fault, fault.error_code ?? errorCodeForStatus(fault.status ?? 500));
      faults.push({ ...fault, remaining: times });
    },
    setLatency(ms: number, path?: string): void {
      if (path === undefined) latencyMs = ms;
      else pathLatency.set(path, ms);
    },
    setItemLatency(itemIdOrAccessToken: string, ms: number): void {
      const itemId = state.findItem(itemIdOrAccessToken).item_id;
      if (ms > 0) itemLatency.set(itemId, ms);
      else itemLatency.delete(itemId);
    },
    setLatencyModel: setModel,
    holdNext(path: string) {
      let arrive!: (record: RecordedRequest) => void;
      const arrived = new Promise<RecordedRequest>((resolve) => (arrive = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const queue = holds.get(path) ?? [];
      queue.push({ arrive, released });
      holds.set(path, queue);
      releases.push(release);
      return { arrived, release };
    },
    createItem(init = {}) {
      const institution = SANDBOX_INSTITUTIONS.get(init.institution_id ?? DEFAULT_INSTITUTION);
      if (!institution) throw new Error(`Plaid emulator: no institution ${init.institution_id}`);
      const item = state.createItem({ institution_id: institution.institution_id, institution_name: institution.name, products: ['auth'], webhook: null, accounts: userGoodAccounts(), username: 'user_good' });
      return state.snapshot(item);
    },
    compete({ perMinute, backfill = true }) {
      // The same window key as the route's (routes.ts, accountsBalanceGet).
      const key = `balance:client:${clientId}`;
      const result: Competition = { served: 0, rateLimited: 0 };
      const every = 60_000 / perMinute;
      if (backfill) {
        // As if it had been running for a whole window already: its calls spread over the window.
        const now = state.clock();
        for (let at = now - every; at > now - rateLimits.windowMs; at -= every) state.consume(key, at);
      }
      const timer = setInterval(() => {
        if (state.allows(key, rateLimits.perClient, rateLimits.windowMs)) {
          state.consume(key);
          result.served += 1;
        } else {
          result.rateLimited += 1;
        }
      }, every);
      timers.add(timer as unknown as NodeJS.Timeout);
      return {
        stop() {
          clearInterval(timer);
          return { ...result };
        },
      };
    },
    clearFaults(): void {
      faults.length = 0;
    },
    items: () => [...state.items.values()].map((item) => state.snapshot(item)),
    setAccounts: (itemIdOrAccessToken, accounts) => state.setAccounts(itemIdOrAccessToken, accounts),
    setBalances: (itemIdOrAccessToken, accountId, balances) => state.setBalances(itemIdOrAccessToken, accountId, balances),
    startLinkSession: (linkToken) => startLinkSession(state, linkToken),
    completeLinkSession: (linkToken, completeOpts) => completeLinkSession(state, linkToken, completeOpts),
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const release of releases.splice(0)) release();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
