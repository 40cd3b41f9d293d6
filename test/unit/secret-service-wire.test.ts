/**
 * Property tests for the D-Bus wire format in src/store/secret-service.ts, the part of plaidbal
 * that parses bytes another process sends it.
 *
 * - Whatever the bytes (random, truncated, mutated, or a valid message with anything after it),
 *   the decoder answers with a value, "need more bytes" (undefined), or a BusError: never another
 *   exception, and never a value read from beyond the bytes it was given.
 * - Encode → decode round-trips, for every type the decoder reads. The encoder here is written
 *   from the marshalling rules of the D-Bus specification, independently of WireWriter:
 *   https://dbus.freedesktop.org/doc/dbus-specification.html#message-protocol-marshaling
 *   so it checks the decoder on both byte orders and on the types WireWriter never writes, and
 *   WireWriter must produce the very same bytes for the types it does write.
 */
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BusError, decodeMessage, encodeCall, lookupSecrets, parseSignature, WireReader, WireWriter } from '../../src/store/secret-service.js';
import { binaryString } from '../helpers/code-points.js';

// ------------------------------------------------------------------------------------------------
// Types and values, in the decoder's representation:
// y n q i u h → number, b → boolean, x t → bigint, d → number, s o g → string,
// v → [signature, value], ay → Buffer, other arrays → array, struct and dict entry → array.

type T =
  | { code: 'y' | 'b' | 'n' | 'q' | 'i' | 'u' | 'h' | 'x' | 't' | 'd' | 's' | 'o' | 'g' | 'v' }
  | { code: 'a'; element: T }
  | { code: '('; fields: T[] }
  | { code: '{'; key: T; value: T };

const BASIC = ['y', 'b', 'n', 'q', 'i', 'u', 'h', 'x', 't', 'd', 's', 'o', 'g'] as const;

function sig(t: T): string {
  switch (t.code) {
    case 'a':
      return `a${sig(t.element)}`;
    case '(':
      return `(${t.fields.map(sig).join('')})`;
    case '{':
      return `{${sig(t.key)}${sig(t.value)}}`;
    default:
      return t.code;
  }
}

/** Complete types, nested a few levels; dict entries only as array elements, keyed by a basic type (spec). */
const typeArb: fc.Arbitrary<T> = fc.letrec<{ type: T }>((tie) => ({
  type: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...BASIC, 'v' as const).map((code): T => ({ code })),
    tie('type').map((element): T => ({ code: 'a', element })),
    fc.array(tie('type'), { minLength: 1, maxLength: 4 }).map((fields): T => ({ code: '(', fields })),
    fc
      .tuple(fc.constantFrom(...BASIC).map((code): T => ({ code })), tie('type'))
      .map(([key, value]): T => ({ code: 'a', element: { code: '{', key, value } })),
  ),
})).type.filter((t) => sig(t).length <= 60);

const objectPath = fc.oneof(
  fc.constant('/'),
  fc.array(fc.stringMatching(/^[A-Za-z0-9_]{1,12}$/), { minLength: 1, maxLength: 5 }).map((parts) => `/${parts.join('/')}`),
);
/** D-Bus strings are UTF-8 without NUL (spec: "must not contain nul bytes"). */
const dbusString = binaryString({ maxLength: 40 }).filter((s) => !s.includes('\0'));

function valueArb(t: T, depth = 0): fc.Arbitrary<unknown> {
  switch (t.code) {
    case 'y':
      return fc.integer({ min: 0, max: 0xff });
    case 'b':
      return fc.boolean();
    case 'n':
      return fc.integer({ min: -0x8000, max: 0x7fff });
    case 'q':
      return fc.integer({ min: 0, max: 0xffff });
    case 'i':
      return fc.integer({ min: -0x80000000, max: 0x7fffffff });
    case 'u':
    case 'h':
      return fc.integer({ min: 0, max: 0xffffffff });
    case 'x':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 't':
      return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
    case 'd':
      return fc.double();
    case 's':
      return dbusString;
    case 'o':
      return objectPath;
    case 'g':
      return fc.array(typeArb, { maxLength: 3 }).map((ts) => ts.map(sig).join(''));
    case 'v':
      // Keep variants from nesting without end: past two levels, hold a basic type.
      return (depth < 2 ? typeArb : fc.constantFrom(...BASIC).map((code): T => ({ code }))).chain((inner) =>
        valueArb(inner, depth + 1).map((value) => [sig(inner), value]),
      );
    case 'a':
      if (t.element.code === 'y') return fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes));
      return fc.array(valueArb(t.element, depth + 1), { maxLength: 4 });
    case '(':
      return fc.tuple(...t.fields.map((field) => valueArb(field, depth + 1)));
    case '{':
      return fc.tuple(valueArb(t.key, depth + 1), valueArb(t.value, depth + 1));
  }
}

