#!/usr/bin/env node
// Thin shim: all logic lives in the bundled CLI. main() resolves to an exit code;
// only this top level touches process.exitCode.
//
// CommonJS on purpose (bin/package.json): Node starts a CommonJS entry faster than an ES module.
// dist/load.cjs turns on Node's compile cache (see src/load.ts).
'use strict';

// A reader that goes away early (`plaidbal balance --all --format csv | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  // `plaidbal --version` answers without loading the CLI (commander, chalk, the command registry).
  process.stdout.write(`${require('../dist/version.cjs')}\n`);
} else {
  const { startCompileCache } = require('../dist/load.cjs');
  // The compile cache, for dist/cli.cjs and the bundles it loads on first use. It never
  // throws: without a usable cache directory, plaidbal runs as it would without a cache.
  startCompileCache();
  const { main } = require('../dist/cli.cjs');
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
