/**
 * Store files of random bytes, random text, and JSON-ish mutations of a real store (keys
 * deleted, types changed, numbers replaced, text truncated at random offsets). Every command
 * that reads the store either says it "cannot be read" (exit 3) and leaves it byte-identical,
 * or, for a mutation that is still a well-formed store, works or fails cleanly with a
 * documented code; never exit 1, never a crash.
 */
import { readFile, writeFile } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentProblem } from '../../src/store/document.js';
import { TEST_SECRET, type World } from '../helpers/world.js';
import { describeRun, explainsFailure, FAILURE_CODES, fuzz, fuzzWorld, messageProblems, registered, sameFiles } from './support.js';
import { binaryString } from '../helpers/code-points.js';

const NEW_PASSPHRASE = 'a brand new passphrase for rekey';

interface Baseline {
  world: World;
  bytes: Buffer;
  source: 'keychain' | 'passphrase';
  account: string;
}

let passphrase: Baseline;
let keychain: Baseline;
let hasCheck = false;
let hasStatus = false;
let fresh = 0;

const baselines = () => ({ keychain, passphrase });

async function baseline(source: 'keychain' | 'passphrase'): Promise<Baseline> {
  const world = await fuzzWorld({ PLAIDBAL_NEW_PASSPHRASE: NEW_PASSPHRASE });
  expect((await world.init(source)).code).toBe(0);
  await world.link('demo');
  await world.link('second', '--institution', 'ins_109511');
  const account = world.emulator.items()[0]!.accounts[0]!.account_id;
  return { world, bytes: await readFile(world.store.file), source, account };
}

beforeAll(async () => {
  [passphrase, keychain, hasCheck, hasStatus] = await Promise.all([baseline('passphrase'), baseline('keychain'), registered('check'), registered('items', 'status')]);
});
afterAll(async () => {
  await passphrase?.world.close();
  await keychain?.world.close();
});

/** Every command that reads the store, with what it needs. */
function commands(b: Baseline): { args: string[]; stdin?: string }[] {
  const list: { args: string[]; stdin?: string }[] = [
    { args: ['items'] },
    { args: ['items', '--json'] },
    { args: ['balance', '--item', 'demo'] },
    { args: ['balance', '--all', '--json'] },
    { args: ['config', 'show'] },
    { args: ['config', 'show', '--json'] },
    { args: ['link', '--sandbox', '--name', `new${++fresh}`] },
    { args: ['items', 'rename', 'demo', `renamed${++fresh}`] },
    // --local: a successful removal at Plaid would leave the baseline's token dead for later runs.
    { args: ['items', 'remove', 'second', '--yes', '--local'] },
    { args: ['config', 'init', '--env', 'sandbox', '--client-id', 'fuzz_client_id', '--secret-stdin'], stdin: TEST_SECRET },
  ];
  // A keychain rekey deletes the baseline's keychain entry, which every later run needs.
  if (b.source === 'passphrase') list.push({ args: ['config', 'rekey'] });
  if (hasCheck) list.push({ args: ['check', '--item', 'demo', '--account', b.account, '--amount', '1'] });
  if (hasStatus) list.push({ args: ['items', 'status', 'demo'] });
  return list;
}

// ---------------------------------------------------------------------------------------------
// Mutations of a real store

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type PathKey = string | number;

function paths(value: Json, prefix: PathKey[] = []): PathKey[][] {
  const out: PathKey[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

/**
 * Numbers that make scrypt or the code around it choke. Deliberately not random integers: a
 * random r or p (or a large power of two for N) makes scrypt take seconds and gigabytes.
 */
const ODD_NUMBERS = [0, -1, 1, 3, 1.5, -0.5, 2 ** 31, 2 ** 32, 2 ** 53, 1e300, -1e300];

const replacement: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, '', 'x', [], {}, [1, 2], { a: 1 }, 'v1.AAAA.BBBB.CCCC', 'sandbox', 'production', 'keychain', 'passphrase'),
  fc.constantFrom(...ODD_NUMBERS),
  fc.string({ maxLength: 12 }),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
);

const mutation = fc.record({ at: fc.nat(), op: fc.constantFrom('delete', 'replace', 'replace', 'number', 'number', 'duplicate'), value: replacement, number: fc.constantFrom(...ODD_NUMBERS) });

/** The fields with meaning beyond their shape: the key and its parameters, the sealed values and what they are bound to. */
const SEMANTIC = /^(version|store_id|key(\.(source|account|check|kdf(\.(N|r|p|salt|name))?))?|profiles\.\w+\.(secret|client_id)|items\.\d+\.(access_token|item_id|environment|alias))$/;