const typedValues = fc
  .array(typeArb, { minLength: 1, maxLength: 4 })
  .chain((types) => fc.tuple(fc.constant(types), fc.tuple(...types.map((t) => valueArb(t)))));

// ------------------------------------------------------------------------------------------------
// The test-side encoder, from the specification's marshalling table.

function alignOf(t: T): number {
  switch (t.code) {
    case 'y':
    case 'g':
    case 'v':
      return 1;
    case 'n':
    case 'q':
      return 2;
    case 'x':
    case 't':
    case 'd':
    case '(':
    case '{':
      return 8;
    default:
      return 4; // b i u h s o a
  }
}

class SpecEncoder {
  private readonly bytes: number[] = [];
  constructor(private readonly le: boolean) {}

  get length(): number {
    return this.bytes.length;
  }

  buffer(): Buffer {
    return Buffer.from(this.bytes);
  }

  pad(n: number): void {
    while (this.bytes.length % n !== 0) this.bytes.push(0);
  }

  private fixed(size: number, write: (b: Buffer) => void): void {
    this.pad(size);
    const b = Buffer.alloc(size);
    write(b);
    this.bytes.push(...b);
  }

  u32(v: number): void {
    this.fixed(4, (b) => (this.le ? b.writeUInt32LE(v) : b.writeUInt32BE(v)));
  }

  put(t: T, v: unknown): void {
    const le = this.le;
    switch (t.code) {
      case 'y':
        this.bytes.push(v as number);
        return;
      case 'b':
        return this.u32(v ? 1 : 0);
      case 'n':
        return this.fixed(2, (b) => (le ? b.writeInt16LE(v as number) : b.writeInt16BE(v as number)));
      case 'q':
        return this.fixed(2, (b) => (le ? b.writeUInt16LE(v as number) : b.writeUInt16BE(v as number)));
      case 'i':
        return this.fixed(4, (b) => (le ? b.writeInt32LE(v as number) : b.writeInt32BE(v as number)));
      case 'u':
      case 'h':
        return this.u32(v as number);
      case 'x':
        return this.fixed(8, (b) => (le ? b.writeBigInt64LE(v as bigint) : b.writeBigInt64BE(v as bigint)));
      case 't':
        return this.fixed(8, (b) => (le ? b.writeBigUInt64LE(v as bigint) : b.writeBigUInt64BE(v as bigint)));
      case 'd':
        return this.fixed(8, (b) => (le ? b.writeDoubleLE(v as number) : b.writeDoubleBE(v as number)));
      case 's':
      case 'o': {
        // UINT32 length in bytes, the UTF-8 bytes, a terminating nul.
        const text = Buffer.from(v as string, 'utf8');
        this.u32(text.length);
        this.bytes.push(...text, 0);
        return;
      }
      case 'g': {
        // A single byte length, the ASCII bytes, a terminating nul.
        const text = Buffer.from(v as string, 'ascii');
        this.bytes.push(text.length, ...text, 0);
        return;
      }
      case 'v': {
        // The signature of the single complete type, then the value marshalled as that type.
        const [signature, inner] = v as [string, unknown];
        this.put({ code: 'g' }, signature);
        return this.put(specType(signature), inner);
      }
      case 'a': {
        // UINT32 length in bytes of the elements, excluding the padding after the length,
        // which aligns to the element type even when the array is empty.
        this.pad(4);
        const at = this.bytes.length;
        this.u32(0);
        this.pad(alignOf(t.element));
        const start = this.bytes.length;
        for (const item of v as Iterable<unknown>) this.put(t.element, item);
        const length = Buffer.alloc(4);
        if (le) length.writeUInt32LE(this.bytes.length - start);
        else length.writeUInt32BE(this.bytes.length - start);
        this.bytes.splice(at, 4, ...length);
        return;
      }
      case '(': {
        this.pad(8);
        t.fields.forEach((field, i) => this.put(field, (v as unknown[])[i]));
        return;
      }
      case '{': {
        this.pad(8);
        this.put(t.key, (v as unknown[])[0]);
        this.put(t.value, (v as unknown[])[1]);
        return;
      }
    }
  }
}

