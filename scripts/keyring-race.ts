/**
 * gnome-keyring-daemon's first-call race, measured: one process making Secret Service lookups one
 * after another, a new D-Bus connection each, against a private gnome-keyring started fresh for
 * each run (in a private D-Bus session and HOME, as in scripts/test.mjs).
 *
 *   npx tsx scripts/keyring-race.ts                    # 6 runs of 3000 lookups, both ways
 *   npx tsx scripts/keyring-race.ts --runs 3 --lookups 1000
 *
 * Two ways of looking up the same entry, alternating run by run:
 *   - plaidbal: src/store/secret-service.ts's lookupSecrets (Hello and SearchItems pipelined,
 *     SearchItems asked again on UnknownMethod, OpenSession after the search has answered);
 *   - open-session-first: Hello and OpenSession("plain") pipelined, as plaidbal did before
 *     f86a7ff and as go-keyring, zbus and libsecret clients do, then SearchItems and GetSecrets.
 * A run stops when the daemon exits. Per run it prints the lookups made, where the daemon aborted
 * (if it did), the searches gnome-keyring answered without a client record (its own
 * "gkd_secret_objects_handle_search_items: assertion 'session' failed" lines) and the lookups
 * that failed. See the top of src/store/secret-service.ts for the race itself.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BusConnection, lookupSecrets, sessionBusSockets } from '../src/store/secret-service.js';
import { capture, onPath, privateSessionEnv, startGnomeKeyring } from './private-keyring.mjs';

const SELF = fileURLToPath(import.meta.url);
const INNER = 'PLAIDBAL_KEYRING_RACE_DIR';
const PASSWORD = 'plaidbal-keyring-race';
const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const RUNS = option('--runs', 6);
const LOOKUPS = option('--lookups', 3000);

if (!process.env[INNER]) {
  if (process.platform !== 'linux' || !onPath('dbus-run-session') || !onPath('gnome-keyring-daemon')) {
    console.error('needs Linux with dbus-run-session and gnome-keyring-daemon (apt-get install -y gnome-keyring dbus-x11)');
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'plaidbal-keyring-race-'));
  const env = privateSessionEnv(dir, { ...process.env, [INNER]: dir });
  const child = spawn('dbus-run-session', ['--', process.execPath, ...process.execArgv, SELF, ...args], { env, stdio: 'inherit' });
  child.on('close', (code) => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(code ?? 1);
  });
} else {
  const addon = createRequire(import.meta.url).resolve('@napi-rs/keyring');
  const attributes = { service: 'plaidbal', username: 'keyring-race' };
  console.log(`| way | run | lookups | daemon aborted at | searches without a client record | failed lookups |`);
  console.log(`|---|---|---|---|---|---|`);
  for (let run = 1; run <= RUNS; run++) {
    for (const way of ['open-session-first', 'plaidbal'] as const) {
      const keyring = startGnomeKeyring(PASSWORD);
      const named = await keyring.waitForName();
      if (!named.ok) throw new Error(`gnome-keyring did not start: ${named.reason}`);
      let lookups = 0;
      let abortedAt: number | undefined;
      keyring.onEarlyExit(() => (abortedAt = lookups));
      const store = `new (require(${JSON.stringify(addon)}).Entry)('plaidbal', 'keyring-race', { linux: { store: 'secret-service' } }).setPassword('s3cret')`;
      const stored = await capture(process.execPath, ['-e', store], process.env, 10_000);
      if (stored.code !== 0) throw new Error(`could not store the entry: ${stored.stderr}`);
      let failed = 0;
      while (lookups < LOOKUPS && abortedAt === undefined) {
        lookups++;
        try {
          const secrets = way === 'plaidbal' ? await lookupSecrets(attributes, { env: process.env, timeoutMs: 5000 }) : await openSessionFirst(attributes);
          if (secrets[0] !== 's3cret') throw new Error(`read ${JSON.stringify(secrets)}`);
        } catch {
          failed++;
          // Give an abort the moment it takes to be seen, so the count stops where it happened.
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      const unregistered = (keyring.output().match(/gkd_secret_objects_handle_search_items: assertion 'session' failed/g) ?? []).length;
      console.log(`| ${way} | ${run} | ${lookups} | ${abortedAt ?? 'no'} | ${unregistered} | ${failed} |`);
      await keyring.stop();
    }
  }
}

/**
 * The lookup with OpenSession as the connection's first call: the reader's own connection
 * (BusConnection), with the calls in the order plaidbal sent them before f86a7ff.
 */
async function openSessionFirst(attributes: Record<string, string>): Promise<string[]> {
  const service = { destination: 'org.freedesktop.secrets', path: '/org/freedesktop/secrets', iface: 'org.freedesktop.Secret.Service' };
  const bus = new BusConnection(5000);
  try {
    await bus.connect(sessionBusSockets(process.env));
    const authenticated = bus.authenticate();
    const hello = bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', iface: 'org.freedesktop.DBus', member: 'Hello', reply: 's' });
    const session = bus.call({ ...service, member: 'OpenSession', signature: 'sv', body: ['plain', ['s', '']], reply: 'vo' });
    const search = bus.call({ ...service, member: 'SearchItems', signature: 'a{ss}', body: [Object.entries(attributes)], reply: 'aoao' });
    await authenticated;
    await hello;
    const [, sessionPath] = (await session) as [unknown, string];
    const [unlocked] = (await search) as [string[]];
    const [found] = (await bus.call({ ...service, member: 'GetSecrets', signature: 'aoo', body: [unlocked, sessionPath], reply: 'a{o(oayays)}' })) as [Array<[string, [string, Buffer, Buffer, string]]>];
    return found.map(([, [, , value]]) => value.toString('utf8'));
  } finally {
    bus.close();
  }
}