function mutate(original: Json, steps: { at: number; op: string; value: Json; number: number }[], focus: 'anywhere' | 'semantic' = 'anywhere'): Json {
  const doc = structuredClone(original) as Json;
  for (const step of steps) {
    const all = paths(doc).filter((p) => p.length > 0 && (focus === 'anywhere' || SEMANTIC.test(p.join('.'))));
    if (all.length === 0) break;
    const path = all[step.at % all.length]!;
    const parent = path.slice(0, -1).reduce<Json>((node, key) => (node as Record<PathKey, Json>)[key]!, doc) as Record<PathKey, Json> | Json[];
    const key = path.at(-1)!;
    const current = (parent as Record<PathKey, Json>)[key];
    if (step.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
    } else if (step.op === 'number') {
      (parent as Record<PathKey, Json>)[key] = typeof current === 'number' ? step.number : step.value;
    } else if (step.op === 'duplicate' && Array.isArray(parent)) {
      parent.push(structuredClone(current) as Json);
    } else {
      (parent as Record<PathKey, Json>)[key] = step.value;
    }
  }
  return doc;
}

/**
 * Mutations of the semantic fields that keep each value's type (a number for a number, a string
 * for a string, often one taken from elsewhere in the store): stores that still parse, but lie.
 */
function semanticMutation(base: Buffer): fc.Arbitrary<Buffer> {
  const json = JSON.parse(base.toString('utf8')) as Json;
  const step = fc.record({ inKey: fc.boolean(), at: fc.nat(), number: fc.constantFrom(...ODD_NUMBERS), text: fc.oneof(fc.constantFrom('', 'sandbox', 'production', 'keychain', 'passphrase', 'scrypt', 'v1.AAAA.BBBB.CCCC', 'AAAAAAAAAAAAAAAAAAAAAA'), fc.string({ maxLength: 12 })), swap: fc.nat() });
  return fc.array(step, { minLength: 1, maxLength: 2 }).map((steps) => {
    const doc = structuredClone(json);
    const strings = paths(doc).map((p) => p.reduce<Json>((node, key) => (node as Record<PathKey, Json>)[key]!, doc)).filter((v): v is string => typeof v === 'string');
    for (const { inKey, at, number, text, swap } of steps) {
      // Half the time within the key section: what unlocking the store reads first.
      const all = paths(doc).filter((p) => SEMANTIC.test(p.join('.')) && (!inKey || p[0] === 'key'));
      const path = all[at % all.length]!;
      const parent = path.slice(0, -1).reduce<Json>((node, key) => (node as Record<PathKey, Json>)[key]!, doc) as Record<PathKey, Json>;
      const key = path.at(-1)!;
      const current = parent[key];
      if (typeof current === 'number') parent[key] = number;
      else if (typeof current === 'string') parent[key] = swap % 2 ? strings[swap % strings.length]! : text;
    }
    return Buffer.from(JSON.stringify(doc));
  });
}

function storeContent(base: Buffer): fc.Arbitrary<Buffer> {
  const json = JSON.parse(base.toString('utf8')) as Json;
  const mutated = fc
    .record({ steps: fc.array(mutation, { minLength: 1, maxLength: 3 }), indent: fc.constantFrom(0, 2, '\t'), cut: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { freq: 4 }) })
    .map(({ steps, indent, cut }) => {
      const text = JSON.stringify(mutate(json, steps), null, indent);
      return Buffer.from(cut === null ? text : text.slice(0, Math.floor(text.length * cut)));
    });
  return fc.oneof(
    { weight: 6, arbitrary: mutated },
    { weight: 2, arbitrary: fc.nat(base.length).map((n) => base.subarray(0, n)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: binaryString({ maxLength: 200 }).map((s) => Buffer.from(s)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)) },
    { weight: 1, arbitrary: fc.constantFrom('', '{}', '[]', 'null', '"store"', '0', 'true', '{"version":1}', `\ufeff${base.toString('utf8')}`, `${base.toString('utf8')}\n{}`).map((s) => Buffer.from(s)) },
  );
}

/** Whether plaidbal must refuse the file: what conf hands over (JSON.parse, copied onto an object) fails documentProblem. */
function unreadable(bytes: Buffer): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return true;
  }
  return documentProblem(Object.assign(Object.create(null), parsed)) !== null;
}

async function runOn(b: Baseline, bytes: Buffer, command: { args: string[]; stdin?: string }) {
  await writeFile(b.world.store.file, bytes);
  const before = await b.world.store.snapshot();
  const result = await b.world.run(command.args, { stdin: command.stdin });
  const unchanged = sameFiles(before, await b.world.store.snapshot());
  return { result, unchanged };
}