/** The test's own signature parser, for one complete type. */
function specType(signature: string): T {
  let i = 0;
  const one = (): T => {
    const code = signature[i++]!;
    if (code === 'a') return { code, element: one() };
    if (code === '(') {
      const fields: T[] = [];
      while (signature[i] !== ')') fields.push(one());
      i++;
      return { code, fields };
    }
    if (code === '{') {
      const key = one();
      const value = one();
      i++;
      return { code, key, value };
    }
    return { code } as T;
  };
  const t = one();
  if (i !== signature.length) throw new Error(`not one complete type: ${signature}`);
  return t;
}

function encode(types: T[], values: unknown[], le: boolean): Buffer {
  const e = new SpecEncoder(le);
  types.forEach((t, i) => e.put(t, values[i]));
  return e.buffer();
}

/** Types WireWriter writes (what plaidbal sends: a{ss}, sv, aoo and the header's a(yv)). */
function writerWrites(t: T): boolean {
  switch (t.code) {
    case 'a':
      return writerWrites(t.element);
    case '(':
      return t.fields.every(writerWrites);
    case '{':
      return writerWrites(t.key) && writerWrites(t.value);
    case 'v':
      return true; // checked per value below
    default:
      return 'ybusog'.includes(t.code);
  }
}

function valueWritable(t: T, v: unknown): boolean {
  switch (t.code) {
    case 'v': {
      const [signature, inner] = v as [string, unknown];
      return writerWrites(specType(signature)) && valueWritable(specType(signature), inner);
    }
    case 'a':
      return t.element.code === 'y' || (v as unknown[]).every((item) => valueWritable(t.element, item));
    case '(':
      return t.fields.every((field, i) => valueWritable(field, (v as unknown[])[i]));
    case '{':
      return valueWritable(t.key, (v as unknown[])[0]) && valueWritable(t.value, (v as unknown[])[1]);
    default:
      return writerWrites(t);
  }
}

// ------------------------------------------------------------------------------------------------
// Whole messages, from the specification's header layout.

interface Msg {
  le: boolean;
  type: number;
  flags: number;
  serial: number;
  replySerial?: number;
  errorName?: string;
  path?: string;
  member?: string;
  /** Header fields plaidbal does not know (codes 10 and up are reserved for extensions). */
  extra: Array<[number, [string, unknown]]>;
  body?: { types: T[]; values: unknown[] };
}

const FIELDS: T = { code: 'a', element: { code: '(', fields: [{ code: 'y' }, { code: 'v' }] } };

function encodeMessage(m: Msg): Buffer {
  const body = m.body ? encode(m.body.types, m.body.values, m.le) : Buffer.alloc(0);
  const fields: Array<[number, [string, unknown]]> = [];
  if (m.path !== undefined) fields.push([1, ['o', m.path]]);
  if (m.member !== undefined) fields.push([3, ['s', m.member]]);
  if (m.errorName !== undefined) fields.push([4, ['s', m.errorName]]);
  if (m.replySerial !== undefined) fields.push([5, ['u', m.replySerial]]);
  if (m.body) fields.push([8, ['g', m.body.types.map(sig).join('')]]);
  fields.push(...m.extra);
  const e = new SpecEncoder(m.le);
  e.put({ code: 'y' }, m.le ? 0x6c : 0x42);
  e.put({ code: 'y' }, m.type);
  e.put({ code: 'y' }, m.flags);
  e.put({ code: 'y' }, 1);
  e.u32(body.length);
  e.u32(m.serial);
  e.put(FIELDS, fields);
  // The header ends on an 8-byte boundary, even with no body.
  e.pad(8);
  return Buffer.concat([e.buffer(), body]);
}

