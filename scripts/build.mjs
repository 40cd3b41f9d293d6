// Bundles the CLI with esbuild into CommonJS "units" in dist/, which bin/plaidbal.js loads through
// dist/load.cjs (src/load.ts), with a V8 code cache made on the user's machine:
//
// - `cli`: what loading src/cli.ts runs: the command definitions and commander. It is all
//   `--help` loads (with chalk's unit when the output has colour).
// - `commands`: the rest of src/ that more than one command uses (the store, the Plaid client…)
//   and the small packages it uses; and a unit per command family (`balance`, `link`, `doctor`,
//   `items`…) for the modules that family alone uses. Each is loaded when a command reaches it
//   (splitCli). A module of src/ lives in one unit alone, so there is one CliError class, one
//   store, one of everything.
// - `plaid` (plaid + axios), `conf`, `table` (cli-table3), `chalk` (only for a stream with colour:
//   src/io.ts), `prompts` (@inquirer/prompts), `open`, `tab` (@bomb.sh/tab, shell completion): each
//   loaded on first use. Importing one of those packages becomes `require("./<unit>.cjs")[name]`
//   (VENDORED).
// - No code cache is made here: src/load.ts makes one on the user's machine, by the user's Node.
//
// Start-up cost is most of what a `plaidbal balance` run costs, so the bundle is also
// trimmed where esbuild cannot tree-shake by itself (figures: docs/benchmarks.md, `npm run bench`):
//
// - plaid: its dist is CommonJS, so esbuild keeps all of dist/api.js (every endpoint, ~400
//   enums: ~2.3 MB of JS). `trimPlaidApi` keeps the PlaidApi methods in PLAID_METHODS and
//   drops the enums; anything dropped throws a clear error if it is ever used. The build
//   fails when api.js no longer has the shape this relies on, when src/ calls a method that
//   is not kept, and when a bundle of the trimmed client does not make its requests.
// - axios: plaid `require()`s axios's CommonJS build while src/plaid/client.ts imports its ES
//   module; both were bundled. plaid now gets the same ES module.
// - axios touches the `FormData`, `Request` and `Response` globals when it loads; in Node those
//   are lazy and load undici, a large module of Node's own. Two exact, checked edits defer that
//   until a FormData or the fetch adapter is really involved; plaidbal uses neither. Likewise axios's
//   `navigator` (a browser check), and axios's and p-retry's `performance` (a clock, which loads
//   perf_hooks): checked edits keep both from loading Node's modules for them.
// - Each unit is written already wrapped in its CommonJS function (src/unit-wrapper.mjs), so
//   that no run makes a wrapped copy of the source.
// - Stubs that throw if ever used: `form-data` for axios (multipart bodies and the 200 KB
//   mime-db; Plaid's API is JSON), and ajv, ajv-formats and semver for conf (it needs them for
//   `schema` and `migrations` only, and plaidbal passes neither), and node:assert for conf (one
//   comparison with `defaults`, which plaidbal does not pass either) and for @bomb.sh/tab (one
//   check of the shell's name, which commander has made already; the stub still checks it).
//   proper-lockfile gets Node's fs instead of graceful-fs, which patches the process's fs as it
//   loads and only helps under EMFILE.
//
// Whitespace and syntax minified, names kept (the options below say why): stack traces still
// name plaidbal's functions. dist/<unit>.cjs are the units (plain names: src/load.ts keys each
// one's code cache on the name and a hash of its content); dist/meta.json is esbuild's metafiles
// (what went into which unit), which test/e2e/startup.test.ts and size audits read;
// dist/version.cjs is the version alone, for a `--version` that loads nothing else.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire, isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { wrapUnit } from '../src/unit-wrapper.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'dist');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));

/** The PlaidApi methods plaidbal calls; every other one is left out of the bundle. */
const PLAID_METHODS = [
  'accountsBalanceGet',
  'accountsGet',
  'itemGet',
  'itemRemove',
  'itemAccessTokenInvalidate',
  'itemPublicTokenExchange',
  'institutionsGet',
  'institutionsGetById',
  'linkTokenCreate',
  'linkTokenGet',
  'sandboxPublicTokenCreate',
  'sandboxItemResetLogin',
];

/** Packages that must not be in the modules `plaidbal --help` and `--version` load. */
const HEAVY = /^(plaid|axios|cli-table3|conf|ajv|ajv-formats|open|@inquirer\/[^/]+|@bomb\.sh\/tab)$/;
/** Inputs the stubs and aliases below keep out of the bundle (a match means one stopped applying). */
const KEPT_OUT = /node_modules\/(ajv|ajv-formats|semver|form-data|mime-db|axios\/dist|graceful-fs)\//;

const BANNER = "import { createRequire as __plaidbalCreateRequire } from 'node:module'; const require = __plaidbalCreateRequire(import.meta.url);";

class BuildError extends Error {}
const fail = (message) => {
  throw new BuildError(`scripts/build.mjs: ${message}`);
};
const nodeModule = (pkgPath, file) => new RegExp(`[\\\\/]node_modules[\\\\/]${pkgPath.replace(/\//g, '[\\\\/]')}[\\\\/]${file.replace(/[./]/g, (c) => (c === '/' ? '[\\\\/]' : '\\.'))}$`);

// ---------------------------------------------------------------------------------------------
// plaid: keep only PLAID_METHODS of dist/api.js

const trimmed = new Map();

/**
 * Rewrites plaid's dist/api.js (tsc output of an OpenAPI Generator "typescript-axios" client):
 * drops the `exports.A = exports.B = … = void 0` preambles and the enums, and keeps only
 * PLAID_METHODS in PlaidApiAxiosParamCreator, PlaidApiFp, PlaidApiFactory and class PlaidApi.
 * Every other statement is kept as it is. Throws when that shape is not there.
 */
