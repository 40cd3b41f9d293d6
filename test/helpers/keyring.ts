/**
 * Secret Service fixtures for keychain tests on Linux: a check that one answers, a D-Bus
 * address that hangs, an environment without D-Bus, and private buses (with or without
 * gnome-keyring) for the cases that must not disturb the suite's shared keyring.
 *
 * scripts/test.mjs gives the whole suite a private gnome-keyring; these helpers only look
 * at it, they never set it up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUITE_KEYCHAIN_TIMEOUT_MS } from './cli.js';

/** The Debian packages that provide a Secret Service for the tests (dbus-x11 avoids pulling in systemd). */
export const SECRET_SERVICE_PACKAGES = 'gnome-keyring dbus-x11';

export const NO_SECRET_SERVICE_MESSAGE =
  'No Secret Service answered on the D-Bus session bus, so the OS keychain cannot be tested. ' +
  `Install the packages (apt-get install -y --no-install-recommends ${SECRET_SERVICE_PACKAGES}) ` +
  'and run the suite through `npm test` / `node scripts/test.mjs`, which starts a private gnome-keyring.';

type Env = NodeJS.ProcessEnv;

const keyringModule = () => createRequire(import.meta.url).resolve('@napi-rs/keyring');

/**
 * Whether a Secret Service answers for `env`, asked in a child process so that a hung bus
 * cannot hang the test (see src/store/keychain.ts). Deliberately independent of that module.
 */
export async function secretServiceAvailable(env: Env = process.env, timeoutMs = SUITE_KEYCHAIN_TIMEOUT_MS): Promise<boolean> {
  if (process.platform !== 'linux') return false;
  const script = `require(${JSON.stringify(keyringModule())}).findCredentials('plaidbal-test-probe')`;
  const result = await runQuietly(process.execPath, ['-e', script], { env, timeoutMs });
  return result.code === 0;
}

/**
 * The accounts of every `service` entry in the Secret Service that `env` leads to, sorted,
 * read in a child process so that a hung bus cannot hang the test. Throws when none answers.
 */
export async function keychainAccounts(env: Env, service = 'plaidbal', timeoutMs = SUITE_KEYCHAIN_TIMEOUT_MS): Promise<string[]> {
  const script = `process.stdout.write(JSON.stringify(require(${JSON.stringify(keyringModule())}).findCredentials(${JSON.stringify(service)}).map((c) => c.account)))`;
  const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  if (out.code !== 0) throw new Error(`could not list the keychain (exit ${out.code}): ${out.stderr.trim()}. ${NO_SECRET_SERVICE_MESSAGE}`);
  return (JSON.parse(out.stdout) as string[]).sort();
}

/** `env` without anything that leads a D-Bus client to a session bus. */
export function noDbusEnv(env: Env = process.env): Env {
  const copy: Env = { ...env };
  for (const name of Object.keys(copy)) {
    if (name.startsWith('DBUS_')) delete copy[name];
  }
  // With DBUS_SESSION_BUS_ADDRESS unset, clients also try $XDG_RUNTIME_DIR/bus (zbus, libdbus)
  // and X11 autolaunch (libdbus, when DISPLAY is set).
  delete copy.XDG_RUNTIME_DIR;
  delete copy.DISPLAY;
  return copy;
}

export interface SocketServer {
  /** A DBUS_SESSION_BUS_ADDRESS value for the socket. */
  address: string;
  /** Connections currently open: drops back to 0 once the clients are gone. */
  openConnections(): number;
  close(): Promise<void>;
}

/**
 * A unix socket in a temporary directory, each connection handed to `serve`: the ground for the
 * stand-in buses below and in test/unit/secret-service.test.ts. `close` drops every connection,
 * closes the server and removes the directory.
 */