const uint32 = fc.integer({ min: 1, max: 0xffffffff });
const messageArb: fc.Arbitrary<Msg> = fc.record(
  {
    le: fc.boolean(),
    type: fc.integer({ min: 1, max: 4 }),
    flags: fc.integer({ min: 0, max: 7 }),
    serial: uint32,
    replySerial: uint32,
    errorName: fc.stringMatching(/^[a-z]{1,8}(\.[A-Za-z]{1,8}){1,3}$/),
    path: objectPath,
    member: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,15}$/),
    extra: fc.array(
      fc.tuple(
        fc.integer({ min: 10, max: 255 }),
        typeArb.chain((t) => valueArb(t, 1).map((v): [string, unknown] => [sig(t), v])),
      ),
      { maxLength: 2 },
    ),
    body: typedValues.map(([types, values]) => ({ types, values })),
  },
  { requiredKeys: ['le', 'type', 'flags', 'serial', 'extra'] },
);

// ------------------------------------------------------------------------------------------------
// The contract under test

/** What a decoder may do with any bytes: answer, or throw a BusError. Anything else fails the test. */
function outcome<R>(work: () => R): { value: R } | { error: BusError } {
  try {
    return { value: work() };
  } catch (error) {
    if (error instanceof BusError) return { error };
    throw new Error(`expected a value or a BusError, got ${String(error)}`, { cause: error });
  }
}

/** Bounds the time one decode may take: the inputs are small, so anything slow is a runaway loop. */
function quick<R>(work: () => R): R {
  const start = performance.now();
  const result = work();
  expect(performance.now() - start).toBeLessThan(500);
  return result;
}

const junk = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b));

describe('D-Bus wire decoder: encode → decode', () => {
  it('reads back every type, in both byte orders, and consumes exactly the encoded bytes', () => {
    fc.assert(
      fc.property(typedValues, fc.boolean(), ([types, values], le) => {
        const signature = types.map(sig).join('');
        const bytes = encode(types, values, le);
        const reader = new WireReader(bytes, le);
        expect(reader.read(signature)).toEqual(values);
        expect(reader.offset).toBe(bytes.length);
      }),
      { numRuns: 400 },
    );
  });

  it('WireWriter writes the same bytes as the specification, for the types it writes', () => {
    fc.assert(
      fc.property(
        typedValues.filter(([types, values]) => types.every((t, i) => writerWrites(t) && valueWritable(t, values[i]))),
        ([types, values]) => {
          const signature = types.map(sig).join('');
          const w = new WireWriter();
          w.write(signature, values);
          expect(w.bytes()).toEqual(encode(types, values, true));
          expect(new WireReader(w.bytes(), true).read(signature)).toEqual(values);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the signature parser accepts every signature the encoder writes', () => {
    fc.assert(
      fc.property(fc.array(typeArb, { minLength: 1, maxLength: 4 }), (types) => {
        expect(parseSignature(types.map(sig).join('')).length).toBe(types.length);
      }),
    );
  });

  it('decodes whole messages of either byte order, with unknown header fields and anything after them', () => {
    fc.assert(
      fc.property(messageArb, fc.option(junk, { nil: undefined }), (m, after) => {
        const bytes = encodeMessage(m);
        const decoded = decodeMessage(after ? Buffer.concat([bytes, after]) : bytes)!;
        expect(decoded).toEqual({
          size: bytes.length,
          type: m.type,
          serial: m.serial,
          replySerial: m.replySerial,
          errorName: m.errorName,
          signature: m.body ? m.body.types.map(sig).join('') : '',
          body: m.body?.values ?? [],
        });
      }),
      { numRuns: 300 },
    );
  });

  it('decodes the method calls encodeCall writes', () => {
    const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,10}(\.[A-Za-z][A-Za-z0-9_]{0,10}){1,3}$/);
    const member = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,15}$/);
    const body = fc.oneof<fc.Arbitrary<{ signature?: string; body?: unknown[] }>[]>(
      fc.array(fc.tuple(dbusString, dbusString), { maxLength: 4 }).map((pairs) => ({ signature: 'a{ss}', body: [pairs] })),
      fc.tuple(dbusString, dbusString).map(([a, b]) => ({ signature: 'sv', body: [a, ['s', b]] })),
      fc.tuple(fc.array(objectPath, { maxLength: 4 }), objectPath).map(([items, session]) => ({ signature: 'aoo', body: [items, session] })),
      fc.constant({}),
    );
    fc.assert(
      fc.property(uint32, name, objectPath, name, member, body, (serial, destination, path, iface, method, b) => {
        const bytes = encodeCall(serial, { destination, path, iface, member: method, ...b });
        expect(decodeMessage(bytes)).toEqual({ size: bytes.length, type: 1, serial, replySerial: undefined, errorName: undefined, signature: b.signature ?? '', body: b.body ?? [] });
      }),
    );
  });
});