function trimPlaidApi(source, version) {
  const ts = require('typescript');
  const where = `plaid@${version} dist/api.js`;
  source = source.replace(/\n\/\/# sourceMappingURL=data:[^\n]*\s*$/, '\n');
  const sf = ts.createSourceFile('api.js', source, ts.ScriptTarget.ES2020, false, ts.ScriptKind.JS);
  const text = (node) => source.slice(node.getStart(sf), node.end);
  const keep = new Set(PLAID_METHODS);
  const out = [];
  const strippedExports = [];
  let strippedMethods = [];
  const trimmedParts = new Set();

  const memberName = (member) => (member.name && (ts.isIdentifier(member.name) || ts.isStringLiteral(member.name)) ? member.name.text : undefined);
  const keepMembers = (part, members) => {
    const names = members.map(memberName);
    const missing = PLAID_METHODS.filter((m) => !names.includes(m));
    if (missing.length) fail(`${where}: ${part} has no ${missing.join(', ')}. Did plaid rename or remove them? Update PLAID_METHODS (and src/) to match.`);
    const dupes = names.filter((n, i) => n && keep.has(n) && names.indexOf(n) !== i);
    if (dupes.length) fail(`${where}: ${part} defines ${dupes.join(', ')} more than once; the trimming would be ambiguous.`);
    if (trimmedParts.has(part)) fail(`${where}: ${part} is defined more than once.`);
    trimmedParts.add(part);
    if (part === 'PlaidApi') strippedMethods = names.filter((n) => n && !keep.has(n));
    return members.filter((m) => keep.has(memberName(m))).map(text);
  };
  const isEnumBody = (statement, name) => {
    if (!statement || !ts.isExpressionStatement(statement)) return false;
    const t = text(statement);
    return t.startsWith(`(function (${name}) {`) && t.endsWith(`})(${name} = exports.${name} || (exports.${name} = {}));`);
  };

  const statements = sf.statements;
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i];
    // `exports.A = exports.B = … = void 0;`: tsc's forward declarations of the exports.
    if (ts.isExpressionStatement(s) && /^exports\.\w+ = (?:exports\.\w+ = )*void 0;$/.test(text(s))) continue;
    if (ts.isVariableStatement(s) && s.declarationList.declarations.length === 1) {
      const decl = s.declarationList.declarations[0];
      const name = ts.isIdentifier(decl.name) ? decl.name.text : '';
      // An enum: `var X;` then `(function (X) { X["A"] = "a"; … })(X = exports.X || (exports.X = {}));`
      if (!decl.initializer && isEnumBody(statements[i + 1], name)) {
        strippedExports.push(name);
        i++;
        continue;
      }
      // `const PlaidApiFp = function (configuration) { …; return { method(…) {…}, … }; };`
      if (name === 'PlaidApiAxiosParamCreator' || name === 'PlaidApiFp' || name === 'PlaidApiFactory') {
        const fn = decl.initializer;
        const ret = fn && ts.isFunctionExpression(fn) ? fn.body.statements.at(-1) : undefined;
        if (!ret || !ts.isReturnStatement(ret) || !ret.expression || !ts.isObjectLiteralExpression(ret.expression)) {
          fail(`${where}: ${name} is no longer a function that returns an object literal of methods.`);
        }
        const object = ret.expression;
        const members = keepMembers(name, [...object.properties]);
        out.push(`${source.slice(s.getStart(sf), object.getStart(sf))}{\n${members.join(',\n')}\n}${source.slice(object.end, s.end)}`);
        continue;
      }
    }
    if (ts.isClassDeclaration(s) && s.name?.text === 'PlaidApi') {
      const bodyStart = source.indexOf('{', (s.heritageClauses?.at(-1) ?? s.name).end);
      out.push(`${source.slice(s.getStart(sf), bodyStart + 1)}\n${keepMembers('PlaidApi', [...s.members]).join('\n')}\n}`);
      continue;
    }
    out.push(text(s));
  }
  for (const part of ['PlaidApiAxiosParamCreator', 'PlaidApiFp', 'PlaidApiFactory', 'PlaidApi']) {
    if (!trimmedParts.has(part)) fail(`${where}: found no ${part}; plaid's generated client changed shape.`);
  }
  if (strippedExports.length < 50) fail(`${where}: found only ${strippedExports.length} enums; plaid's generated client changed shape.`);

  // A left-out method fails loudly instead of being quietly undefined. A left-out enum cannot be
  // reached at all: the plaid unit exports only the values src/ imports (plaidValueImports), and
  // the build fails when src/ imports one that was left out.
  const why = 'scripts/build.mjs bundles only part of plaid';
  // The left-out methods are answered by a proxy at the end of PlaidApi's prototype chain, which only a
  // name PlaidApi does not have reaches: defining ~340 throwing methods as the unit loads cost every run
  // that loads plaid (docs/benchmarks.md, "Figures behind the code"), for a mistake step 4 of this
  // script already stops at build time.
  out.push(
    `const __plaidbalStrippedMethods = ${JSON.stringify(`,${strippedMethods.join(',')},`)};`,
    `Object.setPrototypeOf(PlaidApi.prototype, new Proxy(Object.getPrototypeOf(PlaidApi.prototype), {`,
    `  get(target, name, receiver) {`,
    `    if (typeof name === 'string' && __plaidbalStrippedMethods.includes(',' + name + ',')) {`,
    `      return function () { throw new Error('PlaidApi.' + name + ' is not in the plaidbal bundle (${why}): add it to PLAID_METHODS there'); };`,
    `    }`,
    `    return Reflect.get(target, name, receiver);`,
    `  },`,
    `}));`,
  );
  return { contents: `${out.join('\n')}\n`, strippedExports, strippedMethods };
}

