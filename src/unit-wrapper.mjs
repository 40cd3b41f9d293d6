// The CommonJS function each bundle in dist/ is written wrapped in: scripts/build.mjs writes it
// around every unit, and src/load.ts checks it is there and runs the unit with it (UNIT_HEAD there
// says why). Plain JavaScript, so that the build script and the TypeScript source share the one copy.
export const UNIT_HEAD = '(function (exports, require, module, __filename, __dirname) {';
export const UNIT_TAIL = '\n})';