describe('D-Bus wire decoder: bad bytes only ever give a BusError', () => {
  it('a truncated message is "need more bytes", and a truncated body is a BusError', () => {
    fc.assert(
      fc.property(messageArb, fc.nat(), (m, cut) => {
        const bytes = encodeMessage(m);
        expect(decodeMessage(bytes.subarray(0, cut % bytes.length))).toBeUndefined();
        if (!m.body) return;
        const body = encode(m.body.types, m.body.values, m.le);
        if (body.length === 0) return;
        const result = outcome(() => new WireReader(body.subarray(0, cut % body.length), m.le).read(m.body!.types.map(sig).join('')));
        expect(result).toHaveProperty('error');
      }),
      { numRuns: 400 },
    );
  });

  it('random bytes, alone or after a valid fixed header, give a message, undefined or a BusError', () => {
    const header = fc.tuple(fc.constantFrom(0x6c, 0x42), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }));
    const lengths = fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }));
    const framed = fc.tuple(header, lengths, fc.uint8Array({ maxLength: 700 })).map(([[endian, type, flags], [bodyLength, fieldsLength], rest]) => {
      const fixed = Buffer.alloc(16);
      fixed[0] = endian;
      fixed[1] = type;
      fixed[2] = flags;
      fixed[3] = 1;
      const le = endian === 0x6c;
      if (le) fixed.writeUInt32LE(bodyLength, 4), fixed.writeUInt32LE(fieldsLength, 12);
      else fixed.writeUInt32BE(bodyLength, 4), fixed.writeUInt32BE(fieldsLength, 12);
      return Buffer.concat([fixed, rest]);
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)), framed), (bytes) => {
        quick(() => outcome(() => decodeMessage(bytes)));
      }),
      { numRuns: 2000 },
    );
  });

  it('a valid message with bytes changed gives a message, undefined or a BusError', () => {
    fc.assert(
      fc.property(messageArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (m, changes) => {
        const bytes = encodeMessage(m);
        for (const [at, value] of changes) bytes[at % bytes.length] = value;
        quick(() => outcome(() => decodeMessage(bytes)));
      }),
      { numRuns: 1000 },
    );
  });

  it('random bytes read as any signature give values or a BusError, and never look past the end', () => {
    fc.assert(
      fc.property(fc.array(typeArb, { minLength: 1, maxLength: 3 }), fc.uint8Array({ maxLength: 200 }), junk, fc.boolean(), (types, raw, after, le) => {
        const signature = types.map(sig).join('');
        const bytes = Buffer.from(raw);
        const alone = quick(() => outcome(() => new WireReader(bytes, le).read(signature)));
        // The same bytes with more after them, behind an explicit end: a read past the end would see them.
        const withMore = quick(() => outcome(() => new WireReader(Buffer.concat([bytes, after]), le, 0, bytes.length).read(signature)));
        expect(withMore).toEqual(alone);
      }),
      { numRuns: 1000 },
    );
  });

  it('random signatures give a parse or a BusError', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ybnqiuxtdsoghva(){}m'), maxLength: 30 }), (signature) => {
        outcome(() => parseSignature(signature));
      }),
      { numRuns: 1000 },
    );
  });

  it('deeply nested variants are a BusError, not a stack overflow', () => {
    // Each level is the variant's signature "v" (length 1, 'v', NUL); the spec caps nesting at 64.
    const depth = 100_000;
    const bytes = Buffer.concat([Buffer.from('017600'.repeat(depth), 'hex'), Buffer.from('017900', 'hex'), Buffer.from([7])]);
    expect(outcome(() => new WireReader(bytes, true).read('v'))).toHaveProperty('error');
  });
});

