/**
 * The contract checker: validates request and response bodies against Plaid's official
 * OpenAPI spec (2020-09-14), the contract both the emulator and plaidbal must honour.
 *
 * The spec is found through $PLAID_OPENAPI_SPEC, else `<repo>/../shared/plaid-openapi/2020-09-14.yml`.
 * Parsing the whole YAML is slow next to reading JSON, so the converted schemas are cached as JSON in
 * `node_modules/.cache/plaidbal-openapi/<hash of the spec>.json`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { it } from 'vitest';
import type { RecordedRequest } from '../emulator/types.js';

export const SPEC_ENV = 'PLAID_OPENAPI_SPEC';
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CACHE_DIR = path.join(REPO_ROOT, 'node_modules', '.cache', 'plaidbal-openapi');
/** Bump when the conversion below changes, so old caches are not reused. */
const CACHE_FORMAT = 'v1';
const SPEC_ID = 'https://plaidbal.test/plaid-openapi.json';

export interface ValidationResult {
  ok: boolean;
  errors: string[];
}

export interface Contract {
  readonly specPath: string;
  /** `info.version` of the spec, e.g. 2020-09-14_1.697.4. */
  readonly version: string;
  /** The API version the spec describes, sent as the Plaid-Version header: 2020-09-14. */
  readonly apiVersion: string;
  /** How the spec was loaded: from the JSON cache or by parsing the YAML, and how long it took. */
  readonly load: { fromCache: boolean; ms: number };
  hasPath(path: string): boolean;
  validateRequest(path: string, body: unknown): ValidationResult;
  validateResponse(path: string, status: number, body: unknown): ValidationResult;
  /** Credentials (headers or body) and the Plaid-Version header, as the spec's `security` requires. */
  validateHeaders(headers: Record<string, string | string[] | undefined>, body: unknown): ValidationResult;
}

/** Where the spec should be: $PLAID_OPENAPI_SPEC, else next to the repository. */
export function expectedSpecPath(): string {
  return process.env[SPEC_ENV] || path.resolve(REPO_ROOT, '..', 'shared', 'plaid-openapi', '2020-09-14.yml');
}

/** The spec's path, or null when it is not there. */
export function specPath(): string | null {
  const candidate = expectedSpecPath();
  return existsSync(candidate) ? candidate : null;
}

export const isCI = (): boolean => !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

export function missingSpecBanner(): string {
  const line = '='.repeat(100);
  return `\n${line}\nCONTRACT TEST NOT RUN: Plaid OpenAPI spec not found at ${expectedSpecPath()}; set ${SPEC_ENV}\n${line}\n`;
}

// ---------------------------------------------------------------------------------------------
// Loading: YAML (or the JSON cache) -> JSON Schema

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Operation {
  request: Json | null;
  responses: Record<string, Json>;
}

/** What the cache holds: only what validation needs, already converted to JSON Schema. */
interface ConvertedSpec {
  version: string;
  operations: Record<string, Operation>;
  schemas: Record<string, Json>;
}

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Keywords that only document; `discriminator` is OpenAPI's and not enforced by Ajv without extra setup. */
const ANNOTATIONS = new Set(['description', 'example', 'examples', 'externalDocs', 'title', 'deprecated', 'discriminator', 'xml']);

/**
 * OpenAPI 3.0 schema -> JSON Schema (draft-07, as Ajv runs it):
 * `nullable: true` becomes a `null` type (or an anyOf with null when there is no `type`),
 * boolean `exclusiveMinimum`/`exclusiveMaximum` become numbers, annotations and `x-` keys go.
 */
function toJsonSchema(schema: Json): Json {
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(key) || key.startsWith('x-')) continue;
    if ((key === 'properties' || key === 'patternProperties') && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, toJsonSchema(sub)]));
    } else if ((key === 'allOf' || key === 'anyOf' || key === 'oneOf') && Array.isArray(value)) {
      out[key] = value.map(toJsonSchema);
    } else if (key === 'items' || key === 'additionalProperties' || key === 'not') {
      out[key] = Array.isArray(value) ? value.map(toJsonSchema) : toJsonSchema(value);
    } else {
      out[key] = value;
    }
  }
  for (const [bound, limit] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    if (typeof out[bound] === 'boolean') {
      if (out[bound] === true && typeof out[limit] === 'number') {
        out[bound] = out[limit];
        delete out[limit];
      } else {
        delete out[bound];
      }
    }
  }
  if (out.nullable !== true) {
    delete out.nullable;
    return out;
  }
  delete out.nullable;
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  if (typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    return out;
  }
  return { anyOf: [{ type: 'null' }, out] };
}

function jsonBodySchema(content: Json | undefined): Json | null {
  if (!isObject(content)) return null;
  const json = content['application/json'];
  return isObject(json) && json.schema !== undefined ? toJsonSchema(json.schema) : null;
}

