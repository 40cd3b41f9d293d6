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
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { activateSecretService, capture, onPath, privateBusArgs, privateSessionEnv, startGnomeKeyring } from './private-keyring.mjs';

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
  const env = privateSessionEnv(dir, { ...process.env, [INNER]: dir, [SAVED]: JSON.stringify(saved) });
  try {
    return await run('dbus-run-session', [...privateBusArgs(dir, PASSWORD), '--', process.execPath, SELF, ...args], env);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function insidePrivateSession(dir) {
  const keyring = startGnomeKeyring(PASSWORD);
  const named = await keyring.waitForName();
  // Then check that an entry really can be stored.
  const ready = named.ok ? await secretServiceCheck(process.env, { store: true }) : named;
  /** Daemons the bus started after a crash (by pid), stopped at the end like the first. */
  const activated = new Set();
  let stopping = false;
  /**
   * gnome-keyring-daemon can abort mid-run (an upstream race, see src/store/secret-service.ts:
   * plaidbal's reader no longer provokes it, but @napi-rs/keyring's calls still can). The bus
   * then starts another by activation; privateBusArgs made that one start unlocked, with the
   * same password and files. The runner says so loudly, starts it at once rather than on the
   * next keychain call, checks that it keeps an entry, and watches it in turn.
   */
  const replace = async (what) => {
    if (stopping) return;
    loud(`The private gnome-keyring ${what}; the bus starts another, unlocked.`);
    const started = await activateSecretService();
    const usable = started.ok ? await secretServiceCheck(process.env, { store: true }) : started;
    if (!usable.ok) return loud(`The private gnome-keyring could not be brought back (${usable.reason}): keychain tests from here on fail.`);
    log(`private gnome-keyring restarted by the bus (pid ${started.pid ?? 'unknown'}), unlocked`);
    if (started.pid === undefined || activated.has(started.pid)) return;
    activated.add(started.pid);
    const timer = setInterval(() => {
      try {
        process.kill(started.pid, 0);
      } catch {
        clearInterval(timer);
        activated.delete(started.pid);
        void replace(`started by the bus (pid ${started.pid}) exited during the run`);
      }
    }, 1000);
    timer.unref();
  };
  if (ready.ok) {
    log(`private gnome-keyring ready (pid ${keyring.pid}, files in ${dir})`);
    keyring.onEarlyExit((code, signal, output) =>
      replace(`(pid ${keyring.pid}) exited during the run (${code ?? signal})${output ? `. gnome-keyring-daemon said:\n${output}` : ''}`),
    );
  } else {
    loud(`The private gnome-keyring did not come up, so the keychain tests WILL FAIL: ${ready.reason}`);
    if (keyring.output()) process.stderr.write(`gnome-keyring-daemon said:\n${keyring.output()}\n`);
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
    stopping = true;
    await keyring.stop();
    for (const pid of activated) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
  }
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

/**
 * The suite's environment with glibc's malloc asked to back its large blocks with transparent huge
 * pages (`glibc.malloc.hugetlb=1`, glibc 2.35+; other C libraries and other systems ignore it),
 * added to any GLIBC_TUNABLES already set. The reason is scrypt: each passphrase-store run of the
 * CLI derives its key with 128 MiB from malloc, and on these virtual machines a first touch of a
 * 4 KiB page is so slow that more than half of a derivation was page faults (docs/benchmarks.md,
 * "Figures behind the code"). It changes how memory is mapped, not what any program does; the
 * kernel falls back to small pages when it has no huge one to give, or when THP is off.
 */
function withHugePageMalloc(env) {
  if (process.platform !== 'linux') return env;
  const current = env.GLIBC_TUNABLES ?? '';
  if (/(^|:)glibc\.malloc\.hugetlb=/.test(current)) return env;
  return { ...env, GLIBC_TUNABLES: current ? `${current}:glibc.malloc.hugetlb=1` : 'glibc.malloc.hugetlb=1' };
}

/**
 * vitest, plus a last line in the plain 'N passed, N failed, N skipped' form that CI reads,
 * taken from vitest's JSON report, so a run that executed no test cannot pass for one that did.
 */
async function runVitest(vitestArgs, env) {
  env = withHugePageMalloc(env);
  const reportDir = mkdtempSync(join(tmpdir(), 'plaidbal-vitest-'));
  const report = join(reportDir, 'report.json');
  // vitest, its workers and the CLI the tests spawn all run on this Node (process.execPath).
  log(`vitest on Node ${process.version} (${process.execPath})`);
  try {
    const code = await run(process.execPath, [VITEST, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...vitestArgs], env);
    try {
      const { numPassedTests, numFailedTests, numPendingTests, numTodoTests, testResults = [] } = JSON.parse(readFileSync(report, 'utf8'));
      // A file that failed outside any test (a hook that timed out, an import that threw) has
      // only skipped tests: each such file counts as one failure, so the line never reads 0.
      const failedOutside = testResults.filter((file) => file.status === 'failed' && !(file.assertionResults ?? []).some((test) => test.status === 'failed'));
      for (const file of failedOutside) loud(`${relative(ROOT, file.name)} failed outside its tests (a hook or its import): counted as 1 failure.`);
      process.stdout.write(`\nvitest: ${numPassedTests} passed, ${numFailedTests + failedOutside.length} failed, ${numPendingTests + numTodoTests} skipped\n`);
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

/** Runs a command on this terminal and resolves to its exit code, passing SIGINT/SIGTERM on. */
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