async function trimmedPlaidApi(path) {
  const { mtimeMs, size } = await stat(path);
  const key = `${path}:${mtimeMs}:${size}`;
  if (!trimmed.has(key)) {
    const { version } = JSON.parse(await readFile(join(path, '..', '..', 'package.json'), 'utf8'));
    trimmed.set(key, trimPlaidApi(await readFile(path, 'utf8'), version));
  }
  return trimmed.get(key);
}

/** Exact, checked text edits of a dependency file: the build fails when one no longer applies. */
function patchFile(name, source, edits) {
  for (const [from, to] of edits) {
    const count = source.split(from).length - 1;
    if (count !== 1) fail(`${name}: expected exactly one \`${from.split('\n')[0]}…\`, found ${count}. The dependency changed; update or drop this edit.`);
    source = source.replace(from, () => to);
  }
  return source;
}

const stubs = {
  'conf:ajv/dist/2020.js': `export class Ajv2020 { constructor() { throw new Error('conf: schema validation (ajv) is not in the plaidbal bundle; see scripts/build.mjs'); } }`,
  'conf:ajv-formats': `export default { default() { throw new Error('conf: ajv-formats is not in the plaidbal bundle; see scripts/build.mjs'); } };`,
  'conf:semver': `export default new Proxy({}, { get(_, name) { return () => { throw new Error('conf: migrations (semver.' + String(name) + ') are not in the plaidbal bundle; see scripts/build.mjs'); }; } });`,
  'axios:form-data': `export default class FormData { constructor() { throw new Error('axios: multipart bodies (form-data) are not in the plaidbal bundle; see scripts/build.mjs'); } }`,
  // graceful-fs queues opens on EMFILE and patches the process's own fs module as it loads, in
  // every run; proper-lockfile makes one directory per lock, so Node's fs serves it as well.
  // What each stub here saves: docs/benchmarks.md, "Figures behind the code", the bundles' stubs.
  'proper-lockfile:graceful-fs': `module.exports = require('node:fs');`,
  // conf loads node:assert, which no other part of a run needs, for one assert.deepEqual: the
  // store as read against the store with conf's \`defaults\` added, to decide whether to write it
  // back. plaidbal passes no defaults, so the two hold the same values in objects of different
  // prototypes; this compares them the way assert.deepEqual's loose mode does here (prototypes
  // aside).
  'conf:node:assert': `import { isDeepStrictEqual } from 'node:util';\nexport default { deepEqual(actual, expected) { if (!isDeepStrictEqual({ ...actual }, { ...expected })) throw new Error('conf: the store differs from its defaults'); } };`,
  // @bomb.sh/tab (shell completion) loads node:assert for one assert(shell is known,
  // 'Unsupported shell'); commander's .choices() has already checked it. Loading node:assert
  // would cost every Tab press.
  '@bomb.sh/tab:node:assert': `export default function assert(value, message) { if (!value) throw new Error(message); }`,
};