export async function unixSocketServer(prefix: string, serve: (socket: Socket) => void): Promise<SocketServer> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const path = join(dir, 'bus');
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    serve(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return {
    address: `unix:path=${path}`,
    openConnections: () => sockets.size,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A unix socket that accepts connections and never replies: a D-Bus client sends its AUTH
 * line and then waits forever, like a Secret Service whose bus has hung.
 */
export function hungDbusAddress(): Promise<SocketServer> {
  return unixSocketServer('plaidbal-hung-dbus-', (socket) => socket.resume()); // read and drop whatever the client says
}

export interface PrivateBus {
  /** The environment for clients of this bus (private HOME and XDG directories included). */
  env: Env;
  /** Locks the gnome-keyring "login" collection (only with `secretService: true`). */
  lock(): Promise<void>;
  /**
   * How often the private gnome-keyring has exited on its own so far, each with its exit code or
   * signal and the last of its output (only with `secretService: true`).
   */
  keyringExits(): string[];
  /**
   * Starts the private gnome-keyring again, unlocked with the same password, after it exited on its
   * own; it reads the "login" collection back from the private HOME (only with `secretService: true`).
   */
  restartKeyring(): Promise<void>;
  close(): Promise<void>;
}

const PASSWORD = 'plaidbal-test-keyring';

/**
 * A D-Bus session of its own, with service activation switched off: with `secretService`
 * it runs a gnome-keyring whose unlocked "login" collection lives in a temporary HOME,
 * without it nothing owns org.freedesktop.secrets. Throws, naming the packages, when the
 * programs are missing.
 */
export async function startPrivateBus(opts: { secretService: boolean }): Promise<PrivateBus> {
  const dir = await mkdtemp(join(tmpdir(), 'plaidbal-bus-'));
  const runtime = join(dir, 'run');
  await mkdir(runtime, { mode: 0o700 });
  const socket = join(dir, 'bus');
  const config = join(dir, 'bus.conf');
  // No <standard_session_servicedirs/>: nothing is started on demand, so "no Secret Service" stays so.
  await writeFile(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
  );
  const privateEnv: Env = {
    ...noDbusEnv(process.env),
    HOME: dir,
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    XDG_RUNTIME_DIR: runtime,
  };
  const children: ChildProcess[] = [];
  const close = async () => {
    await Promise.all(children.reverse().map(stopChild));
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const bus = spawnOrExplain('dbus-daemon', [`--config-file=${config}`, '--nofork', '--print-address'], privateEnv, ['ignore', 'pipe', 'pipe']);
    children.push(bus);
    const address = (await firstLine(bus, 5000)).trim();
    const env: Env = { ...privateEnv, DBUS_SESSION_BUS_ADDRESS: address };

    const exits: string[] = [];
    let closing = false;
    const startKeyring = async () => {
      const keyring = spawnOrExplain('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], env, ['pipe', 'ignore', 'pipe']);
      children.push(keyring);
      keyring.stdin?.on('error', () => {}).end(PASSWORD);
      let stderr = '';
      keyring.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      // gnome-keyring 42 aborts when it handles a new connection's OpenSession before it has
      // registered that client, about once in 800 connections (docs/benchmarks.md, "gnome-keyring's
      // first-call race"): a test that drives it hard can see it go.
      keyring.once('exit', (code, signal) => {
        if (!closing) exits.push(`gnome-keyring-daemon (pid ${keyring.pid}) exited (${signal ?? `code ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' / ')}`);
      });
      const died = new Promise<never>((_, reject) => {
        keyring.once('error', (error) => reject(new Error(`could not start gnome-keyring-daemon: ${error.message}. ${NO_SECRET_SERVICE_MESSAGE}`)));
        keyring.once('exit', (code) => reject(new Error(`gnome-keyring-daemon exited with code ${code}: ${stderr.trim()}`)));
      });
      died.catch(() => {}); // only the race below reports it
      await Promise.race([waitFor(() => secretServiceAvailable(env, 2000), 10_000, 'the private gnome-keyring did not come up'), died]);
    };
    if (opts.secretService) await startKeyring();

    return {
      env,
      keyringExits: () => [...exits],
      async restartKeyring() {
        if (!opts.secretService) throw new Error('this bus has no Secret Service to restart');
        await startKeyring();
      },
      async lock() {
        if (!opts.secretService) throw new Error('this bus has no Secret Service to lock');
        const result = await runQuietly(
          'dbus-send',
          ['--session', '--print-reply', '--dest=org.freedesktop.secrets', '/org/freedesktop/secrets', 'org.freedesktop.Secret.Service.Lock', 'array:objpath:/org/freedesktop/secrets/collection/login'],
          { env, timeoutMs: SUITE_KEYCHAIN_TIMEOUT_MS },
        );
        if (result.code !== 0) throw new Error(`dbus-send Lock failed: ${result.stderr.trim()}`);
      },
      async close() {
        closing = true;
        await close();
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}

function spawnOrExplain(command: string, args: string[], env: Env, stdio: ('pipe' | 'ignore')[]): ChildProcess {
  const child = spawn(command, args, { env, stdio: stdio as ['pipe', 'pipe', 'pipe'] });
  child.on('error', () => {}); // reported through firstLine/waitFor, with the package hint
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(timer);
}

function firstLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`${why}. ${NO_SECRET_SERVICE_MESSAGE}`));
    };
    const timer = setTimeout(() => fail(`dbus-daemon printed no address within ${timeoutMs} ms (${err.trim()})`), timeoutMs);
    child.once('error', (error) => fail(`could not start dbus-daemon: ${error.message}`));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const newline = out.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, newline));
      }
    });
    child.once('exit', (code) => fail(`dbus-daemon exited with code ${code} (${err.trim()})`));
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} within ${timeoutMs} ms. ${NO_SECRET_SERVICE_MESSAGE}`);
}

function runQuietly(command: string, args: string[], opts: { env: Env; timeoutMs: number }): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: opts.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, stderr: error.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}
