/**
 * The in-process Secret Service reader (src/store/secret-service.ts): its D-Bus wire format
 * against hand-worked bytes from the specification, its reading of session bus addresses, and
 * its lookups against the private gnome-keyring scripts/test.mjs starts — agreeing with what
 * @napi-rs/keyring wrote, and handing a bus it cannot speak to back to the helper.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { KeychainError, osKeychain } from '../../src/store/keychain.js';
import { BusError, decodeMessage, encodeCall, lookupSecrets, parseSignature, sessionBusSockets, WireReader, WireWriter } from '../../src/store/secret-service.js';
import { NO_SECRET_SERVICE_MESSAGE, noDbusEnv, secretServiceAvailable, startPrivateBus, unixSocketServer, type PrivateBus } from '../helpers/keyring.js';

const linux = process.platform === 'linux';

/**
 * The keychain helper processes src/store/keychain.ts starts (it spawns `node keychain-helper`),
 * counted by a spy on node:child_process's own exports object, which keychain.ts reaches through
 * process.getBuiltinModule when it spawns.
 */
const childProcess = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');

function bytes(hex: string): Buffer {
  return Buffer.from(hex.replace(/\s+/g, ''), 'hex');
}

describe('D-Bus wire format', () => {
  it('writes a{ss} with the array length excluding the padding before the first entry', () => {
    const w = new WireWriter();
    w.write('a{ss}', [[['a', 'b']]]);
    // length 14 | pad to 8 | "a" (len, byte, NUL) | pad to 4 | "b"
    expect(w.bytes()).toEqual(bytes('0e000000 00000000 01000000 6100 0000 01000000 6200'));
  });

  it('writes a variant as its signature then its value, and an object-path array', () => {
    const w = new WireWriter();
    w.write('svao', ['plain', ['s', ''], ['/a', '/bc']]);
    expect(w.bytes()).toEqual(
      bytes(
        '05000000 706c61696e 00' + // "plain" (length, bytes, NUL)
          '01 73 00' + // the variant's signature "s"
          '000000 00000000 00' + // pad to 4, then "" (length 0, NUL)
          '000000 10000000' + // pad to 4, then the array's 16 bytes:
          '02000000 2f61 00 00' + // "/a", NUL, pad to 4
          '03000000 2f6263 00', // "/bc"
      ),
    );
  });

  it('reads back what it writes: a{o(oayays)} (GetSecrets) with byte arrays', () => {
    const values = [
      [
        ['/org/freedesktop/secrets/collection/login/1', ['/org/freedesktop/secrets/session/s1', Buffer.alloc(0), Buffer.from('c2VjcmV0', 'ascii'), 'text/plain']],
        ['/org/freedesktop/secrets/collection/login/2', ['/s', Buffer.from([1, 2, 3]), Buffer.from('ünï', 'utf8'), '']],
      ],
      7,
    ];
    const w = new WireWriter();
    w.write('a{o(oayays)}y', values);
    expect(new WireReader(w.bytes(), true).read('a{o(oayays)}y')).toEqual(values);
  });

  it('reads the other basic types from hand-made bytes, with their alignment', () => {
    const data = bytes(
      '0700 0000 01000000' + // q 7, pad to 4, b true
        'feffffff 00000000' + // i -2, pad to 8
        '0500000000000000 fbffffffffffffff 000000000000f03f' + // t 5, x -5, d 1.0
        '017300 017300 0000 02000000 686900', // g "s", v <s "hi"> (pad to 4 before the string)
    );
    expect(new WireReader(data, true).read('qbitxdgv')).toEqual([7, true, -2, 5n, -5n, 1, 's', ['s', 'hi']]);
  });

  it('reads big-endian messages too', () => {
    const be = bytes('00000002 0000 0000 00000001 61 00');
    expect(new WireReader(be, false).read('u')).toEqual([2]);
  });

  it('refuses malformed signatures and values that run past the end', () => {
    expect(() => parseSignature('a')).toThrow(/truncated/);
    expect(() => parseSignature('(s')).toThrow(/unclosed/);
    expect(() => parseSignature('{sss}')).toThrow(/bad/);
    expect(() => parseSignature('m')).toThrow(/unsupported/);
    expect(() => new WireReader(bytes('05000000 6162'), true).read('s')).toThrow(/past the end/);
    expect(() => new WireReader(bytes('ff000000'), true).read('ay')).toThrow(/past the end/);
    // Strings and signatures end in a nul (spec); a byte there that is not one is malformed.
    expect(() => new WireReader(bytes('02000000 6162 78'), true).read('s')).toThrow(BusError);
    expect(() => new WireReader(bytes('01 73 78'), true).read('g')).toThrow(/terminating nul/);
  });

  it('refuses a header whose reply serial is not a u', () => {
    // A method return (type 2), no body, with one header field: REPLY_SERIAL (5) as the string "7".
    const fields = bytes('05 01 7300 01000000 3700'); // code 5, variant signature "s", string "7"
    const message = Buffer.concat([bytes('6c 02 00 01 00000000 01000000'), Buffer.from([fields.length, 0, 0, 0]), fields, Buffer.alloc(8 - ((16 + fields.length) % 8))]);
    expect(() => decodeMessage(message)).toThrow(/header field 5 has type "s", not "u"/);
  });

  it('encodes a method call whose header decodes to the same call, and waits for whole messages', () => {
    const message = encodeCall(9, { destination: 'org.freedesktop.secrets', path: '/org/freedesktop/secrets', iface: 'org.freedesktop.Secret.Service', member: 'SearchItems', signature: 'a{ss}', body: [[['service', 'plaidbal']]] });
    expect(message[0]).toBe(0x6c); // little-endian
    expect(message[1]).toBe(1); // method call
    expect(message[3]).toBe(1); // protocol version
    const decoded = decodeMessage(message)!;
    expect(decoded).toMatchObject({ size: message.length, type: 1, serial: 9, signature: 'a{ss}', body: [[['service', 'plaidbal']]] });
    expect(decodeMessage(message.subarray(0, message.length - 1))).toBeUndefined();
    expect(decodeMessage(message.subarray(0, 10))).toBeUndefined();
    expect(() => decodeMessage(Buffer.concat([Buffer.from('x'), message.subarray(1)]))).toThrow(/endianness/);
  });
});