const plugins = [
  {
    name: 'plaidbal-trim-plaid',
    setup(b) {
      b.onLoad({ filter: nodeModule('plaid', 'dist/api.js') }, async (args) => ({ contents: (await trimmedPlaidApi(args.path)).contents, loader: 'js' }));
      // plaid's require('axios') gets the ES module src/plaid/client.ts imports, not a second axios.
      b.onResolve({ filter: /^axios$/ }, (args) => {
        if (args.kind !== 'require-call' || !/[\\/]node_modules[\\/]plaid[\\/]/.test(args.importer)) return undefined;
        return b.resolve('axios', { kind: 'import-statement', resolveDir: args.resolveDir });
      });
    },
  },
  {
    name: 'plaidbal-axios-lazy-globals',
    setup(b) {
      /** Serves the package's file with `edits` made (patchFile), after `prefix`. */
      const patch = (pkg, file, edits, prefix = '') =>
        b.onLoad({ filter: nodeModule(pkg, file) }, async (args) => ({ loader: 'js', contents: prefix + patchFile(`${pkg}/${file}`, await readFile(args.path, 'utf8'), edits) }));
      patch('axios', 'lib/utils.js', [
        [
          "const FormDataCtor = typeof G.FormData !== 'undefined' ? G.FormData : undefined;",
          "// plaidbal build: Node's FormData global loads undici; look it up only for a candidate object.\n" +
            'let FormDataCtor;\n' +
            "const lookUpFormData = () => (FormDataCtor === undefined ? (FormDataCtor = typeof G.FormData !== 'undefined' ? G.FormData : null) : FormDataCtor);",
        ],
        [
          '  if (FormDataCtor && thing instanceof FormDataCtor) return true;',
          // Primitives, plain objects and null-prototype objects are never FormData instances.
          "  if (typeof thing === 'object' && getPrototypeOf(thing) !== null && getPrototypeOf(thing) !== Object.prototype && lookUpFormData() && thing instanceof FormDataCtor) return true;",
        ],
      ]);
      // Loaded on first use instead of with axios: follow-redirects (plaidbal sets maxRedirects: 0),
      // https-proxy-agent and its `debug` (only with an HTTPS proxy), node:http2 (only for httpVersion 2).
      const lazyHttp2 = "// plaidbal build: node:http2 is loaded on first use.\nlet http2Module;\nconst http2 = new Proxy({}, { get: (_, key) => (http2Module ??= require('http2'))[key] });";
      patch('axios', 'lib/adapters/http.js', [
        ["import HttpsProxyAgent from 'https-proxy-agent';", "// plaidbal build: https-proxy-agent is loaded on first use.\nconst lazyHttpsProxyAgent = () => require('https-proxy-agent');"],
        ['agent = new HttpsProxyAgent(merged);', 'agent = new (lazyHttpsProxyAgent())(merged);'],
        ['if (!(configHttpsAgent instanceof HttpsProxyAgent)) {', 'if (!(configHttpsAgent instanceof lazyHttpsProxyAgent())) {'],
        ["import followRedirects from 'follow-redirects';", "// plaidbal build: follow-redirects is loaded on first use.\nconst lazyFollowRedirects = () => require('follow-redirects');"],
        ['const { http: httpFollow, https: httpsFollow } = followRedirects;\n', ''],
        ['transport = isHttpsRequest ? httpsFollow : httpFollow;', 'transport = isHttpsRequest ? lazyFollowRedirects().https : lazyFollowRedirects().http;'],
        ["import http2 from 'http2';", lazyHttp2],
      ]);
      patch('axios', 'lib/helpers/Http2Sessions.js', [["import http2 from 'http2';", lazyHttp2]]);
      // commander needs node:child_process only for executable subcommands, which plaidbal has none of.
      patch('commander', 'lib/command.js', [
        ["const childProcess = require('node:child_process');", "// plaidbal build: node:child_process is loaded on first use.\nconst childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };"],
      ]);
      // p-retry (the time its retries have taken) and axios (a response's `duration`) read the clock
      // through the `performance` global, which Node makes on first use by loading perf_hooks
      // (docs/benchmarks.md, "Figures behind the code"). Both only subtract two readings, so any
      // monotonic clock in milliseconds serves: process.uptime() is one (libuv's hrtime).
      const monotonicNow = '// plaidbal build: a monotonic clock in ms that does not load perf_hooks.\nconst monotonicNow = () => process.uptime() * 1000;\n';
      patch('p-retry', 'index.js', [
        ['return max - (performance.now() - start);', 'return max - (monotonicNow() - start);'],
        ['const startTime = performance.now();', 'const startTime = monotonicNow();'],
      ], monotonicNow);
      patch('axios', 'lib/core/dispatchRequest.js', [
        ["  return typeof performance !== 'undefined' && utils.isFunction(performance.now)\n    ? () => performance.now()\n    : Date.now;", '  return monotonicNow;'],
      ], monotonicNow);
      // axios looks for a browser through the `navigator` global, which Node also makes on first use
      // by loading a module of its own. In Node it only ever finds Node's: no browser, as without it.
      patch('axios', 'lib/platform/common/utils.js', [
        ["const _navigator = (typeof navigator === 'object' && navigator) || undefined;", "// plaidbal build: Node's navigator global is loaded on first use, and is never a browser's.\nconst _navigator = undefined;"],
      ]);
      // The default export (unused: adapters.js uses getFetch) built the fetch adapter at load time.
      patch('axios', 'lib/adapters/fetch.js', [['const adapter = getFetch();\n\nexport default adapter;', 'export default undefined;']]);
    },
  },
  {
    name: 'plaidbal-stubs',
    setup(b) {
      b.onResolve({ filter: /^(ajv\/dist\/2020\.js|ajv-formats|semver|form-data|graceful-fs|node:assert)$/ }, (args) => {
        const owner = args.importer.match(/[\\/]node_modules[\\/](conf|axios|proper-lockfile|@bomb\.sh[\\/]tab)[\\/]/)?.[1]?.replace(/\\/g, '/');
        const key = `${owner}:${args.path}`;
        return owner && stubs[key] ? { path: key, namespace: 'plaidbal-stub' } : undefined;
      });
      b.onLoad({ filter: /.*/, namespace: 'plaidbal-stub' }, (args) => ({ contents: stubs[args.path], loader: 'js' }));
    },
  },
];

const options = {
  absWorkingDir: ROOT,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node22.12',
  // Native addon: must be resolved from node_modules at run time.
  external: ['@napi-rs/keyring'],
  // Some bundled CommonJS packages call require(); give ESM output a real one.
  banner: { js: BANNER },
  legalComments: 'none',
  // Whitespace and syntax only: a run reads each unit it loads whole, and V8 needs the source even
  // with a code cache, so a smaller file is a quicker start (docs/benchmarks.md, "Figures behind the
  // code"). Names are kept, so stack traces and error names read as in the source. What went into
  // each unit is in dist/meta.json, not in comments.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: false,
  logLevel: 'warning',
  plugins,
};

/**
 * The bundles ("units"): `cli`, `commands` and the command families' (src/, split by splitCli) and
 * one per heavy package group, each loaded on first use. In the units of src/, importing a package of VENDORED becomes
 * `require("./<unit>.cjs")[name]`: the unit beside it, loaded by src/load.ts, at the point where the
 * import would have run (for a lazy class, at its first `new`). esbuild turns src/'s dynamic `import()`s into modules initialised on
 * first use, so a package is loaded only when a command reaches it.
 */
const VENDOR_UNITS = {
  // Only the plaid values src/ imports (see plaidValueImports): a namespace object for all of
  // plaid's exports would copy every one of them in every run.
  plaid: (names) => `import axios from 'axios';\nconst { ${names.join(', ')} } = require('plaid');\nexport const plaid = { ${names.join(', ')} };\nexport { axios };\n`,
  // conf's dependency when-exit hooks a dozen signals as it loads; src/load.ts says why they are
  // removed again. require(), not import: an import would run before the listeners are counted.
  conf: "import { signalListeners, dropNewSignalListeners } from './src/load.ts';\nconst before = signalListeners();\nconst Conf = require('conf').default;\ndropNewSignalListeners(before);\nexport { Conf };\n",
  table: "import Table from 'cli-table3';\nexport { Table };\n",
  // Colour: loaded by the first stream that has some (src/io.ts, styleFor).
  chalk: "import { Chalk } from 'chalk';\nexport { Chalk };\n",
  prompts: "import * as prompts from '@inquirer/prompts';\nexport { prompts };\n",
  open: "import open from 'open';\nexport { open };\n",
  // Shell completion: loaded by `plaidbal complete` and `plaidbal completion` only.
  tab: "import * as tab from '@bomb.sh/tab';\nexport { tab };\n",
};
const VENDORED = {
  plaid: ['plaid', 'plaid'],
  axios: ['plaid', 'axios'],
  // Only a store not in plaidbal's own layout is read with conf (src/store/store.ts): most runs never construct one.
  conf: ['conf', 'Conf', 'class'],
  'cli-table3': ['table', 'Table'],
  chalk: ['chalk', 'Chalk', 'class'],
  '@inquirer/prompts': ['prompts', 'prompts'],
  open: ['open', 'open'],
  '@bomb.sh/tab': ['tab', 'tab'],
};

