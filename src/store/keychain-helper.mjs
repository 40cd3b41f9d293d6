// @ts-check
/**
 * The keychain helper: the short-lived process src/store/keychain.ts runs each native keychain
 * call in, so that a call that hangs can be SIGKILLed (see there for why).
 *
 * It reads one JSON request on stdin (the secret travels there, never in argv or the
 * environment) and writes one JSON reply on stdout. It is self-contained, Node builtins only and
 * no imports from src/, because it runs on its own: scripts/build.mjs bundles it to
 * dist/keychain-helper.mjs, and from source (the tests) Node runs this file as it is.
 *
 * JavaScript, type-checked by tsc from its JSDoc (`// @ts-check`), rather than TypeScript: Node
 * runs it as it is on every supported line. From a .ts file, Node 22 first loads its type
 * stripper in every helper process (its cost: docs/benchmarks.md, "Figures behind the code"), and
 * the suite starts many of them.
 */
import { createRequire } from 'node:module';

/** @typedef {typeof import('@napi-rs/keyring')} Keyring */

/**
 * @typedef {object} HelperRequest
 * @property {'probe' | 'get' | 'set' | 'delete'} op
 * @property {string} account
 * @property {string} [secret]
 */

/**
 * What keychain.ts writes on the helper's stdin: the request, and where things are.
 * @typedef {HelperRequest & { service: string, module: string }} HelperInput `module`: the resolved path of @napi-rs/keyring.
 */

/**
 * @typedef {{ ok: true, value?: string | boolean | null }
 *   | { ok: false, reason: 'unavailable' | 'locked' | 'no-collection' | 'failed', message: string }} HelperReply
 */

/** @typedef {Extract<HelperReply, { ok: false }>['reason']} FailureReason */

let secret = '';
/** @type {Buffer[]} */
const chunks = [];

/** @param {HelperReply} r */
const reply = (r) => {
  process.stdout.write(JSON.stringify(r));
};

/**
 * napi-rs messages carry a Rust backtrace after the first line; keep the first line only.
 * @param {unknown} e
 * @returns {string}
 */
const describe = (e) => {
  let m = String(/** @type {{ message?: unknown } | null} */ (e)?.message || e)
    .split('\n')[0]
    ?.trim() ?? '';
  if (secret) m = m.split(secret).join('[redacted]');
  return m;
};

/**
 * Secret Service errors worth telling apart: a locked collection (gnome-keyring answers IsLocked,
 * or dismisses the unlock prompt when there is no display to show it on), and no default
 * collection to store into ("no result found").
 * @param {unknown} e
 * @param {FailureReason} otherwise
 * @returns {HelperReply}
 */
const failure = (e, otherwise) => {
  const m = describe(e);
  if (/IsLocked|is locked|prompt was dismissed/i.test(m)) return { ok: false, reason: 'locked', message: m };
  if (/no result found/i.test(m)) return { ok: false, reason: 'no-collection', message: m };
  return { ok: false, reason: otherwise, message: m };
};

/**
 * Listing walks every entry of the service; one that another process deletes meanwhile makes the
 * listing fail ("Object does not exist", "No such interface ... on object at path"). That is a
 * stale listing, not a missing Secret Service: list again. Still so with @napi-rs/keyring 2.1.2:
 * listing in a loop while another process set and deleted entries failed 58 times in 133.
 * @param {Keyring} kr
 * @param {string} service
 * @returns {import('@napi-rs/keyring').Credential[]}
 */
const findAll = (kr, service) => {
  for (let attempt = 1; ; attempt++) {
    try {
      return kr.findCredentials(service);
    } catch (e) {
      if (attempt >= 8 || !/UnknownObject|UnknownMethod|does not exist|No such interface/i.test(describe(e))) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 * attempt);
    }
  }
};

/**
 * On Linux every entry is pinned to the Secret Service: left to itself @napi-rs/keyring falls back to
 * the kernel keyring (keyutils) when no Secret Service answers, a store in memory that is lost at
 * reboot, and every sealed secret with it. Pinned, it throws instead.
 * @type {import('@napi-rs/keyring').EntryOptions}
 */
const ENTRY_OPTIONS = { linux: { store: 'secret-service' } };

/** @param {HelperInput} req */
const main = (req) => {
  secret = typeof req.secret === 'string' ? req.secret : '';
  /** @type {Keyring} */
  let kr;
  try {
    kr = createRequire(import.meta.url)(req.module);
  } catch (e) {
    return reply({ ok: false, reason: 'unavailable', message: `cannot load @napi-rs/keyring: ${describe(e)}` });
  }
  const linux = process.platform === 'linux';
  /** @type {import('@napi-rs/keyring').Entry} */
  let entry;
  try {
    entry = new kr.Entry(req.service, req.op === 'probe' ? 'plaidbal-probe' : req.account, ENTRY_OPTIONS);
  } catch (e) {
    // On Linux: no D-Bus, or nothing provides the Secret Service.
    return reply(failure(e, linux ? 'unavailable' : 'failed'));
  }
  if (req.op === 'probe') {
    // Listing plaidbal's entries reads them, so it reports a locked collection that holds any;
    // reading the (absent) probe entry alone would not.
    try {
      if (linux) findAll(kr, req.service);
      else entry.getPassword();
    } catch (e) {
      return reply(failure(e, linux ? 'unavailable' : 'failed'));
    }
    return reply({ ok: true });
  }
  // @napi-rs/keyring 2 throws on a locked collection (1.x answered null and false, as if the
  // entry were absent), and with an Ambiguous error when several entries match.
  if (req.op === 'get') return reply({ ok: true, value: entry.getPassword() ?? null });
  if (req.op === 'set') {
    // Pinned to the Secret Service, a write that does not land there throws: no read-back needed.
    entry.setPassword(secret);
    return reply({ ok: true });
  }
  if (req.op === 'delete') return reply({ ok: true, value: entry.deleteCredential() === true });
  reply({ ok: false, reason: 'failed', message: 'unknown operation' });
};

process.stdin.on('data', (/** @type {Buffer} */ c) => chunks.push(c));
process.stdin.on('end', () => {
  try {
    main(/** @type {HelperInput} */ (JSON.parse(Buffer.concat(chunks).toString('utf8'))));
  } catch (e) {
    reply(failure(e, 'failed'));
  }
});