describe('session bus addresses', () => {
  it('takes the unix path and abstract sockets of DBUS_SESSION_BUS_ADDRESS, in order, unescaped', () => {
    expect(sessionBusSockets({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/tmp/dbus-abc,guid=0123' })).toEqual(['/tmp/dbus-abc']);
    expect(sessionBusSockets({ DBUS_SESSION_BUS_ADDRESS: 'unix:guid=1,abstract=/tmp/dbus-x' })).toEqual(['\0/tmp/dbus-x']);
    expect(sessionBusSockets({ DBUS_SESSION_BUS_ADDRESS: 'tcp:host=localhost,port=1;unix:path=/run/a%20b%2cc' })).toEqual(['/run/a b,c']);
    expect(sessionBusSockets({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/one;unix:path=/two' })).toEqual(['/one', '/two']);
  });

  it('leaves transports it cannot open to libdbus', () => {
    expect(sessionBusSockets({ DBUS_SESSION_BUS_ADDRESS: 'tcp:host=localhost,port=1' })).toEqual([]);
    expect(sessionBusSockets({ DBUS_SESSION_BUS_ADDRESS: 'unix:tmpdir=/tmp' })).toEqual([]);
    expect(sessionBusSockets({ DBUS_SESSION_BUS_ADDRESS: 'autolaunch:' })).toEqual([]);
  });

  it('without an address, uses $XDG_RUNTIME_DIR/bus only when it exists', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plaidbal-runtime-'));
    try {
      expect(sessionBusSockets({ XDG_RUNTIME_DIR: dir })).toEqual([]);
      await writeFile(join(dir, 'bus'), '');
      expect(sessionBusSockets({ XDG_RUNTIME_DIR: dir })).toEqual([join(dir, 'bus')]);
      expect(sessionBusSockets({})).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.runIf(linux)('lookups against the real Secret Service', () => {
  const keychain = osKeychain({ timeoutMs: 10_000 });
  const accounts: string[] = [];
  let available = false;

  beforeAll(async () => {
    available = await secretServiceAvailable();
  });
  afterEach(async () => {
    for (const account of accounts.splice(0)) await keychain.delete(account).catch(() => {});
  });

  it('finds what @napi-rs/keyring stored, by service and account, and nothing for other accounts', async () => {
    expect(available, NO_SECRET_SERVICE_MESSAGE).toBe(true);
    const [first, second] = [`test-${randomUUID()}`, `test-${randomUUID()}`];
    accounts.push(first, second);
    await keychain.set(first, 'first-secret-ü');
    await keychain.set(second, 'second-secret');
    const opts = { env: process.env, timeoutMs: 5000 };
    expect(await lookupSecrets({ service: 'plaidbal', username: first }, opts)).toEqual(['first-secret-ü']);
    expect(await lookupSecrets({ service: 'plaidbal', username: second }, opts)).toEqual(['second-secret']);
    expect(await lookupSecrets({ service: 'plaidbal', username: `test-${randomUUID()}` }, opts)).toEqual([]);
    expect(await lookupSecrets({ service: 'not-plaidbal', username: first }, opts)).toEqual([]);
  });

  it('osKeychain().get reads in this process: writing starts the helper, reading does not', async () => {
    expect(available, NO_SECRET_SERVICE_MESSAGE).toBe(true);
    const account = `test-${randomUUID()}`;
    accounts.push(account);
    const spawn = vi.spyOn(childProcess, 'spawn');
    try {
      await keychain.set(account, 'read-in-process');
      expect(spawn).toHaveBeenCalledTimes(1);
      for (let i = 0; i < 3; i++) expect(await keychain.get(account)).toBe('read-in-process');
      expect(await keychain.get(`test-${randomUUID()}`)).toBeNull();
      expect(spawn).toHaveBeenCalledTimes(1);
    } finally {
      spawn.mockRestore();
    }
  });

  describe('on a bus where nothing owns org.freedesktop.secrets', () => {
    let bus: PrivateBus;
    beforeAll(async () => {
      bus = await startPrivateBus({ secretService: false });
    });
    afterAll(() => bus?.close());

    it('says unavailable, and get reports it as the keychain being unavailable', async () => {
      await expect(lookupSecrets({ service: 'plaidbal', username: 'x' }, { env: bus.env, timeoutMs: 5000 })).rejects.toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/ServiceUnknown/) });
      const error = await osKeychain({ env: bus.env }).get('x').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeychainError);
      expect(error).toMatchObject({ reason: 'unavailable', message: expect.stringMatching(/No Secret Service/) });
    });
  });

  it('a socket path where nothing listens is unavailable, not a hang', async () => {
    const env = { ...noDbusEnv(process.env), DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(tmpdir(), `plaidbal-no-bus-${randomUUID()}`)}` };
    await expect(lookupSecrets({ service: 'plaidbal', username: 'x' }, { env, timeoutMs: 5000 })).rejects.toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/ENOENT/) });
  });
});

/** A unix socket server that answers each SASL AUTH line with `reply`, and records the lines. */
async function fakeBus(reply: string): Promise<{ address: string; lines: string[]; close(): Promise<void> }> {
  const lines: string[] = [];
  const server = await unixSocketServer('plaidbal-fake-bus-', (socket) => {
    let pending = '';
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n'); end >= 0; end = pending.indexOf('\r\n')) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        lines.push(line);
        // Every AUTH attempt gets the same answer; what follows a successful one is ignored.
        if (lines.length === 1 || line.startsWith('AUTH')) socket.write(reply);
      }
    });
  });
  return { address: server.address, lines, close: server.close };
}

describe.runIf(linux)('a bus the reader cannot speak to', () => {
  it('authenticates with EXTERNAL and the hex of its uid, and leaves a refusal to the helper', async () => {
    const bus = await fakeBus('REJECTED\r\n');
    try {
      const env = { ...noDbusEnv(process.env), DBUS_SESSION_BUS_ADDRESS: bus.address };
      const error = await lookupSecrets({ service: 'plaidbal', username: 'x' }, { env, timeoutMs: 5000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BusError);
      expect(error).toMatchObject({ kind: 'unsupported' });
      expect(bus.lines[0]).toBe(`\0AUTH EXTERNAL ${Buffer.from(String(process.getuid!())).toString('hex')}`);

      // Through the keychain, the helper (@napi-rs/keyring in a child process) is asked instead: a
      // second connection says AUTH. This fake bus never lets it in either, so its timeout ends it.
      const viaKeychain = await osKeychain({ env, timeoutMs: 1500 }).get('x').catch((e: unknown) => e);
      expect(bus.lines.filter((line) => line.startsWith('\0AUTH'))).toHaveLength(2);
      expect(viaKeychain).toBeInstanceOf(KeychainError);
      expect(viaKeychain).toMatchObject({ reason: 'timeout', message: expect.stringMatching(/within 1500 ms/) });
    } finally {
      await bus.close();
    }
  });

  it('a bus that answers the handshake with garbage is left to the helper too', async () => {
    const bus = await fakeBus('OK 0123456789abcdef0123456789abcdef\r\nthis is not a D-Bus message at all..........');
    try {
      const env = { ...noDbusEnv(process.env), DBUS_SESSION_BUS_ADDRESS: bus.address };
      await expect(lookupSecrets({ service: 'plaidbal', username: 'x' }, { env, timeoutMs: 5000 })).rejects.toMatchObject({ kind: 'unsupported', message: expect.stringMatching(/unreadable D-Bus message/) });
    } finally {
      await bus.close();
    }
  });
});

/**
 * A unix socket that speaks just enough D-Bus to be a session bus with a Secret Service on it:
 * it accepts any AUTH, then answers Hello, SearchItems, OpenSession and GetSecrets. It records
 * each call with whether SearchItems had been answered when it arrived, and holds that answer
 * back for `searchDelayMs`, so a call sent without waiting for it shows.
 */
async function fakeSecretService(items: { unlocked: string[]; locked: string[] }, { searchDelayMs = 50, searchErrors = [] as string[] } = {}) {
  const errorsLeft = [...searchErrors];
  const calls: Array<{ member: string; searchAnswered: boolean }> = [];
  const server = await unixSocketServer('plaidbal-fake-secrets-', (socket) => {
    let buffer = Buffer.alloc(0);
    let binary = false;
    let serial = 0;
    let searchAnswered = false;
    const reply = (replySerial: number, signature: string, body: unknown[], errorName?: string) => {
      const payload = new WireWriter();
      payload.write(signature, body);
      const header = new WireWriter();
      header.byte(0x6c);
      header.byte(errorName ? 3 : 2); // error, or method return
      header.byte(0);
      header.byte(1);
      header.uint32(payload.length);
      header.uint32(++serial);
      const fields: Array<[number, [string, unknown]]> = [[5, ['u', replySerial]], [8, ['g', signature]]];
      if (errorName) fields.push([4, ['s', errorName]]);
      header.write('a(yv)', [fields]);
      header.align(8);
      socket.write(Buffer.concat([header.bytes(), payload.bytes()]));
    };
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!binary) {
        const text = buffer.toString('latin1');
        const begin = text.indexOf('BEGIN\r\n');
        if (text.includes('AUTH') && !text.includes('OK')) socket.write('OK 0123456789abcdef0123456789abcdef\r\n');
        if (begin < 0) return;
        buffer = buffer.subarray(begin + 'BEGIN\r\n'.length);
        binary = true;
      }
      for (let message = decodeMessage(buffer); message; message = decodeMessage(buffer)) {
        const [fields] = new WireReader(buffer, true, 12, 16 + buffer.readUInt32LE(12)).read('a(yv)') as [Array<[number, [string, unknown]]>];
        const member = fields.find(([code]) => code === 3)?.[1][1] as string;
        buffer = buffer.subarray(message.size);
        calls.push({ member, searchAnswered });
        const to = message.serial;
        if (member === 'Hello') reply(to, 's', [':1.42']);
        else if (member === 'SearchItems' && errorsLeft.length > 0) {
          // What gnome-keyring answers when its handler finds no client record for the caller.
          reply(to, 's', [`Method SearchItems is not implemented on interface org.freedesktop.Secret.Service`], errorsLeft.shift());
        } else if (member === 'SearchItems')
          setTimeout(() => {
            reply(to, 'aoao', [items.unlocked, items.locked]);
            searchAnswered = true;
          }, searchDelayMs);
        else if (member === 'OpenSession') reply(to, 'vo', [['s', ''], '/org/freedesktop/secrets/session/s1']);
        else if (member === 'GetSecrets') reply(to, 'a{o(oayays)}', [items.unlocked.map((item) => [item, ['/org/freedesktop/secrets/session/s1', Buffer.alloc(0), Buffer.from('the-secret'), 'text/plain']])]);
      }
    });
  });
  return {
    env: { ...noDbusEnv(process.env), DBUS_SESSION_BUS_ADDRESS: server.address },
    members: () => calls.map((call) => call.member),
    calls,
    close: server.close,
  };
}

describe('the order of a lookup (gnome-keyring aborts on an OpenSession that comes first)', () => {
  it('sends OpenSession only after SearchItems has been answered, then reads the secret', async () => {
    const bus = await fakeSecretService({ unlocked: ['/org/freedesktop/secrets/collection/login/7'], locked: [] });
    try {
      expect(await lookupSecrets({ service: 'plaidbal', username: 'x' }, { env: bus.env, timeoutMs: 5000 })).toEqual(['the-secret']);
      expect(bus.members()).toEqual(['Hello', 'SearchItems', 'OpenSession', 'GetSecrets']);
      const openSession = bus.calls.find((call) => call.member === 'OpenSession')!;
      expect(openSession.searchAnswered).toBe(true);
    } finally {
      await bus.close();
    }
  });

  it('opens no session when nothing matches, or when what matches is locked', async () => {
    const none = await fakeSecretService({ unlocked: [], locked: [] });
    try {
      expect(await lookupSecrets({ service: 'plaidbal', username: 'x' }, { env: none.env, timeoutMs: 5000 })).toEqual([]);
      expect(none.members()).toEqual(['Hello', 'SearchItems']);
    } finally {
      await none.close();
    }
    const locked = await fakeSecretService({ unlocked: [], locked: ['/org/freedesktop/secrets/collection/login/7'] });
    try {
      await expect(lookupSecrets({ service: 'plaidbal', username: 'x' }, { env: locked.env, timeoutMs: 5000 })).rejects.toMatchObject({ kind: 'locked' });
      expect(locked.members()).toEqual(['Hello', 'SearchItems']);
    } finally {
      await locked.close();
    }
  });

  it("asks again when gnome-keyring answers SearchItems with UnknownMethod (a connection it has not registered yet), up to three times", async () => {
    const item = '/org/freedesktop/secrets/collection/login/7';
    const unknown = 'org.freedesktop.DBus.Error.UnknownMethod';
    const twice = await fakeSecretService({ unlocked: [item], locked: [] }, { searchErrors: [unknown, unknown] });
    try {
      expect(await lookupSecrets({ service: 'plaidbal', username: 'x' }, { env: twice.env, timeoutMs: 5000 })).toEqual(['the-secret']);
      expect(twice.members()).toEqual(['Hello', 'SearchItems', 'SearchItems', 'SearchItems', 'OpenSession', 'GetSecrets']);
    } finally {
      await twice.close();
    }
    const always = await fakeSecretService({ unlocked: [item], locked: [] }, { searchErrors: [unknown, unknown, unknown] });
    try {
      await expect(lookupSecrets({ service: 'plaidbal', username: 'x' }, { env: always.env, timeoutMs: 5000 })).rejects.toMatchObject({ kind: 'failed', message: expect.stringMatching(/UnknownMethod/) });
      expect(always.members()).toEqual(['Hello', 'SearchItems', 'SearchItems', 'SearchItems']);
    } finally {
      await always.close();
    }
    // Any other error is the answer: no second search.
    const other = await fakeSecretService({ unlocked: [item], locked: [] }, { searchErrors: ['org.freedesktop.DBus.Error.Failed'] });
    try {
      await expect(lookupSecrets({ service: 'plaidbal', username: 'x' }, { env: other.env, timeoutMs: 5000 })).rejects.toMatchObject({ kind: 'failed', message: expect.stringMatching(/Error\.Failed/) });
      expect(other.members()).toEqual(['Hello', 'SearchItems']);
    } finally {
      await other.close();
    }
  });
});