/** A family's modules get a unit of their own only from this much source (esbuild's input bytes): a unit costs a run that loads it a file read and a code cache of its own. */
const FAMILY_UNIT_MIN_BYTES = 8 * 1024;

/**
 * Splits src/ in units. `cli` holds what loading src/cli.ts runs: the command definitions and
 * commander, all `--help` needs. The rest is reached only through a dynamic `import()` (each
 * command's logic, the store, the Plaid client...) and is loaded by the first command that runs
 * it: a command family's own modules (those only src/commands/<family>/ reaches: `link`'s page and
 * server, `doctor`'s checks, `items import`…) in a unit named after the family, and what more than
 * one family reaches, or src/ outside the commands reaches (the store, the Plaid client…), in
 * `commands`. So a `balance` reads neither `link`'s page nor `doctor`'s checks. A module of src/
 * still lives in one unit alone (one CliError class, one store): a module that imports one of
 * another unit gets that unit's own, through the getters that unit exports.
 *
 * From the whole bundle's import graph (`inputs`, esbuild's metafile):
 * - `cli`: src/cli.ts and what it imports, other than by `import()`;
 * - the families each module outside `cli` is reached by: the family of each `import()` of it in
 *   `cli` (src/commands/<family>/…, or none for the rest of src/), and the families of every module
 *   outside `cli` that imports it, to a fixed point. One family and no other importer: that
 *   family's unit, when the family's own modules come to FAMILY_UNIT_MIN_BYTES; else `commands`;
 * - `modules`, exported by each of those units as getters (a module is still initialised on first
 *   use): the targets of `import()`s in `cli`, and the modules other units import;
 * - `__shared`: the modules of `cli` that the others import, exported by `cli` as getters.
 */
function splitCli(inputs) {
  const files = Object.keys(inputs).filter((input) => !/^[a-z-]+:/.test(input));
  const isFile = new Set(files);
  const edges = (input) => (inputs[input]?.imports ?? []).filter((i) => !i.external && isFile.has(i.path));
  const cli = new Set(['src/cli.ts']);
  for (const input of cli) for (const i of edges(input)) if (i.kind !== 'dynamic-import') cli.add(i.path);
  const lazy = new Set(files.flatMap((input) => edges(input).filter((i) => i.kind === 'dynamic-import' && !cli.has(i.path)).map((i) => i.path)));
  const shared = new Set(files.filter((input) => !cli.has(input)).flatMap((input) => edges(input).filter((i) => cli.has(i.path)).map((i) => i.path)));
  if (lazy.size === 0) fail('found no import() of src/ outside the cli unit; has the command registry changed?');

  // Which families reach each module outside cli ('' for src/ outside src/commands/<family>/).
  const familyOf = (input) => /^src\/commands\/([^/]+)\//.exec(input)?.[1] ?? '';
  const reachedBy = new Map(files.filter((input) => !cli.has(input)).map((input) => [input, new Set()]));
  for (let changed = true; changed; ) {
    changed = false;
    for (const from of files) {
      const families = cli.has(from) ? [familyOf(from)] : [...reachedBy.get(from)];
      for (const i of edges(from)) {
        const reached = reachedBy.get(i.path);
        if (!reached || (cli.has(from) && i.kind !== 'dynamic-import')) continue;
        for (const family of families) if (!reached.has(family)) changed = reached.add(family);
      }
    }
  }
  const own = new Map(); // family → its own modules
  for (const [input, families] of reachedBy) {
    const [family] = families;
    if (families.size === 1 && family) own.set(family, [...(own.get(family) ?? []), input]);
  }
  const unitOf = new Map([...reachedBy.keys()].map((input) => [input, 'commands']));
  for (const [family, inputsOfFamily] of own) {
    if (inputsOfFamily.reduce((sum, input) => sum + inputs[input].bytes, 0) < FAMILY_UNIT_MIN_BYTES) continue;
    if (!/^[a-z]+$/.test(family) || family in VENDOR_UNITS || family === 'cli' || family === 'commands') fail(`src/commands/${family}/ cannot name a unit (a-z only, and not one of cli, commands, ${Object.keys(VENDOR_UNITS).join(', ')}); rename the directory or extend splitCli`);
    for (const input of inputsOfFamily) unitOf.set(input, family);
  }
  // Each unit exports what is reached from outside it: the targets of cli's import()s, and the modules other units import.
  const exported = new Map([...new Set(unitOf.values())].map((unit) => [unit, new Set()]));
  for (const from of files) {
    for (const i of edges(from)) {
      const unit = unitOf.get(i.path);
      if (unit && (cli.has(from) ? i.kind === 'dynamic-import' : unitOf.get(from) !== unit)) exported.get(unit).add(i.path);
    }
  }
  for (const [unit, set] of exported) if (set.size === 0) fail(`the ${unit} unit would export nothing; splitCli has gone wrong`);

  const getters = (set) => [...set].sort().map((input) => `  get ${JSON.stringify(input)}() { return require(${JSON.stringify(`./${input}`)}); },`).join('\n');
  const relativeTo = (path) => relative(ROOT, path).split(sep).join('/');
  /**
   * An esbuild plugin: an import of one of `kinds` whose target `where` places in another unit
   * becomes `require("./<unit>.cjs").<key>[target]`.
   */
  const redirect = (name, kinds, where) => ({
    name,
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData?.[name] || !kinds(args.kind) || args.namespace !== 'file' || !args.importer || args.importer === '<stdin>') return undefined;
        const resolved = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { [name]: true } });
        if (resolved.errors.length || resolved.namespace !== 'file' || !where(relativeTo(resolved.path))) return undefined;
        return { path: relativeTo(resolved.path), namespace: name };
      });
      b.onLoad({ filter: /.*/, namespace: name }, (args) => {
        const [unit, key] = where(args.path);
        return { contents: `module.exports = require(${JSON.stringify(`./${unit}.cjs`)})[${JSON.stringify(key)}][${JSON.stringify(args.path)}];`, loader: 'js' };
      });
      b.onResolve({ filter: /^\.\/[a-z]+\.cjs$/, namespace: name }, (args) => ({ path: args.path, external: true }));
    },
  });
  return {
    cliEntry: `export * from './src/cli.ts';\nexport const __shared = {\n${getters(shared)}\n};\n`,
    // cli's import()s go to the unit of their target.
    toUnits: redirect('plaidbal-units', (kind) => kind === 'dynamic-import', (input) => (lazy.has(input) ? [unitOf.get(input), 'modules'] : undefined)),
    /** The units of src/ outside cli: each one's entry, and the plugin that sends its imports of other units' modules there. */
    units: Object.fromEntries(
      [...exported].map(([unit, set]) => [
        unit,
        {
          entry: `export const modules = {\n${getters(set)}\n};\n`,
          plugin: redirect('plaidbal-units', () => true, (input) => (cli.has(input) ? ['cli', '__shared'] : unitOf.has(input) && unitOf.get(input) !== unit ? [unitOf.get(input), 'modules'] : undefined)),
        },
      ]),
    ),
  };
}

