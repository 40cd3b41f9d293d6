/**
 * The keychain helper: the short-lived process src/store/keychain.ts runs each native keychain
 * call in, so that a call that hangs can be SIGKILLed (see there for why).
 *
 * It reads one JSON request on stdin (the secret travels there, never in argv or the
 * environment) and writes one JSON reply on stdout. It is self-contained, Node builtins only and
 * no imports from src/, because it runs on its own: scripts/build.mjs bundles it to
 * dist/keychain-helper.mjs, and from source (the unit tests) Node runs this file as it is, with its
 * types stripped — so only erasable TypeScript here. The addon's path comes in the request.
 */
import { createRequire } from 'node:module';
import type * as Keyring from '@napi-rs/keyring';

export interface HelperRequest {
  op: 'probe' | 'get' | 'set' | 'delete';
  account: string;
  secret?: string;
}

/** What keychain.ts writes on the helper's stdin: the request, and where things are. */
export interface HelperInput extends HelperRequest {
  service: string;
  /** The resolved path of @napi-rs/keyring. */
  module: string;
}

export type HelperReply =
  | { ok: true; value?: string | boolean | null }
  | { ok: false; reason: 'unavailable' | 'locked' | 'no-collection' | 'failed'; message: string };

type FailureReason = Extract<HelperReply, { ok: false }>['reason'];

let secret = '';
const chunks: Buffer[] = [];

const reply = (r: HelperReply): void => {
  process.stdout.write(JSON.stringify(r));
};

/** napi-rs messages carry a Rust backtrace after the first line; keep the first line only. */
const describe = (e: unknown): string => {
  let m = String((e as { message?: unknown } | null)?.message || e)
    .split('\n')[0]!
    .trim();
  if (secret) m = m.split(secret).join('[redacted]');
  return m;
};

/**
 * Secret Service errors worth telling apart: a locked collection (gnome-keyring answers IsLocked,
 * or dismisses the unlock prompt when there is no display to show it on), and no default
 * collection to store into ("no result found").
 */
const failure = (e: unknown, otherwise: FailureReason): HelperReply => {
  const m = describe(e);
  if (/IsLocked|is locked|prompt was dismissed/i.test(m)) return { ok: false, reason: 'locked', message: m };
  if (/no result found/i.test(m)) return { ok: false, reason: 'no-collection', message: m };
  return { ok: false, reason: otherwise, message: m };
};

/**
 * Listing walks every entry of the service; one that another process deletes meanwhile makes the
 * listing fail ("Object does not exist", "No such interface ... on object at path"). That is a
 * stale listing, not a missing Secret Service: list again.
 */
const findAll = (kr: typeof Keyring, service: string): Keyring.Credential[] => {
  for (let attempt = 1; ; attempt++) {
    try {
      return kr.findCredentials(service);
    } catch (e) {
      if (attempt >= 8 || !/UnknownObject|UnknownMethod|does not exist|No such interface/i.test(describe(e))) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 * attempt);
    }
  }
};

const main = (req: HelperInput): void => {
  secret = typeof req.secret === 'string' ? req.secret : '';
  let kr: typeof Keyring;
  try {
    kr = createRequire(import.meta.url)(req.module) as typeof Keyring;
  } catch (e) {
    return reply({ ok: false, reason: 'unavailable', message: `cannot load @napi-rs/keyring: ${describe(e)}` });
  }
  const linux = process.platform === 'linux';
  let mine: Keyring.Credential[] = [];
  if (linux) {
    let all: Keyring.Credential[];
    try {
      all = findAll(kr, req.service);
    } catch (e) {
      return reply(failure(e, 'unavailable'));
    }
    mine = all.filter((c) => c.account === req.account);
  }
  if (req.op === 'probe') {
    if (!linux) new kr.Entry(req.service, 'plaidbal-probe').getPassword();
    return reply({ ok: true });
  }
  if (req.op === 'get') {
    if (!linux) return reply({ ok: true, value: new kr.Entry(req.service, req.account).getPassword() ?? null });
    if (mine.length === 0) return reply({ ok: true, value: null });
    if (new Set(mine.map((c) => c.password)).size > 1) {
      return reply({ ok: false, reason: 'failed', message: `the Secret Service holds ${mine.length} different entries for this account` });
    }
    return reply({ ok: true, value: mine[0]!.password });
  }
  if (req.op === 'set') {
    new kr.Entry(req.service, req.account).setPassword(secret);
    if (linux && !findAll(kr, req.service).some((c) => c.account === req.account && c.password === secret)) {
      return reply({ ok: false, reason: 'failed', message: 'the Secret Service did not keep the entry' });
    }
    return reply({ ok: true });
  }
  if (req.op === 'delete') {
    if (linux && mine.length === 0) return reply({ ok: true, value: false });
    return reply({ ok: true, value: new kr.Entry(req.service, req.account).deleteCredential() === true });
  }
  reply({ ok: false, reason: 'failed', message: 'unknown operation' });
};

process.stdin.on('data', (c: Buffer) => chunks.push(c));
process.stdin.on('end', () => {
  try {
    main(JSON.parse(Buffer.concat(chunks).toString('utf8')) as HelperInput);
  } catch (e) {
    reply(failure(e, 'failed'));
  }
});