describe('store files that are not what plaidbal wrote', () => {
  it('random bytes, random text and mutations of a real store: "cannot be read" (exit 3) and untouched, or a clean outcome', async () => {
    // The generated value names the baseline rather than holding it, so a counterexample prints small.
    const run = fc.record({ source: fc.constantFrom('keychain' as const, 'passphrase' as const), pick: fc.nat() }).chain(({ source, pick }) =>
      storeContent(baselines()[source].bytes).map((bytes) => ({ source, bytes, pick })),
    );
    await fc.assert(
      fc.asyncProperty(run, async ({ source, bytes, pick }) => {
        const b = baselines()[source];
        const list = commands(b);
        const command = list[pick % list.length]!;
        const { result, unchanged } = await runOn(b, bytes, command);
        const what = `${b.source} store, content ${JSON.stringify(bytes.toString('utf8').slice(0, 400))}\n${describeRun(command.args, result)}`;
        expect(result.signal, what).toBeNull();
        if (unreadable(bytes)) {
          expect(result.code, what).toBe(3);
          expect(result.stderr, what).toContain('cannot be read');
          expect(result.stderr, what).toContain('left exactly as it is');
          expect(unchanged, `the store changed: ${what}`).toBe(true);
        } else {
          expect([0, ...FAILURE_CODES], what).toContain(result.code);
          if (result.code !== 0) {
            expect(unchanged, `the store changed: ${what}`).toBe(true);
            expect(explainsFailure(result), what).toBe(true);
            expect(messageProblems(result.stderr, command.args), what).toEqual([]);
          }
        }
        expect(result.stderr, what).not.toMatch(/Unexpected error/);
      }),
      fuzz(20, { spawns: true }),
    );
  });

  it('mutations of the key section, the sealed values and what they are bound to: commands that unlock fail cleanly (exit 3), or work', async () => {
    const unlocking = (b: Baseline) => commands(b).filter((c) => !['items', 'config'].includes(c.args[0]!) || c.args[1] === 'rekey' || c.args[1] === 'init');
    const run = fc.record({ source: fc.constantFrom('keychain' as const, 'passphrase' as const), pick: fc.nat() }).chain(({ source, pick }) =>
      semanticMutation(baselines()[source].bytes).map((bytes) => ({ source, bytes, pick })),
    );
    await fc.assert(
      fc.asyncProperty(run, async ({ source, bytes, pick }) => {
        const b = baselines()[source];
        const list = unlocking(b);
        const command = list[pick % list.length]!;
        const { result, unchanged } = await runOn(b, bytes, command);
        const what = `${b.source} store, content ${JSON.stringify(bytes.toString('utf8').slice(0, 600))}\n${describeRun(command.args, result)}`;
        expect(result.signal, what).toBeNull();
        expect([0, ...FAILURE_CODES], what).toContain(result.code);
        if (unreadable(bytes)) expect(result.stderr, what).toContain('cannot be read');
        if (result.code !== 0) {
          expect(unchanged, `the store changed: ${what}`).toBe(true);
          expect(explainsFailure(result), what).toBe(true);
          expect(messageProblems(result.stderr, command.args), what).toEqual([]);
        }
      }),
      fuzz(14, { spawns: true }),
    );
  });
});

describe('found by the property', () => {
  it.each([
    ['N = 3 (not a power of two)', { N: 3 }],
    ['N = -1', { N: -1 }],
    ['N = 2**40', { N: 2 ** 40 }],
    ['r = 0', { r: 0 }],
    ['p = 2**32', { p: 2 ** 32 }],
  ])('edited scrypt parameters (%s) are a store that cannot be read (exit 3), not an unexpected error (exit 1)', async (_what, kdf) => {
    const doc = JSON.parse(passphrase.bytes.toString('utf8'));
    Object.assign(doc.key.kdf, kdf);
    const bytes = Buffer.from(JSON.stringify(doc));
    const { result, unchanged } = await runOn(passphrase, bytes, { args: ['balance', '--item', 'demo'] });
    expect(result.code, describeRun(['balance', '--item', 'demo'], result)).toBe(3);
    expect(result.stderr).toContain('cannot be read');
    expect(unchanged).toBe(true);
  });

  it('a store with no version (or not an object at all) says so without "undefined"', async () => {
    for (const content of ['{}', '[]', 'null', '"store"']) {
      const { result, unchanged } = await runOn(passphrase, Buffer.from(content), { args: ['items'] });
      expect(result.code).toBe(3);
      expect(unchanged).toBe(true);
      expect(messageProblems(result.stderr), `${content}: ${result.stderr}`).toEqual([]);
    }
  });
});