const vendorPlugin = {
  name: 'plaidbal-vendor',
  setup(b) {
    const names = Object.keys(VENDORED).map((n) => n.replace(/[/@.-]/g, (c) => `\\${c}`));
    b.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, (args) => ({ path: args.path, namespace: 'plaidbal-vendor' }));
    b.onLoad({ filter: /.*/, namespace: 'plaidbal-vendor' }, (args) => {
      const [unit, name, lazy] = VENDORED[args.path];
      const required = `require(${JSON.stringify(`./${unit}.cjs`)})[${JSON.stringify(name)}]`;
      // A lazy class: the unit is loaded by the first `new`, not by the import. It is both the
      // module's default export (`import Conf from 'conf'`) and its export by name (`import { Chalk } from 'chalk'`).
      if (lazy === 'class') return { contents: `let loaded;\nconst lazy = function (...args) {\n  return new (loaded ??= ${required})(...args);\n};\nmodule.exports = lazy;\nmodule.exports[${JSON.stringify(name)}] = lazy;`, loader: 'js' };
      return { contents: `module.exports = ${required};`, loader: 'js' };
    });
    // The unit's file, required at run time from dist/ (where cli.cjs is too).
    b.onResolve({ filter: /^\.\/[a-z]+\.cjs$/, namespace: 'plaidbal-vendor' }, (args) => ({ path: args.path, external: true }));
  },
};

/**
 * What an ESM import of a Node builtin becomes in a unit. esbuild writes `__toESM(require("zlib"), 1)`, which makes
 * the import's namespace object by defining a getter for every one of the builtin's own properties: hundreds, for
 * `fs`, `process`, `crypto`, `util` and `zlib`, in every run that loads the unit (docs/benchmarks.md, "Figures behind
 * the code"). `__nodeNamespace` makes one object whose prototype is the builtin: `default` is the builtin itself, as
 * with `__toESM(…, 1)`, and every other name is looked up on the builtin, live, as those getters do. The one
 * difference is what enumerates the namespace object itself (it has only `default`); lightNodeNamespaces fails the
 * build if a unit does. test/e2e/startup.test.ts checks that no unit is left with esbuild's helper for a builtin.
 */
const NODE_NAMESPACE = 'var __nodeNamespace = (mod) => Object.create(mod, { default: { value: mod, enumerable: true } });';

function lightNodeNamespaces(unit, text) {
  const out = text.replace(/__toESM\(require\("([^"]+)"\),1\)/g, (call, id) => {
    if (!isBuiltin(id)) return call;
    return `__nodeNamespace(require(${JSON.stringify(id)}))`;
  });
  // The namespace objects are held in esbuild's `import_<name>` variables: nothing may list or copy one.
  const enumerated = out.match(/(?:Object\.(?:keys|values|entries|assign|getOwnPropertyNames)\(|\.\.\.|\bin )import_[A-Za-z0-9_$]+\b(?!\.)/g);
  if (enumerated) fail(`dist/${unit}.cjs enumerates a module namespace (${enumerated.join(', ')}): __nodeNamespace has only \`default\` of its own`);
  return out;
}

/**
 * CommonJS units, loaded by src/load.ts in a CommonJS wrapper (bin/plaidbal.js): `import.meta.url` in the sources is
 * the unit's own file URL.
 */
const unitOptions = {
  ...options,
  format: 'cjs',
  banner: { js: `var __importMetaUrl = require('node:url').pathToFileURL(__filename).href; ${NODE_NAMESPACE}` },
  // plaidbal doctor checks the running Node against package.json's engines range, read here.
  define: { __PLAIDBAL_VERSION__: JSON.stringify(pkg.version), __PLAIDBAL_NODE_ENGINES__: JSON.stringify(pkg.engines?.node ?? ''), 'import.meta.url': '__importMetaUrl' },
  metafile: true,
  write: false,
};