/**
 * A bus that lets anyone in (SASL OK) and then sends, on each connection, the next of `payloads`
 * (in pieces, to cut messages anywhere), and then stays silent or hangs up.
 */
async function scriptedBus(): Promise<{ env: Record<string, string>; next(payload: Payload): void; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'plaidbal-wire-bus-'));
  const path = join(dir, 'bus');
  const sockets = new Set<Socket>();
  let payload: Payload | undefined;
  const server: Server = createServer((socket) => {
    const mine = payload!;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    let started = false;
    socket.on('data', () => {
      if (started) return;
      started = true;
      socket.write('OK 0123456789abcdef0123456789abcdef\r\n');
      let at = 0;
      for (const size of mine.pieces) {
        if (at >= mine.bytes.length) break;
        socket.write(mine.bytes.subarray(at, at + size));
        at += size;
      }
      if (at < mine.bytes.length) socket.write(mine.bytes.subarray(at));
      if (mine.hangUp) socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${path}` },
    next(p) {
      payload = p;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface Payload {
  bytes: Buffer;
  pieces: number[];
  hangUp: boolean;
}

describe.runIf(process.platform === 'linux')('D-Bus wire decoder: over a socket', () => {
  it('whatever a bus sends after letting the reader in, lookupSecrets settles with strings or a BusError, within its timeout', async () => {
    // Replies to the reader's calls (serials 1 to 4: Hello, OpenSession, SearchItems, GetSecrets) with
    // any body, as method returns or errors, and random bytes; mutated and cut anywhere.
    const replyTo = (serial: fc.Arbitrary<number>) =>
      fc
        .tuple(messageArb, serial, fc.constantFrom(2, 2, 2, 3))
        .map(([m, replySerial, type]) => encodeMessage({ ...m, type, replySerial, errorName: type === 3 ? (m.errorName ?? 'org.example.Error') : undefined }));
    const reply = replyTo(fc.integer({ min: 1, max: 4 }));
    // An answer to each call in turn, each with a body of any type.
    const answers = fc.tuple(replyTo(fc.constant(1)), replyTo(fc.constant(2)), replyTo(fc.constant(3)), replyTo(fc.constant(4))).map((all) => Buffer.concat(all));
    const bytes = fc
      .tuple(
        fc.array(fc.oneof(answers, reply, fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b))), { minLength: 1, maxLength: 5 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
      )
      .map(([parts, changes]) => {
        const all = Buffer.concat(parts);
        for (const [at, value] of changes) if (all.length) all[at % all.length] = value;
        return all;
      });
    const payload = fc.record({ bytes, pieces: fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 8 }), hangUp: fc.boolean() });
    const bus = await scriptedBus();
    const timeoutMs = 150;
    try {
      await fc.assert(
        fc.asyncProperty(payload, async (p) => {
          bus.next(p);
          const start = performance.now();
          const settled = await lookupSecrets({ service: 'plaidbal', username: 'x' }, { env: bus.env, timeoutMs }).then(
            (value) => ({ value }),
            (error: unknown) => ({ error }),
          );
          if ('error' in settled) {
            if (!(settled.error instanceof BusError)) throw new Error(`expected a BusError, got ${String(settled.error)}`, { cause: settled.error });
          } else {
            expect(settled.value.every((s) => typeof s === 'string')).toBe(true);
          }
          expect(performance.now() - start).toBeLessThan(timeoutMs + 1000);
        }),
        { numRuns: 60 },
      );
    } finally {
      await bus.close();
    }
  });
});