function convert(doc: JsonObject): ConvertedSpec {
  const info = isObject(doc.info) ? doc.info : {};
  const operations: Record<string, Operation> = {};
  for (const [p, item] of Object.entries(isObject(doc.paths) ? doc.paths : {})) {
    const post = isObject(item) && isObject(item.post) ? item.post : null;
    if (!post) continue;
    const requestBody = isObject(post.requestBody) ? post.requestBody : {};
    const responses: Record<string, Json> = {};
    for (const [status, response] of Object.entries(isObject(post.responses) ? post.responses : {})) {
      const schema = isObject(response) ? jsonBodySchema(response.content) : null;
      if (schema !== null) responses[status] = schema;
    }
    operations[p] = { request: jsonBodySchema(requestBody.content), responses };
  }
  const components = isObject(doc.components) && isObject(doc.components.schemas) ? doc.components.schemas : {};
  const schemas = Object.fromEntries(Object.entries(components).map(([name, schema]) => [name, toJsonSchema(schema)]));
  return { version: String(info.version ?? 'unknown'), operations, schemas };
}

async function readConverted(file: string): Promise<{ spec: ConvertedSpec; fromCache: boolean; ms: number }> {
  const started = performance.now();
  const content = await readFile(file);
  const hash = createHash('sha256').update(content).update(CACHE_FORMAT).digest('hex').slice(0, 24);
  const cacheFile = path.join(CACHE_DIR, `${hash}.json`);
  if (existsSync(cacheFile)) {
    try {
      const spec = JSON.parse(await readFile(cacheFile, 'utf8')) as ConvertedSpec;
      return { spec, fromCache: true, ms: performance.now() - started };
    } catch {
      // A damaged cache is rebuilt below.
    }
  }
  const spec = convert(parseYaml(content.toString('utf8'), { uniqueKeys: false }) as JsonObject);
  try {
    // Test files run in parallel workers: write aside, then rename into place.
    mkdirSync(CACHE_DIR, { recursive: true });
    const partial = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify(spec));
    renameSync(partial, cacheFile);
  } catch {
    // No cache (read-only checkout): slower, still correct.
  }
  return { spec, fromCache: false, ms: performance.now() - started };
}

// ---------------------------------------------------------------------------------------------
// Validation