try {
  await main();
} catch (error) {
  // esbuild has already printed its own errors (a failing plugin's included).
  if (error instanceof BuildError) process.stderr.write(`\n✘ ${error.message}\n\n`);
  else if (!Array.isArray(error?.errors)) process.stderr.write(`${error?.stack ?? error}\n`);
  process.exitCode = 1;
}

async function main() {
  await rm(OUT, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });

  const plaidNames = await plaidValueImports();
  // The CLI bundled whole first, only to learn its import graph (splitCli).
  const whole = await build({ ...unitOptions, entryPoints: ['src/cli.ts'], plugins: [...plugins, vendorPlugin] });
  const split = splitCli(whole.metafile.inputs);
  const builds = {
    cli: build({ ...unitOptions, stdin: { contents: split.cliEntry, resolveDir: ROOT, sourcefile: 'cli-entry.mjs', loader: 'js' }, plugins: [...plugins, vendorPlugin, split.toUnits] }),
    ...Object.fromEntries(
      Object.entries(split.units).map(([unit, { entry, plugin }]) => [unit, build({ ...unitOptions, stdin: { contents: entry, resolveDir: ROOT, sourcefile: `${unit}-entry.mjs`, loader: 'js' }, plugins: [...plugins, vendorPlugin, plugin] })]),
    ),
    ...Object.fromEntries(
      Object.entries(VENDOR_UNITS).map(([unit, entry]) => {
        const contents = typeof entry === 'function' ? entry(plaidNames) : entry;
        return [unit, build({ ...unitOptions, stdin: { contents, resolveDir: ROOT, sourcefile: `vendor-${unit}.mjs`, loader: 'js' } })];
      }),
    ),
  };
  const metafile = { inputs: {}, outputs: {} };
  const units = {};
  for (const [unit, pending] of Object.entries(builds)) {
    const result = await pending;
    const text = lightNodeNamespaces(unit, result.outputFiles[0].text);
    // Written already wrapped (src/unit-wrapper.mjs says why) for src/load.ts, which loads nothing
    // else: its check fails on a unit without the wrapper.
    const file = wrapUnit(text);
    units[unit] = { text, file, inputs: result.metafile.inputs };
    await writeFile(join(OUT, `${unit}.cjs`), file);
    Object.assign(metafile.inputs, result.metafile.inputs);
    metafile.outputs[`dist/${unit}.cjs`] = Object.values(result.metafile.outputs)[0];
  }
  await writeFile(join(OUT, 'meta.json'), JSON.stringify(metafile));
  await writeFile(join(OUT, 'version.cjs'), `module.exports = ${JSON.stringify(pkg.version)};\n`);
  // What bin/plaidbal.js runs first (the unit loader and its code cache), on its own: Node builtins only.
  // It names each unit's code cache with a hash of the unit's content (src/load.ts says why).
  const unitHashes = Object.fromEntries(Object.entries(units).map(([unit, { file }]) => [unit, createHash('sha256').update(file).digest('hex').slice(0, 16)]));
  await build({ ...options, format: 'cjs', banner: {}, plugins: [], define: { __PLAIDBAL_UNIT_HASHES__: JSON.stringify(unitHashes) }, entryPoints: ['src/load.ts'], outfile: join(OUT, 'load.cjs') });
  // The keychain helper, a process of its own that src/store/keychain.ts spawns: Node builtins only.
  await build({ ...options, banner: {}, plugins: [], entryPoints: ['src/store/keychain-helper.mjs'], outfile: join(OUT, 'keychain-helper.mjs') });

  // ---------------------------------------------------------------------------------------------
  // Checks: each fails the build with what to do.

  const { inputs } = metafile;
  const packageOf = (input) => input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1];

  // 1. The stubs and the axios alias still apply (else a dependency changed how it imports them).
  const leaked = Object.keys(inputs).filter((input) => KEPT_OUT.test(input));
  if (leaked.length) fail(`these should have been stubbed or aliased, but were bundled: ${leaked.join(', ')}. Check the plugins against the dependency that imports them.`);
  if (!Object.keys(units.plaid.inputs).some((input) => /node_modules\/plaid\/dist\/api\.js$/.test(input))) fail('plaid/dist/api.js is not in the plaid unit any more.');

  // 2. `--help` and `--version` load the cli unit only: it may hold no heavy package.
  const heavy = [...new Set(Object.keys(units.cli.inputs).map(packageOf))].filter((p) => p && HEAVY.test(p));
  if (heavy.length) fail(`the cli unit (what --help loads) would bundle ${heavy.join(', ')}. Add it to VENDORED and VENDOR_UNITS.`);
  if (/require\(["']node:assert["']\)/.test(units.cli.text)) fail('the cli unit (what --help loads) requires node:assert; a package in it needs a stub in `stubs`.');

  // 3. No dynamic import() is left: it would load from node_modules at run time, and the installed
  //    package has none but the keychain binding.
  //    Comments and strings are blanked first. Each pattern is linear: a quote or apostrophe string
  //    ends at its line's end (a regex literal such as /'/ must not open a string that runs on
  //    through the megabytes after it: the check then took longer than the rest of the build).
  for (const [unit, { text }] of Object.entries(units)) {
    if (/(^|[^\w.$])import\s*\(/m.test(text.replace(/\/\/.*$|\/\*[\s\S]*?\*\/|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`/gm, ''))) {
      fail(`the ${unit} unit still contains a dynamic import(), which would load from node_modules at run time. Bundle what it imports.`);
    }
  }

  // 4. src/ calls only the PlaidApi methods that are kept, and imports no dropped plaid value.
  const { strippedExports } = await trimmedPlaidApi(require.resolve('plaid/dist/api.js'));
  const problems = [];
  for (const file of await sourceFiles(join(ROOT, 'src'))) {
    const code = await readFile(file, 'utf8');
    const name = relative(ROOT, file);
    for (const [, method] of code.matchAll(/\.call\(\s*['"]([a-z][A-Za-z0-9]*)['"]/g)) {
      if (!PLAID_METHODS.includes(method)) problems.push(`${name} calls PlaidApi.${method}: add it to PLAID_METHODS in scripts/build.mjs`);
    }
    for (const [, list] of code.matchAll(/^\s*import\s+(?!type\b)\{([^}]*)\}\s*from\s*['"]plaid['"]/gm)) {
      for (const spec of list.split(',').map((s) => s.trim()).filter((s) => s && !s.startsWith('type '))) {
        const imported = spec.split(/\s+as\s+/)[0];
        if (strippedExports.includes(imported)) problems.push(`${name} imports the value plaid.${imported}, which the bundle leaves out (use \`import type\`)`);
      }
    }
  }
  if (problems.length) fail(problems.join('; '));

  // 5. A bundle of the trimmed plaid, built with the same plugins, loads and makes every kept call.
  await verifyTrimmedPlaid();

  // 6. The units load through dist/load.cjs and the lazy ones stay lazy: loading cli loads no other.
  checkUnitsLoad(Object.keys(units));
}

/**
 * The values src/ imports from plaid, which the plaid unit exports. Only `import { A, B } from
 * 'plaid'` (and `import type`) is understood; any other form fails the build.
 */
async function plaidValueImports() {
  const names = new Set();
  for (const file of await sourceFiles(join(ROOT, 'src'))) {
    const code = await readFile(file, 'utf8');
    for (const [statement, list] of [...code.matchAll(/^\s*import\s+(type\s+)?([^;]*?)\s*from\s*['"]plaid['"]/gm)].map((m) => [m[0], m[1] ? null : m[2]])) {
      if (list === null) continue;
      const braces = /^\{([^}]*)\}$/.exec(list.trim());
      if (!braces) fail(`${relative(ROOT, file)}: \`${statement.trim()}\` — import plaid values by name (\`import { PlaidApi } from 'plaid'\`), so the plaid unit can export exactly those.`);
      for (const spec of braces[1].split(',').map((x) => x.trim()).filter((x) => x && !x.startsWith('type '))) names.add(spec.split(/\s+as\s+/)[0]);
    }
  }
  if (names.size === 0) fail('found no value imported from plaid in src/; is the client still there?');
  return [...names].sort();
}

/** In a fresh process, through dist/load.cjs without a cache: loading cli loads no other unit, and each unit loads on its own. */
function checkUnitsLoad(unitNames) {
  const code = `
    const units = ${JSON.stringify(unitNames)};
    const loader = require(${JSON.stringify(join(OUT, 'load.cjs'))}).unitLoader(${JSON.stringify(OUT)}, ['--help'], {});
    const loaded = () => loader.events.map((event) => event.split(' ')[0]);
    loader.load('cli');
    const first = loaded();
    if (first.join() !== 'cli') throw new Error('loading cli.cjs loaded ' + first.join(', '));
    for (const unit of units) if (Object.keys(loader.load(unit)).length === 0) throw new Error(unit + '.cjs exports nothing');
    process.stdout.write('ok');`;
  const run = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } });
  if (run.status !== 0 || run.stdout !== 'ok') fail(`the units do not load as they should:\n${run.stdout}${run.stderr}${run.error ? run.error.message : ''}`);
}

async function verifyTrimmedPlaid() {
  const { strippedMethods, strippedExports } = await trimmedPlaidApi(require.resolve('plaid/dist/api.js'));
  const check = `
    import * as plaid from 'plaid';
    const requests = [];
    const http = { request: async (config) => { requests.push(config); return { status: 200, data: {} }; } };
    const base = 'https://plaid.invalid';
    const api = new plaid.PlaidApi(new plaid.Configuration({ basePath: base, baseOptions: { headers: { 'PLAID-CLIENT-ID': 'id' } } }), base, http);
    const problems = [];
    const urls = new Set();
    for (const method of ${JSON.stringify(PLAID_METHODS)}) {
      if (typeof api[method] !== 'function') { problems.push('PlaidApi.' + method + ' is missing'); continue; }
      const before = requests.length;
      await api[method]({});
      const r = requests[before];
      if (!r || r.method !== 'POST' || !r.url?.startsWith(base + '/') || r.headers?.['PLAID-CLIENT-ID'] !== 'id' || r.data !== '{}') problems.push('PlaidApi.' + method + ' made no proper request: ' + JSON.stringify(r && { method: r.method, url: r.url }));
      else urls.add(r.url);
    }
    if (urls.size !== ${PLAID_METHODS.length}) problems.push('the kept methods do not call ${PLAID_METHODS.length} different endpoints');
    if (plaid[${JSON.stringify(strippedExports[0])}] !== undefined) problems.push('a left-out enum is still there');
    for (const [what, use] of [['a left-out method', () => api[${JSON.stringify(strippedMethods[0])}]({})]]) {
      try { use(); problems.push(what + ' did not throw'); } catch (e) { if (!/not in the plaidbal bundle/.test(e.message)) problems.push(what + ' threw ' + e.message); }
    }
    process.stdout.write(problems.length ? problems.join('\\n') : 'ok');
  `;
  const bundled = await build({ ...options, stdin: { contents: check, resolveDir: ROOT, sourcefile: 'verify-plaid.mjs' }, write: false });
  const dir = await mkdtemp(join(tmpdir(), 'plaidbal-build-'));
  try {
    const file = join(dir, 'verify-plaid.mjs');
    await writeFile(file, bundled.outputFiles[0].text);
    const run = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 });
    if (run.status !== 0 || run.stdout !== 'ok') fail(`the trimmed plaid client does not work:\n${run.stdout}${run.stderr}${run.error ? run.error.message : ''}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function sourceFiles(dir) {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(entries.map((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.m?ts$/.test(e.name) ? [join(dir, e.name)] : [])));
  return files.flat();
}
