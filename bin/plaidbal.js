#!/usr/bin/env node
// Thin shim: all logic lives in the bundled CLI. main() resolves to an exit code;
// only this top level touches process.exitCode.
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv);