const pointer = (...segments: string[]) => `#/${segments.map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

function describe(error: ErrorObject): string {
  const where = error.instancePath || '(body)';
  const params = error.params as Record<string, unknown>;
  const detail =
    params.additionalProperty !== undefined
      ? ` (${String(params.additionalProperty)})`
      : params.allowedValues !== undefined
        ? ` (${JSON.stringify(params.allowedValues).slice(0, 200)})`
        : '';
  return `${where} ${error.message ?? 'is invalid'}${detail}`;
}

function createContract(file: string, spec: ConvertedSpec, load: Contract['load']): Contract {
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, unicodeRegExp: false });
  formats.default(ajv);
  // OpenAPI formats outside JSON Schema: not checked.
  for (const format of ['url', 'cognito_id']) ajv.addFormat(format, true);
  ajv.addSchema({ $id: SPEC_ID, operations: spec.operations, components: { schemas: spec.schemas } } as unknown as object);
  const validators = new Map<string, ValidateFunction>();
  const apiVersion = spec.version.split('_')[0] ?? spec.version;

  function run(ref: string, body: unknown, label: string): ValidationResult {
    let validate = validators.get(ref);
    if (!validate) {
      validate = ajv.compile({ $ref: `${SPEC_ID}${ref}` });
      validators.set(ref, validate);
    }
    return validate(body) ? { ok: true, errors: [] } : { ok: false, errors: (validate.errors ?? []).map((e) => `${label}: ${describe(e)}`) };
  }

  const unknownPath = (p: string): ValidationResult => ({ ok: false, errors: [`${p} is not a POST endpoint of the Plaid API (spec ${spec.version})`] });

  return {
    specPath: file,
    version: spec.version,
    apiVersion,
    load,
    hasPath: (p) => Object.hasOwn(spec.operations, p),

    validateRequest(p, body) {
      const operation = Object.hasOwn(spec.operations, p) ? spec.operations[p] : undefined;
      if (!operation) return unknownPath(p);
      const label = `request ${p}`;
      if (!isObject(body)) return { ok: false, errors: [`${label}: the body must be a JSON object`] };
      if (operation.request === null) return { ok: true, errors: [] };
      const result = run(pointer('operations', p, 'request'), body, label);
      // The schemas allow unknown properties, but Plaid answers them with UNKNOWN_FIELDS.
      const known = isObject(operation.request) && operation.request.$ref ? spec.schemas[String(operation.request.$ref).split('/').pop() ?? ''] : operation.request;
      if (isObject(known) && isObject(known.properties)) {
        const properties = known.properties;
        for (const field of Object.keys(body)) {
          if (!Object.hasOwn(properties, field)) result.errors.push(`${label}: unknown field ${field} (Plaid answers UNKNOWN_FIELDS)`);
        }
      }
      return { ok: result.errors.length === 0, errors: result.errors };
    },

    validateResponse(p, status, body) {
      const operation = Object.hasOwn(spec.operations, p) ? spec.operations[p] : undefined;
      if (!operation) return unknownPath(p);
      const label = `response ${status} ${p}`;
      if (!isObject(body)) return { ok: false, errors: [`${label}: the body must be a JSON object`] };
      if (status >= 200 && status < 300) {
        if (!operation.responses['200']) return { ok: false, errors: [`${label}: the spec defines no 200 response`] };
        return run(pointer('operations', p, 'responses', '200'), body, label);
      }
      if (status < 400 || status > 599) return { ok: false, errors: [`${label}: ${status} is neither a success nor an error status`] };
      // Every error, whatever the status, is a PlaidError (the `default` response).
      const ref = operation.responses[String(status)] ? pointer('operations', p, 'responses', String(status)) : pointer('components', 'schemas', 'PlaidError');
      return run(ref, body, label);
    },

    validateHeaders(headers, body) {
      const errors: string[] = [];
      const value = (name: string) => {
        const v = headers[name.toLowerCase()];
        return Array.isArray(v) ? v[0] : v;
      };
      const fromBody = (field: string) => (isObject(body) && typeof body[field] === 'string' ? body[field] : undefined);
      if (!value('PLAID-CLIENT-ID') && !fromBody('client_id')) errors.push('no client id: neither a PLAID-CLIENT-ID header nor client_id in the body');
      if (!value('PLAID-SECRET') && !fromBody('secret')) errors.push('no secret: neither a PLAID-SECRET header nor secret in the body');
      const version = value('Plaid-Version');
      if (version !== apiVersion) errors.push(`Plaid-Version header is ${version === undefined ? 'missing' : JSON.stringify(version)}; the contract is ${apiVersion}`);
      return { ok: errors.length === 0, errors };
    },
  };
}

const loaded = new Map<string, Promise<Contract>>();

/** The contract, parsed once per process (and cached on disk); null when the spec is missing. */
export async function loadContract(): Promise<Contract | null> {
  const file = specPath();
  if (!file) return null;
  let contract = loaded.get(file);
  if (!contract) {
    contract = readConverted(file).then(({ spec, fromCache, ms }) => createContract(file, spec, { fromCache, ms }));
    loaded.set(file, contract);
  }
  return contract;
}

// ---------------------------------------------------------------------------------------------
// Checking a whole emulator log

/** Every violation in an emulator request log: requests, headers and responses. */
/**
 * The contract for a test file, or null when the spec is missing. A missing spec is never
 * silent: the file gets a test that fails on CI, and a loudly named skip elsewhere.
 */
export async function loadContractOrGuard(): Promise<Contract | null> {
  const contract = await loadContract();
  if (contract) return contract;
  console.warn(missingSpecBanner());
  if (isCI()) {
    it('Plaid OpenAPI spec is present on CI', () => {
      throw new Error(missingSpecBanner());
    });
  } else {
    it.skip(`CONTRACT TEST NOT RUN: Plaid OpenAPI spec not found at ${expectedSpecPath()}; set ${SPEC_ENV}`, () => {});
  }
  return null;
}

export function contractViolations(contract: Contract, requests: readonly RecordedRequest[]): string[] {
  const violations: string[] = [];
  requests.forEach((r, index) => {
    const where = `#${index} ${r.method} ${r.path}`;
    if (r.method !== 'POST') violations.push(`${where}: Plaid's API is POST only`);
    const problems = [...contract.validateRequest(r.path, r.body).errors, ...contract.validateHeaders(r.headers, r.body).errors];
    // Deliberate transport faults (hang, reset, truncated or non-JSON bodies) have no response to check.
    if (r.fault === undefined || r.fault === 'error') problems.push(...contract.validateResponse(r.path, r.status, r.response).errors);
    violations.push(...[...new Set(problems)].map((problem) => `${where}: ${problem}`));
  });
  return violations;
}

/**
 * Asserts that every request in an emulator log (e.g. what plaidbal sent in an end-to-end test)
 * and every response it got conform to Plaid's spec. When the spec is missing it fails on CI
 * and warns loudly elsewhere.
 */
export async function assertConformsToContract(requests: readonly RecordedRequest[]): Promise<void> {
  const contract = await loadContract();
  if (!contract) {
    if (isCI()) throw new Error(missingSpecBanner());
    console.warn(missingSpecBanner());
    return;
  }
  const violations = contractViolations(contract, requests);
  if (violations.length > 0) {
    throw new Error(`${violations.length} contract violation(s) against Plaid OpenAPI ${contract.version}:\n  ${violations.join('\n  ')}`);
  }
}
