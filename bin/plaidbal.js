#!/usr/bin/env node
// Thin shim: all logic lives in the bundled CLI. main() resolves to an exit code;
// only this top level touches process.exitCode.
import { main } from '../dist/cli.js';

const code = await main(process.argv);
process.exitCode = code;
// A hung native call (for example a keychain daemon that never answers) must not keep
// the process alive after the result has been written; an unref'd timer fires only then.
setTimeout(() => process.exit(code), 2000).unref();
