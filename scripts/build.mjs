// Bundles the CLI with esbuild. Code splitting keeps each command's logic (and the
// heavy `plaid`, `@inquirer/prompts` and `cli-table3` packages) in chunks that are
// loaded only by the commands that use them, so `--help` and `--version` stay cheap.
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));

await rm(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.17',
  // Native addon: must be resolved from node_modules at run time.
  external: ['@napi-rs/keyring'],
  define: { __PLAIDBAL_VERSION__: JSON.stringify(pkg.version) },
  // Some bundled CommonJS packages call require(); give ESM chunks a real one.
  banner: { js: "import { createRequire as __plaidbalCreateRequire } from 'node:module'; const require = __plaidbalCreateRequire(import.meta.url);" },
  chunkNames: 'chunks/[name]-[hash]',
  legalComments: 'none',
  sourcemap: false,
  logLevel: 'warning',
});
