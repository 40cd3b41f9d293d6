#!/usr/bin/env node
// Thin shim: all logic lives in the bundled CLI. main() resolves to an exit code;
// only this top level touches process.exitCode.
//
// CommonJS on purpose (bin/package.json): Node starts a CommonJS entry faster than an ES module.
// dist/load.cjs loads the bundles with a V8 code cache made by this Node (see src/load.ts).
'use strict';

// stderr carries only messages: when it goes (its reader, or its terminal, closed), the run goes
// on without them, its result still reaching stdout. A closed terminal also sends SIGHUP, which
// stops the run the documented way: the billed calls on their way are waited for and printed.
process.stderr.on('error', (error) => {
  if (error.code !== 'EPIPE' && error.code !== 'EIO') throw error;
  process.stderr.write = (_chunk, encoding, callback) => {
    (typeof encoding === 'function' ? encoding : callback)?.();
    return true;
  };
});
// stdout that fails. Once the CLI is loaded it is asked first: while plaidbal is saving what Plaid
// has just done (a new item's token, a rotated token), it finishes that without stdout before it
// stops (src/cli.ts outputLost). A reader that goes away early (`plaidbal balance --all --format
// csv | head`) is not an error. Otherwise nothing more can be printed, and plaidbal says why and
// stops (README, "Exit codes"): a closed terminal (EIO) as its SIGHUP stops it (130); a full disk
// or quota under `> file` as a failure of the machine's storage (3).
let outputLost = () => false;
process.stdout.on('error', (error) => {
  if (outputLost()) return;
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  const what = { ENOSPC: 'the disk is full', EDQUOT: 'the disk quota is used up', EFBIG: 'the file has grown too large', EIO: 'an I/O error (its terminal closed?)' }[error.code];
  process.stderr.write(`Error: Could not write plaidbal's output to stdout: ${what ? `${what} (${error.code})` : error.message}. What was not written is lost.\n`);
  process.exit(error.code === 'EIO' ? 130 : 3);
});

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  // `plaidbal --version` answers without loading the CLI (commander, chalk, the command registry).
  process.stdout.write(`${require('../dist/version.cjs')}\n`);
} else {
  const { unitLoader } = require('../dist/load.cjs');
  // dist/cli.cjs, and through it the bundles it loads on first use, each with its code cache. The
  // cache never stops a run: without a usable cache directory, plaidbal runs as it would without one.
  const loader = unitLoader(require('node:path').join(__dirname, '..', 'dist'), args);
  // The caches are written as the process exits, when V8 has compiled what this run needed.
  process.once('exit', (code) => loader.save(code));
  const cli = loader.load('cli');
  outputLost = cli.outputLost;
  cli.main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
