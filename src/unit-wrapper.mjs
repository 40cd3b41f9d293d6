// The CommonJS function each bundle in dist/ is written wrapped in: scripts/build.mjs writes every
// unit with wrapUnit, and src/load.ts checks it is there and runs the unit with it. Plain
// JavaScript, so that the build script and the TypeScript source share the one copy.
export const UNIT_HEAD = '(function (exports, require, module, __filename, __dirname) {';
export const UNIT_TAIL = '\n})';

/**
 * A unit's file content for `body`, CommonJS module code, wrapped in the function Node's require()
 * would wrap it in. Wrapping it in src/load.ts as the unit loads made V8 flatten a copy of the
 * whole source into fresh memory on every run, a cost proportional to the units' size
 * (docs/benchmarks.md, "Figures behind the code"). The head has no line break: line numbers in
 * stack traces are the unit's own.
 */
export function wrapUnit(body) {
  return `${UNIT_HEAD}${body}${UNIT_TAIL}`;
}
