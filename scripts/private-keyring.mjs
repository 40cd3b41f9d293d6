// A private D-Bus session with its own gnome-keyring, for scripts/test.mjs and scripts/bench.ts.
// Both re-execute themselves under `dbus-run-session` with a private HOME, so the developer's
// own keyring and session bus are never touched, and start an unlocked gnome-keyring there.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Whether `program` is an executable on PATH. */
export function onPath(program) {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .some((dir) => {
      try {
        accessSync(join(dir, program), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

/**
 * `env` for running under `dbus-run-session` with its files in `dir`: no inherited D-Bus address
 * (dbus-run-session sets its own), and HOME and the XDG directories inside `dir` (created). The
 * bus, and anything it starts on demand, get the private HOME too: a gnome-keyring started by
 * activation would otherwise open the developer's keyring files.
 */
export function privateSessionEnv(dir, env) {
  const copy = { ...env };
  for (const name of Object.keys(copy)) if (name.startsWith('DBUS_')) delete copy[name];
  Object.assign(copy, {
    HOME: join(dir, 'home'),
    XDG_DATA_HOME: join(dir, 'home', '.local', 'share'),
    XDG_CONFIG_HOME: join(dir, 'home', '.config'),
    XDG_CACHE_HOME: join(dir, 'home', '.cache'),
    XDG_RUNTIME_DIR: join(dir, 'run'),
  });
  mkdirSync(copy.XDG_DATA_HOME, { recursive: true });
  mkdirSync(copy.XDG_RUNTIME_DIR, { mode: 0o700 });
  return copy;
}

/**
 * Arguments for `dbus-run-session` that make the private bus restart a crashed gnome-keyring
 * *unlocked*. gnome-keyring-daemon can abort mid-run (an upstream bug: an OpenSession it
 * dispatches before registering the caller; see src/store/secret-service.ts). The bus then starts
 * a new one on demand from the system's org.freedesktop.secrets.service, whose "login"
 * collection is locked and asks for a password no one can type, and every keychain call after
 * that fails. This config lists a service directory in `dir` first (the first listed wins), with
 * a service file that starts the daemon with `--unlock` and the same password, read from a
 * 0600 file there; the rest is the system's own session.conf. Empty (the bus as it was) when
 * that file is not where Debian and Fedora keep it.
 */
export function privateBusArgs(dir, password) {
  const system = ['/usr/share/dbus-1/session.conf', '/etc/dbus-1/session.conf'].find((path) => existsSync(path));
  if (!system) return [];
  const services = join(dir, 'dbus-services');
  mkdirSync(services, { recursive: true });
  const passwordFile = join(dir, 'keyring-password');
  writeFileSync(passwordFile, password, { mode: 0o600 });
  const start = join(services, 'start-gnome-keyring');
  writeFileSync(start, `#!/bin/sh\nexec gnome-keyring-daemon --foreground --unlock --components=secrets < '${passwordFile}'\n`, { mode: 0o700 });
  writeFileSync(join(services, 'org.freedesktop.secrets.service'), `[D-BUS Service]\nName=org.freedesktop.secrets\nExec=${start}\n`);
  const config = join(dir, 'session.conf');
  writeFileSync(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <servicedir>${services}</servicedir>
  <include>${system}</include>
</busconfig>
`,
  );
  return [`--config-file=${config}`];
}

/** Asks the bus to start org.freedesktop.secrets (by activation) and waits for the answer. */
export async function activateSecretService(timeoutMs = 15_000) {
  const reply = await capture('dbus-send', ['--session', '--print-reply', `--reply-timeout=${timeoutMs}`, '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.StartServiceByName', 'string:org.freedesktop.secrets', 'uint32:0'], process.env, timeoutMs + 1000);
  if (reply.code !== 0) return { ok: false, reason: (reply.stderr || reply.stdout).trim().split('\n')[0] || `dbus-send exited with ${reply.code}` };
  const owner = await capture('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.GetConnectionUnixProcessID', 'string:org.freedesktop.secrets'], process.env, 3000);
  const pid = /uint32 (\d+)/.exec(owner.stdout)?.[1];
  return { ok: true, pid: pid ? Number(pid) : undefined };
}

/**
 * Starts gnome-keyring-daemon on the current session bus. `--unlock` reads `password` from stdin
 * and creates the "login" collection with it, which becomes the default collection that entries
 * are stored in.
 */
export function startGnomeKeyring(password) {
  const keyring = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  keyring.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  keyring.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  keyring.on('error', (error) => (output += `${error.message}\n`));
  keyring.stdin.on('error', () => {});
  keyring.stdin.end(password);
  const exited = () => keyring.exitCode !== null || keyring.signalCode !== null;
  let stopping = false;
  return {
    pid: keyring.pid,
    output: () => output.trim(),
    /**
     * Waits for the daemon to own org.freedesktop.secrets, asking the bus (which starts nothing).
     * Asking the Secret Service before the name is owned would make the bus start a second,
     * locked gnome-keyring by activation.
     */
    async waitForName(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (exited()) return { ok: false, reason: `gnome-keyring-daemon exited (${keyring.exitCode ?? keyring.signalCode})` };
        const reply = await capture('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', 'string:org.freedesktop.secrets'], process.env, 3000);
        if (reply.code === 0 && /boolean true/.test(reply.stdout)) return { ok: true };
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return { ok: false, reason: `nothing owned org.freedesktop.secrets after ${Math.round(timeoutMs / 1000)} s` };
    },
    /**
     * Calls `report` if the daemon exits before stop(). The session bus starts services on demand:
     * without privateBusArgs, the next keychain call would start a fresh gnome-keyring whose
     * "login" collection is locked, and every keychain test after that would fail with "locked".
     */
    onEarlyExit(report) {
      keyring.once('exit', (code, signal) => {
        if (!stopping) report(code, signal, output.trim());
      });
    },
    async stop() {
      stopping = true;
      if (exited()) return;
      const gone = new Promise((resolve) => keyring.once('exit', resolve));
      keyring.kill('SIGTERM');
      const force = setTimeout(() => keyring.kill('SIGKILL'), 2000);
      await gone;
      clearTimeout(force);
    },
  };
}

/** Runs a command to completion (killed after `timeoutMs`) and resolves to its code and output. */
export function capture(command, commandArgs, env, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(command, commandArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: error.message, timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}
