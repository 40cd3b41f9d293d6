#!/usr/bin/env node
// Runs `vitest run [args…]` with a real OS keychain behind it, and exits with vitest's code.
//
// On Linux the keychain is the Secret Service, which a CI machine or a container does not
// have. When dbus-run-session and gnome-keyring-daemon are installed, this script
// re-executes itself under `dbus-run-session` and starts a gnome-keyring there whose
// "login" collection is created and unlocked with a throwaway password, with its files in
// a temporary HOME. The developer's own keyring and session bus are never touched, even on
// a desktop where one is running: the suite writes keychain entries, and they belong in a
// keyring that is thrown away afterwards.
// Without those programs the suite runs as is and the keychain tests fail, after a loud
// line here that names the Debian packages to install.
// On macOS and Windows the suite uses the real keychain directly.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const ROOT = dirname(dirname(SELF));
const require = createRequire(import.meta.url);
const VITEST = join(dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const KEYRING_ADDON = require.resolve('@napi-rs/keyring');

/** Set (to the private directory) in the environment of the re-executed script. */
const INNER = 'PLAIDBAL_TEST_KEYRING_DIR';
/** The outer HOME/XDG values, restored for vitest inside the private session. */
const SAVED = 'PLAIDBAL_TEST_SAVED_ENV';
const PRIVATE_VARS = ['HOME', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'XDG_RUNTIME_DIR'];
const PACKAGES = 'gnome-keyring dbus-x11';
const PASSWORD = 'plaidbal-test-keyring';

const args = process.argv.slice(2);
const log = (message) => process.stderr.write(`[scripts/test.mjs] ${message}\n`);
const loud = (message) => process.stderr.write(`\n!!!!! [scripts/test.mjs] ${message}\n\n`);

if (process.env[INNER]) {
  process.exit(await insidePrivateSession(process.env[INNER]));
} else if (process.platform === 'linux' && onPath('dbus-run-session') && onPath('gnome-keyring-daemon')) {
  process.exit(await reexecUnderDbus());
} else {
  if (process.platform === 'linux' && !(await secretServiceCheck(process.env)).ok) {
    loud(
      `No Secret Service, and dbus-run-session/gnome-keyring-daemon are not installed: the keychain tests WILL FAIL. ` +
        `Install them with: apt-get install -y --no-install-recommends ${PACKAGES}`,
    );
  }
  process.exit(await runVitest(args, process.env));
}

async function reexecUnderDbus() {
  const dir = mkdtempSync(join(tmpdir(), 'plaidbal-keyring-'));
  const saved = Object.fromEntries(PRIVATE_VARS.map((name) => [name, process.env[name] ?? null]));
  const env = { ...process.env, [INNER]: dir, [SAVED]: JSON.stringify(saved) };
  // dbus-run-session sets its own address; an inherited one must not leak into the private session.
  for (const name of Object.keys(env)) if (name.startsWith('DBUS_')) delete env[name];
  // The bus, and anything it starts on demand, get the private HOME too: if gnome-keyring
  // were started by activation, it would otherwise open the developer's keyring files.
  Object.assign(env, {
    HOME: join(dir, 'home'),
    XDG_DATA_HOME: join(dir, 'home', '.local', 'share'),
    XDG_CONFIG_HOME: join(dir, 'home', '.config'),
    XDG_CACHE_HOME: join(dir, 'home', '.cache'),
    XDG_RUNTIME_DIR: join(dir, 'run'),
  });
  mkdirSync(env.XDG_DATA_HOME, { recursive: true });
  mkdirSync(env.XDG_RUNTIME_DIR, { mode: 0o700 });
  try {
    return await run('dbus-run-session', ['--', process.execPath, SELF, ...args], env);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function insidePrivateSession(dir) {
  const keyring = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  keyring.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  keyring.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  keyring.on('error', (error) => (output += `${error.message}\n`));
  keyring.stdin.on('error', () => {});
  // --unlock reads the password from stdin and creates the "login" collection with it,
  // which becomes the default collection that entries are stored in.
  keyring.stdin.end(PASSWORD);

  const ready = await waitForSecretService(keyring);
  if (ready.ok) {
    log(`private gnome-keyring ready (pid ${keyring.pid}, files in ${dir})`);
  } else {
    loud(`The private gnome-keyring did not come up, so the keychain tests WILL FAIL: ${ready.reason}`);
    if (output.trim()) process.stderr.write(`gnome-keyring-daemon said:\n${output.trim()}\n`);
  }

  const saved = JSON.parse(process.env[SAVED] ?? '{}');
  const env = { ...process.env };
  delete env[INNER];
  delete env[SAVED];
  for (const [name, value] of Object.entries(saved)) {
    if (value === null) delete env[name];
    else env[name] = value;
  }
  try {
    return await runVitest(args, env);
  } finally {
    if (keyring.exitCode === null && keyring.signalCode === null) {
      const exited = new Promise((resolve) => keyring.once('exit', resolve));
      keyring.kill('SIGTERM');
      const force = setTimeout(() => keyring.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(force);
    }
  }
}

/**
 * Waits for the daemon to own org.freedesktop.secrets (asking the bus, which starts nothing),
 * then checks that an entry really can be stored. Asking the Secret Service before the name is
 * owned would make the bus start a second, locked gnome-keyring by activation.
 */
async function waitForSecretService(keyring) {
  const deadline = Date.now() + 15_000;
  let owned = false;
  while (!owned && Date.now() < deadline) {
    if (keyring.exitCode !== null || keyring.signalCode !== null) {
      return { ok: false, reason: `gnome-keyring-daemon exited (${keyring.exitCode ?? keyring.signalCode})` };
    }
    const reply = await capture(
      'dbus-send',
      ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', 'string:org.freedesktop.secrets'],
      process.env,
      3000,
    );
    owned = reply.code === 0 && /boolean true/.test(reply.stdout);
    if (!owned) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!owned) return { ok: false, reason: 'nothing owned org.freedesktop.secrets after 15 s' };
  return secretServiceCheck(process.env, { store: true });
}

/**
 * Asks @napi-rs/keyring, in a child process that is killed if the bus hangs, whether the
 * Secret Service answers and (with `store`) keeps an entry. findCredentials talks to the
 * Secret Service only; Entry alone would quietly fall back to the kernel keyring.
 */
async function secretServiceCheck(env, { store = false } = {}) {
  const script = `
    const kr = require(${JSON.stringify(KEYRING_ADDON)});
    const service = 'plaidbal-test-runner';
    kr.findCredentials(service);
    if (${store}) {
      const entry = new kr.Entry(service, 'self-check');
      entry.setPassword('stored');
      const found = kr.findCredentials(service).find((c) => c.account === 'self-check');
      entry.deleteCredential();
      if (!found || found.password !== 'stored') throw new Error('an entry written to the Secret Service could not be read back');
    }`;
  const result = await capture(process.execPath, ['-e', script], env, 10_000);
  if (result.code === 0) return { ok: true };
  const line = result.stderr.split('\n').find((l) => /Error|error:/.test(l)) ?? result.stderr.trim().split('\n')[0] ?? '';
  return { ok: false, reason: result.timedOut ? 'the Secret Service did not answer within 10 s' : line.trim() };
}

function capture(command, commandArgs, env, timeoutMs) {
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

/** Runs a command on this terminal and resolves to its exit code, passing SIGINT/SIGTERM on. */
/**
 * vitest, plus a last line in the plain 'N passed, N failed, N skipped' form that CI reads,
 * taken from vitest's JSON report, so a run that executed no test cannot pass for one that did.
 */
async function runVitest(vitestArgs, env) {
  const reportDir = mkdtempSync(join(tmpdir(), 'plaidbal-vitest-'));
  const report = join(reportDir, 'report.json');
  try {
    const code = await run(process.execPath, [VITEST, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...vitestArgs], env);
    try {
      const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = JSON.parse(readFileSync(report, 'utf8'));
      process.stdout.write(`\nvitest: ${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests + numTodoTests} skipped\n`);
      if (numPassedTests === 0) {
        loud('vitest ran no test.');
        return code === 0 ? 1 : code;
      }
    } catch {
      loud('vitest wrote no JSON report; see its output above.');
    }
    return code;
  } finally {
    rmSync(reportDir, { recursive: true, force: true });
  }
}

function run(command, commandArgs, env) {
  return new Promise((resolve) => {
    const child = spawn(command, commandArgs, { env, stdio: 'inherit', cwd: ROOT });
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', (error) => {
      loud(`could not run ${command}: ${error.message}`);
      resolve(1);
    });
    child.on('close', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal === 'SIGINT' ? 130 : 1));
    });
  });
}

function onPath(program) {
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
