#!/usr/bin/env node
// Thin shim: all logic lives in the bundled CLI. main() resolves to an exit code;
// only this top level touches process.exitCode.

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
  const { VERSION } = await import('../dist/version.js');
  process.stdout.write(`${VERSION}\n`);
} else {
  const { main } = await import('../dist/cli.js');
  process.exitCode = await main(process.argv);
}
