/**
 * Reads secrets from the Linux Secret Service by speaking D-Bus directly on the session bus
 * socket, inside plaidbal's own process and event loop.
 *
 * Why not @napi-rs/keyring here: its calls block (the constructor synchronously, the rest on
 * libuv's thread pool), so a hung bus could only be survived by running it in a child `node`
 * process (src/store/keychain.ts), and that process costs about as much as plaidbal's own
 * start. Reading the store key is on the path of every `plaidbal balance`; this reader makes
 * it a few socket round trips that a timer can always end: on timeout the socket is destroyed
 * and nothing is left running.
 *
 * It does one thing, the lookup keyring-rs's entries need (`@napi-rs/keyring` writes them with
 * the attributes `service` and `username`):
 *   AUTH EXTERNAL → Hello → SearchItems(attributes) → OpenSession("plain") → GetSecrets(items).
 * Writes, deletes and the probe stay with @napi-rs/keyring in its helper process. "plain" is
 * the transfer encoding every Secret Service supports: the secret crosses the private
 * user-only session bus unencrypted, which is where a same-user attacker could ask for it anyway.
 *
 * Why SearchItems comes first, and OpenSession only after its answer: gnome-keyring-daemon
 * (42.1 here, 50.0 in the reports) aborts, and comes back with every collection locked, when it
 * dispatches an OpenSession from a connection it has not registered as a client yet. It
 * registers clients from an idle callback (daemon/dbus/gkd-secret-service.c,
 * service_message_filter), and a connection's first call now and then overtakes it:
 * `gkd_secret_service_get_pkcs11_session: assertion 'client' failed`, then `g_variant_new:
 * expected GVariant of type 'v'` and SIGTRAP. No concurrency is needed: one process making
 * lookups one after another, a new connection each, meets it (scripts/keyring-race.ts; figures
 * in docs/benchmarks.md). The same crash is reported against go-keyring and zbus clients
 * (basecamp/hey-cli#352 and #453). SearchItems needs the client record too, but without one its
 * handler gives up and the caller gets `org.freedesktop.DBus.Error.UnknownMethod` ("Method
 * SearchItems is not implemented"), so the reader asks again, up to SEARCH_ATTEMPTS times; once
 * a search has succeeded the connection is registered, and stays so until it closes, so the
 * OpenSession that follows is safe. A lookup that finds nothing, or only locked items, opens no
 * session at all. The cost is one more round trip, only when there is a secret to read.
 *
 * When the bus cannot be spoken to this way (no session address but autolaunch, a `tcp:`
 * transport, an AUTH mechanism other than EXTERNAL, a protocol surprise), it throws
 * BusError('unsupported') and the caller falls back to the helper, which behaves as before.
 */
import { existsSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';

export type BusErrorKind = 'unsupported' | 'unavailable' | 'locked' | 'timeout' | 'failed';

export class BusError extends Error {
  readonly kind: BusErrorKind;
  /** The D-Bus error name, when the error is a reply from the other end. */
  readonly dbusName: string | undefined;

  constructor(kind: BusErrorKind, message: string, dbusName?: string) {
    super(message);
    this.name = 'BusError';
    this.kind = kind;
    this.dbusName = dbusName;
  }
}

export interface SecretLookupOptions {
  env: Record<string, string | undefined>;
  timeoutMs: number;
}

const SECRETS_NAME = 'org.freedesktop.secrets';
const SECRETS_PATH = '/org/freedesktop/secrets';
const SERVICE_IFACE = 'org.freedesktop.Secret.Service';
/** SearchItems calls a lookup makes before an UnknownMethod answer counts as the answer. */
const SEARCH_ATTEMPTS = 3;
/** A reply here is a few hundred bytes; the D-Bus limit for a message is 128 MiB. */
const MAX_MESSAGE = 1024 * 1024;

/**
 * The UTF-8 secrets of the unlocked items that carry all of `attributes`, in no particular
 * order (an empty list when there are none). Throws BusError.
 */
export async function lookupSecrets(attributes: Record<string, string>, opts: SecretLookupOptions): Promise<string[]> {
  const candidates = sessionBusSockets(opts.env);
  if (candidates.length === 0) throw new BusError('unsupported', 'no unix socket address for the D-Bus session bus');
  const bus = new BusConnection(opts.timeoutMs);
  const searchItems = () => bus.call({ destination: SECRETS_NAME, path: SECRETS_PATH, iface: SERVICE_IFACE, member: 'SearchItems', signature: 'a{ss}', body: [Object.entries(attributes)], reply: 'aoao' });
  try {
    await bus.connect(candidates);
    // Pipelined, as sd-bus does: AUTH and BEGIN, then Hello (which must come first) and the
    // search, all in one go. OpenSession waits for the search's answer (see the top of this file).
    const authenticated = bus.authenticate();
    const hello = bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', iface: 'org.freedesktop.DBus', member: 'Hello', reply: 's' });
    let search = searchItems();
    await authenticated;
    await hello;
    let found: unknown[];
    for (let attempt = 1; ; attempt++) {
      try {
        found = await search;
        break;
      } catch (error) {
        // gnome-keyring's answer to a first call it dispatched before registering the connection
        // (see the top of this file); the registration has normally run by the time it answers.
        if (attempt >= SEARCH_ATTEMPTS || !(error instanceof BusError) || error.dbusName !== 'org.freedesktop.DBus.Error.UnknownMethod') throw error;
        search = searchItems();
      }
    }
    const [unlocked, locked] = found as [string[], string[]];
    if (locked.length > 0) throw new BusError('locked', `${locked.length} matching item(s) are in a locked collection`);
    if (unlocked.length === 0) return [];
    const [, sessionPath] = (await bus.call({ destination: SECRETS_NAME, path: SECRETS_PATH, iface: SERVICE_IFACE, member: 'OpenSession', signature: 'sv', body: ['plain', ['s', '']], reply: 'vo' })) as [unknown, string];
    const [secrets] = (await bus.call({
      destination: SECRETS_NAME,
      path: SECRETS_PATH,
      iface: SERVICE_IFACE,
      member: 'GetSecrets',
      signature: 'aoo',
      body: [unlocked, sessionPath],
      reply: 'a{o(oayays)}',
    })) as [Array<[string, [string, Buffer, Buffer, string]]>];
    return secrets.map(([, [, , value]]) => value.toString('utf8'));
  } finally {
    bus.close();
  }
}

/**
 * The unix sockets the session bus address names, in order. Like libdbus: DBUS_SESSION_BUS_ADDRESS
 * (`;`-separated, %-escaped values), else $XDG_RUNTIME_DIR/bus when that exists. Other transports
 * are left out; an empty list means "ask libdbus" (the helper).
 */
export function sessionBusSockets(env: Record<string, string | undefined>): string[] {
  const address = env.DBUS_SESSION_BUS_ADDRESS;
  if (address === undefined || address === '') {
    const runtime = env.XDG_RUNTIME_DIR;
    return runtime && existsSync(`${runtime}/bus`) ? [`${runtime}/bus`] : [];
  }
  const sockets: string[] = [];
  for (const entry of address.split(';')) {
    const colon = entry.indexOf(':');
    if (colon < 0 || entry.slice(0, colon) !== 'unix') continue;
    const params = new Map<string, string>();
    for (const pair of entry.slice(colon + 1).split(',')) {
      const eq = pair.indexOf('=');
      if (eq > 0) params.set(pair.slice(0, eq), unescapeValue(pair.slice(eq + 1)));
    }
    const path = params.get('path');
    const abstract = params.get('abstract');
    if (path) sockets.push(path);
    else if (abstract) sockets.push(`\0${abstract}`);
  }
  return sockets;
}

function unescapeValue(value: string): string {
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '%' && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(value[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

// ------------------------------------------------------------------------------------------------
// The connection: SASL handshake, then binary messages matched to calls by serial

interface Call {
  destination: string;
  path: string;
  iface: string;
  member: string;
  signature?: string;
  body?: unknown[];
}

interface CallWithReply extends Call {
  /** The signature the reply's body must have (the interface's specification). */
  reply: string;
}

interface Pending {
  member: string;
  reply: string;
  resolve(body: unknown[]): void;
  reject(error: Error): void;
}

const enum MessageType {
  MethodCall = 1,
  MethodReturn = 2,
  Error = 3,
  Signal = 4,
}

export class BusConnection {
  private socket: Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private serial = 0;
  private readonly pending = new Map<number, Pending>();
  private lineWaiter: { resolve(line: string): void; reject(error: Error): void } | undefined;
  private binary = false;
  private failure: Error | undefined;
  /** Sockets still connecting when the call fails: destroyed with it. */
  private readonly onFail: Array<() => void> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(timeoutMs: number) {
    this.timer = setTimeout(() => this.fail(new BusError('timeout', `no answer within ${timeoutMs} ms`)), timeoutMs);
  }

  async connect(candidates: string[]): Promise<void> {
    let last: Error | undefined;
    for (const path of candidates) {
      try {
        this.socket = await this.open(path);
        return;
      } catch (error) {
        if (error instanceof BusError && error.kind === 'timeout') throw error;
        last = error as Error;
      }
    }
    const shown = candidates.map((c) => (c.startsWith('\0') ? `@${c.slice(1)}` : c)).join(', ');
    throw new BusError('unavailable', `cannot connect to the D-Bus session bus at ${shown}: ${(last as NodeJS.ErrnoException | undefined)?.code ?? last?.message}`);
  }

  private open(path: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const socket = createConnection({ path });
      const onError = (error: Error) => {
        socket.destroy();
        reject(error);
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        socket.on('error', (error) => this.fail(new BusError('failed', `D-Bus connection error: ${error.message}`)));
        socket.on('close', () => this.fail(new BusError('failed', 'the D-Bus connection closed before the answer')));
        socket.on('data', (chunk: Buffer) => this.receive(chunk));
        resolve(socket);
      });
      // A timeout while connecting must not leave this socket behind.
      this.onFail.push(() => socket.destroy());
    });
  }

  /**
   * Sends AUTH EXTERNAL and BEGIN without waiting in between; calls may follow at once. Settles
   * when the server has answered: OK, or anything else (then the bus is left to the helper).
   */
  async authenticate(): Promise<void> {
    const uid = process.getuid?.();
    if (uid === undefined) {
      const error = new BusError('unsupported', 'no user id for AUTH EXTERNAL');
      this.fail(error);
      throw error;
    }
    this.socket!.write(`\0AUTH EXTERNAL ${Buffer.from(String(uid), 'ascii').toString('hex')}\r\nBEGIN\r\n`);
    const line = await this.readLine();
    if (!line.startsWith('OK ')) {
      const error = new BusError('unsupported', `the bus refused AUTH EXTERNAL (${line.slice(0, 80)})`);
      this.fail(error);
      throw error;
    }
    this.binary = true;
    // Anything the server sent after its OK line is already binary.
    this.drain();
    if (this.failure) throw this.failure;
  }

  /**
   * Sends a call; the promise settles with its reply. Calls are pipelined, so a caller may never
   * await one whose predecessor failed: its rejection is marked handled here, and still reaches
   * whoever does await it.
   */
  call(call: CallWithReply): Promise<unknown[]> {
    const reply = new Promise<unknown[]>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const serial = ++this.serial;
      this.pending.set(serial, { member: call.member, reply: call.reply, resolve, reject });
      this.socket!.write(encodeCall(serial, call));
    });
    reply.catch(() => {});
    return reply;
  }

  close(): void {
    this.failure ??= new BusError('failed', 'connection closed');
    clearTimeout(this.timer);
    this.socket?.destroy();
    for (const hook of this.onFail.splice(0)) hook();
  }

  private readLine(): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.lineWaiter = { resolve, reject };
      this.drain();
    });
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    if (this.buffer.length > MAX_MESSAGE + 4096) return this.fail(new BusError('unsupported', 'oversized D-Bus message'));
    this.drain();
  }

  private drain(): void {
    if (this.failure) return;
    if (!this.binary) {
      const end = this.buffer.indexOf('\r\n');
      if (end >= 0 && this.lineWaiter) {
        const line = this.buffer.subarray(0, end).toString('latin1');
        this.buffer = this.buffer.subarray(end + 2);
        const waiter = this.lineWaiter;
        this.lineWaiter = undefined;
        waiter.resolve(line);
      } else if (end < 0 && this.buffer.length > 4096) {
        this.fail(new BusError('unsupported', 'the bus sent no SASL line'));
      }
      return;
    }
    for (;;) {
      let parsed;
      try {
        parsed = decodeMessage(this.buffer);
      } catch (error) {
        return this.fail(new BusError('unsupported', `unreadable D-Bus message: ${(error as Error).message}`));
      }
      if (!parsed) return;
      this.buffer = this.buffer.subarray(parsed.size);
      const { type, replySerial, errorName, signature, body } = parsed;
      if ((type !== MessageType.MethodReturn && type !== MessageType.Error) || replySerial === undefined) continue;
      const waiter = this.pending.get(replySerial);
      if (!waiter) continue;
      this.pending.delete(replySerial);
      // A reply of another shape would be read as the wrong values: the bus is not one to speak to.
      if (type === MessageType.MethodReturn && signature !== waiter.reply) {
        return this.fail(new BusError('unsupported', `${waiter.member} answered with signature "${signature}", not "${waiter.reply}"`));
      }
      if (type === MessageType.MethodReturn) waiter.resolve(body);
      else waiter.reject(dbusError(errorName ?? 'unknown error', typeof body[0] === 'string' ? body[0] : ''));
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    clearTimeout(this.timer);
    this.socket?.destroy();
    for (const hook of this.onFail.splice(0)) hook();
    this.lineWaiter?.reject(error);
    this.lineWaiter = undefined;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}

function dbusError(name: string, message: string): BusError {
  const text = `${name}${message ? `: ${message}` : ''}`;
  if (name === 'org.freedesktop.DBus.Error.ServiceUnknown' || name === 'org.freedesktop.DBus.Error.NameHasNoOwner') {
    return new BusError('unavailable', `nothing provides ${SECRETS_NAME} (${text})`);
  }
  if (name === 'org.freedesktop.Secret.Error.IsLocked') return new BusError('locked', text, name);
  return new BusError('failed', text, name);
}

// ------------------------------------------------------------------------------------------------
// The D-Bus wire format, for the types these calls use (marshalling spec:
// https://dbus.freedesktop.org/doc/dbus-specification.html#message-protocol-marshaling)

/**
 * A message the wire code cannot read: BusError('unsupported'), so that whatever bytes the bus
 * sends, the caller sees a BusError and leaves the bus to the helper.
 */
function malformed(message: string): BusError {
  return new BusError('unsupported', message);
}

/**
 * Containers (arrays, structs, dict entries, variants) a value may sit in. The specification caps
 * a signature at 32 arrays and 32 structs nested, 64 in all; libdbus applies the same 64 across
 * variants, whose signatures are in the data (dbus-marshal-validate.c, DBUS_INVALID_NESTED_TOO_DEEPLY).
 * Without it, a few bytes a level of nested variants overflow the stack.
 */
const MAX_DEPTH = 64;

interface TypeNode {
  code: string;
  /** Element type of an array; fields of a struct; key and value of a dict entry. */
  children: TypeNode[];
}

export function parseSignature(signature: string): TypeNode[] {
  let i = 0;
  const one = (): TypeNode => {
    const code = signature[i++];
    if (code === undefined) throw malformed(`truncated signature "${signature}"`);
    if (code === 'a') return { code, children: [one()] };
    if (code === '(' || code === '{') {
      const close = code === '(' ? ')' : '}';
      const children: TypeNode[] = [];
      while (signature[i] !== close) {
        if (i >= signature.length) throw malformed(`unclosed ${code} in signature "${signature}"`);
        children.push(one());
      }
      i++;
      if (children.length === 0 || (code === '{' && children.length !== 2)) throw malformed(`bad ${code} in signature "${signature}"`);
      return { code, children };
    }
    if (!'ybnqiuxtdsogvh'.includes(code)) throw malformed(`unsupported type "${code}" in signature "${signature}"`);
    return { code, children: [] };
  };
  const types: TypeNode[] = [];
  while (i < signature.length) types.push(one());
  return types;
}

function alignment(code: string): number {
  switch (code) {
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
      return 4;
  }
}

/** Little-endian writer. Alignment is relative to the start of the buffer it fills. */
export class WireWriter {
  private buf = Buffer.alloc(256);
  length = 0;

  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  align(n: number): void {
    const pad = (n - (this.length % n)) % n;
    this.room(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  byte(value: number): void {
    this.room(1);
    this.buf.writeUInt8(value, this.length++);
  }

  uint32(value: number): void {
    this.align(4);
    this.room(4);
    this.buf.writeUInt32LE(value, this.length);
    this.length += 4;
  }

  raw(bytes: Buffer): void {
    this.room(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }

  write(signature: string, values: unknown[]): void {
    const types = parseSignature(signature);
    if (types.length !== values.length) throw new Error(`signature "${signature}" needs ${types.length} values, got ${values.length}`);
    types.forEach((type, index) => this.value(type, values[index]));
  }

  value(type: TypeNode, value: unknown): void {
    switch (type.code) {
      case 'y':
        return this.byte(value as number);
      case 'b':
        return this.uint32(value ? 1 : 0);
      case 'u':
        return this.uint32(value as number);
      case 's':
      case 'o': {
        const text = Buffer.from(value as string, 'utf8');
        this.uint32(text.length);
        this.raw(text);
        return this.byte(0);
      }
      case 'g': {
        const text = Buffer.from(value as string, 'ascii');
        this.byte(text.length);
        this.raw(text);
        return this.byte(0);
      }
      case 'v': {
        const [signature, inner] = value as [string, unknown];
        const [innerType] = parseSignature(signature);
        this.value({ code: 'g', children: [] }, signature);
        return this.value(innerType!, inner);
      }
      case 'a': {
        const element = type.children[0]!;
        this.uint32(0);
        const lengthAt = this.length - 4;
        this.align(alignment(element.code));
        const start = this.length;
        for (const item of value as unknown[]) this.value(element, item);
        this.buf.writeUInt32LE(this.length - start, lengthAt);
        return;
      }
      case '(':
      case '{':
        this.align(8);
        type.children.forEach((child, index) => this.value(child, (value as unknown[])[index]));
        return;
      default:
        throw new Error(`cannot write D-Bus type "${type.code}"`);
    }
  }
}

/** Reads values of a message body or header; `base` is the body's offset in the message (alignment). */
export class WireReader {
  offset: number;

  constructor(
    private readonly buf: Buffer,
    private readonly littleEndian: boolean,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.offset = start;
  }

  private need(n: number): void {
    if (this.offset + n > this.end) throw malformed('value runs past the end of the message');
  }

  align(n: number): void {
    this.offset += (n - (this.offset % n)) % n;
    if (this.offset > this.end) throw malformed('padding runs past the end of the message');
  }

  uint32(): number {
    this.align(4);
    this.need(4);
    const value = this.littleEndian ? this.buf.readUInt32LE(this.offset) : this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  read(signature: string): unknown[] {
    return parseSignature(signature).map((type) => this.value(type));
  }

  /** `depth`: the containers this value is in (MAX_DEPTH). */
  value(type: TypeNode, depth = 0): unknown {
    const le = this.littleEndian;
    const inner = depth + 1;
    if (inner > MAX_DEPTH && 'a({v'.includes(type.code)) throw malformed(`values nested more than ${MAX_DEPTH} deep`);
    switch (type.code) {
      case 'y':
        this.need(1);
        return this.buf[this.offset++];
      case 'b':
        return this.uint32() !== 0;
      case 'n':
      case 'q': {
        this.align(2);
        this.need(2);
        const value = type.code === 'n' ? (le ? this.buf.readInt16LE(this.offset) : this.buf.readInt16BE(this.offset)) : le ? this.buf.readUInt16LE(this.offset) : this.buf.readUInt16BE(this.offset);
        this.offset += 2;
        return value;
      }
      case 'i': {
        const value = this.uint32();
        return value | 0;
      }
      case 'u':
      case 'h':
        return this.uint32();
      case 'x':
      case 't':
      case 'd': {
        this.align(8);
        this.need(8);
        const at = this.offset;
        this.offset += 8;
        if (type.code === 'd') return le ? this.buf.readDoubleLE(at) : this.buf.readDoubleBE(at);
        // A bigint: a number would round the values past 2^53.
        return type.code === 'x' ? (le ? this.buf.readBigInt64LE(at) : this.buf.readBigInt64BE(at)) : le ? this.buf.readBigUInt64LE(at) : this.buf.readBigUInt64BE(at);
      }
      case 's':
      case 'o': {
        const length = this.uint32();
        this.need(length + 1);
        if (this.buf[this.offset + length] !== 0) throw malformed('a string without its terminating nul');
        const text = this.buf.toString('utf8', this.offset, this.offset + length);
        this.offset += length + 1;
        return text;
      }
      case 'g': {
        this.need(1);
        const length = this.buf[this.offset++]!;
        this.need(length + 1);
        if (this.buf[this.offset + length] !== 0) throw malformed('a signature without its terminating nul');
        const text = this.buf.toString('ascii', this.offset, this.offset + length);
        this.offset += length + 1;
        return text;
      }
      case 'v': {
        const signature = this.value({ code: 'g', children: [] }) as string;
        const types = parseSignature(signature);
        if (types.length !== 1) throw malformed(`a variant holds one type, not "${signature}"`);
        return [signature, this.value(types[0]!, inner)];
      }
      case 'a': {
        const length = this.uint32();
        const element = type.children[0]!;
        this.align(alignment(element.code));
        const end = this.offset + length;
        if (end > this.end) throw malformed('array runs past the end of the message');
        if (element.code === 'y') {
          const bytes = Buffer.from(this.buf.subarray(this.offset, end));
          this.offset = end;
          return bytes;
        }
        const items: unknown[] = [];
        while (this.offset < end) items.push(this.value(element, inner));
        if (this.offset !== end) throw malformed('array elements overrun its length');
        return items;
      }
      case '(':
      case '{':
        this.align(8);
        return type.children.map((child) => this.value(child, inner));
      default:
        throw malformed(`cannot read D-Bus type "${type.code}"`);
    }
  }
}

const enum Field {
  Path = 1,
  Interface = 2,
  Member = 3,
  ErrorName = 4,
  ReplySerial = 5,
  Destination = 6,
  Signature = 8,
}

export function encodeCall(serial: number, call: Call): Buffer {
  const body = new WireWriter();
  if (call.signature) body.write(call.signature, call.body ?? []);
  const fields: Array<[number, [string, unknown]]> = [
    [Field.Path, ['o', call.path]],
    [Field.Interface, ['s', call.iface]],
    [Field.Member, ['s', call.member]],
    [Field.Destination, ['s', call.destination]],
  ];
  if (call.signature) fields.push([Field.Signature, ['g', call.signature]]);
  const header = new WireWriter();
  // 'l' little-endian, method call, no flags, protocol version 1.
  header.byte(0x6c);
  header.byte(MessageType.MethodCall);
  header.byte(0);
  header.byte(1);
  header.uint32(body.length);
  header.uint32(serial);
  header.write('a(yv)', [fields]);
  header.align(8);
  return Buffer.concat([header.bytes(), body.bytes()]);
}

export interface DecodedMessage {
  size: number;
  type: number;
  serial: number;
  replySerial?: number;
  errorName?: string;
  /** The body's signature ('' for none). */
  signature: string;
  body: unknown[];
}

/** One whole message from the front of `buf`, or undefined when more bytes are needed. Throws when malformed. */
export function decodeMessage(buf: Buffer): DecodedMessage | undefined {
  if (buf.length < 16) return undefined;
  const endian = buf[0];
  if (endian !== 0x6c && endian !== 0x42) throw malformed(`bad endianness byte ${endian}`);
  const le = endian === 0x6c;
  if (buf[3] !== 1) throw malformed(`unsupported protocol version ${buf[3]}`);
  const bodyLength = le ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const fieldsLength = le ? buf.readUInt32LE(12) : buf.readUInt32BE(12);
  if (bodyLength > MAX_MESSAGE || fieldsLength > MAX_MESSAGE) throw malformed('message too large');
  const headerEnd = 16 + fieldsLength;
  const bodyStart = headerEnd + ((8 - (headerEnd % 8)) % 8);
  const size = bodyStart + bodyLength;
  if (buf.length < size) return undefined;

  const header = new WireReader(buf, le, 12, headerEnd);
  const [fields] = header.read('a(yv)') as [Array<[number, [string, unknown]]>];
  // A field counts only with the type the specification gives it (REPLY_SERIAL u, ERROR_NAME s,
  // SIGNATURE g); a header that sends another is malformed.
  const field = (code: number, type: string) => {
    const found = fields.find(([c]) => c === code)?.[1];
    if (found && found[0] !== type) throw malformed(`header field ${code} has type "${found[0]}", not "${type}"`);
    return found?.[1];
  };
  const signature = (field(Field.Signature, 'g') as string | undefined) ?? '';
  const body = signature ? new WireReader(buf.subarray(bodyStart, size), le).read(signature) : [];
  const replySerial = field(Field.ReplySerial, 'u');
  const errorName = field(Field.ErrorName, 's');
  return {
    size,
    type: buf[1]!,
    serial: le ? buf.readUInt32LE(8) : buf.readUInt32BE(8),
    replySerial: typeof replySerial === 'number' ? replySerial : undefined,
    errorName: typeof errorName === 'string' ? errorName : undefined,
    signature,
    body,
  };
}
