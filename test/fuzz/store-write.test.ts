/**
 * The store's write path under a file system that fails: short writes (the kernel may write
 * fewer bytes than asked; on a nearly full disk it does), ENOSPC and EIO at any byte,
 * failing fsync, fstat, close, read-back, rename and directory fsync, and read-back that
 * returns other bytes. Whatever happens, the file on disk is the old document or the new
 * one, never anything else; a failure before the rename leaves the old one byte-identical
 * and no temporary file behind.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { realFs, WriteFailure, writeFileVerified, type WriteFs } from '../../src/store/write.js';
import { fuzz } from './support.js';

const root = mkdtempSync(join(tmpdir(), 'plaidbal-write-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Op = 'open' | 'write' | 'fsync' | 'fstat' | 'close' | 'read' | 'rename' | 'unlink' | 'opendir' | 'fsyncdir';

/** One fault: at the n-th call of an operation, do this instead. */
type Fault =
  | { op: 'write'; nth: number; kind: 'short'; keep: number } // writes only `keep` bytes of what was asked, and says so
  | { op: 'write'; nth: number; kind: 'zero' } // writes nothing and returns 0
  | { op: 'write'; nth: number; kind: 'garble' } // a disk that stores other bytes than it was given, and says all is well
  | { op: 'write'; nth: number; kind: 'partial-then-error'; keep: number; code: 'ENOSPC' | 'EIO' | 'EDQUOT' } // some bytes land, then the call fails
  | { op: Exclude<Op, 'write'>; nth: number; kind: 'error'; code: 'ENOSPC' | 'EIO' | 'EROFS' | 'EACCES' }
  | { op: 'read'; nth: number; kind: 'corrupt' } // read-back returns other bytes
  | { op: 'fstat'; nth: number; kind: 'lie' }; // reports a shorter file

const errno = (code: string) => Object.assign(new Error(`${code} (injected)`), { code });

/** node:fs with the faults applied, counting calls per operation. Short writes that are not faults are legal too: `chunk` caps every write. */
function faultyFs(faults: Fault[], chunk: number): { fs: WriteFs; fired: Fault[] } {
  const calls = new Map<Op, number>();
  const fired: Fault[] = [];
  const next = (op: Op): Fault | undefined => {
    const n = (calls.get(op) ?? 0) + 1;
    calls.set(op, n);
    const fault = faults.find((f) => f.op === op && f.nth === n);
    if (fault) fired.push(fault);
    return fault;
  };
  const dirFds = new Set<number>();
  const fs: WriteFs = {
    openSync(path, flags, mode) {
      const isDir = flags === 'r';
      const fault = next(isDir ? 'opendir' : 'open');
      if (fault?.kind === 'error') throw errno(fault.code);
      const fd = realFs.openSync(path, flags, mode);
      if (isDir) dirFds.add(fd);
      return fd;
    },
    writeSync(fd, buffer, offset, length, position) {
      const fault = next('write');
      const capped = Math.min(length, chunk);
      if (!fault) return realFs.writeSync(fd, buffer, offset, capped, position);
      if (fault.kind === 'zero') return 0;
      if (fault.kind === 'garble') {
        const bad = Buffer.from(buffer.subarray(offset, offset + capped));
        bad[bad.length >> 1]! ^= 0x20;
        return realFs.writeSync(fd, bad, 0, bad.length, position);
      }
      if (fault.kind === 'short') return realFs.writeSync(fd, buffer, offset, Math.max(1, Math.min(capped, fault.keep)), position);
      if (fault.kind === 'partial-then-error') {
        const keep = Math.min(capped, fault.keep);
        if (keep > 0) realFs.writeSync(fd, buffer, offset, keep, position);
        throw errno(fault.code);
      }
      throw new Error('unreachable');
    },
    fsyncSync(fd) {
      const fault = next(dirFds.has(fd) ? 'fsyncdir' : 'fsync');
      if (fault?.kind === 'error') throw errno(fault.code);
      realFs.fsyncSync(fd);
    },
    fstatSync(fd) {
      const fault = next('fstat');
      if (fault?.kind === 'error') throw errno(fault.code);
      const stat = realFs.fstatSync(fd);
      return fault?.kind === 'lie' ? { size: Math.max(0, stat.size - 1) } : stat;
    },
    closeSync(fd) {
      const fault = next('close');
      dirFds.delete(fd);
      realFs.closeSync(fd);
      if (fault?.kind === 'error') throw errno(fault.code); // close reports a deferred write error after releasing the descriptor
    },
    readSync(fd, buffer, offset, length, position) {
      const fault = next('read');
      if (fault?.kind === 'error') throw errno(fault.code);
      // Short reads are legal too: `chunk` caps every read, as it caps every write.
      const read = realFs.readSync(fd, buffer, offset, Math.min(length, chunk), position);
      if (fault?.kind === 'corrupt' && read > 0) buffer[offset + read - 1]! ^= 0x01; // another bit than `garble` flips, so two faults cannot cancel out
      return read;
    },
    renameSync(from, to) {
      const fault = next('rename');
      if (fault?.kind === 'error') throw errno(fault.code);
      realFs.renameSync(from, to);
    },
    unlinkSync(path) {
      const fault = next('unlink');
      if (fault?.kind === 'error') throw errno(fault.code);
      realFs.unlinkSync(path);
    },
  };
  return { fs, fired };
}

const code = fc.constantFrom('ENOSPC', 'EIO', 'EROFS', 'EACCES') as fc.Arbitrary<'ENOSPC' | 'EIO' | 'EROFS' | 'EACCES'>;
const nth = fc.integer({ min: 1, max: 6 });
const fault: fc.Arbitrary<Fault> = fc.oneof(
  fc.record({ op: fc.constant('write' as const), nth, kind: fc.constant('short' as const), keep: fc.integer({ min: 1, max: 4096 }) }),
  fc.record({ op: fc.constant('write' as const), nth, kind: fc.constant('zero' as const) }),
  fc.record({ op: fc.constant('write' as const), nth, kind: fc.constant('garble' as const) }),
  fc.record({
    op: fc.constant('write' as const),
    nth,
    kind: fc.constant('partial-then-error' as const),
    keep: fc.integer({ min: 0, max: 4096 }),
    code: fc.constantFrom('ENOSPC', 'EIO', 'EDQUOT') as fc.Arbitrary<'ENOSPC' | 'EIO' | 'EDQUOT'>,
  }),
  fc.record({ op: fc.constantFrom('open', 'fsync', 'fstat', 'close', 'read', 'rename', 'unlink', 'opendir', 'fsyncdir') as fc.Arbitrary<Exclude<Op, 'write'>>, nth: fc.constant(1), kind: fc.constant('error' as const), code }),
  fc.record({ op: fc.constant('read' as const), nth: fc.constant(1), kind: fc.constant('corrupt' as const) }),
  fc.record({ op: fc.constant('fstat' as const), nth: fc.constant(1), kind: fc.constant('lie' as const) }),
);
const documentBytes = fc.jsonValue().map((v) => Buffer.from(JSON.stringify({ version: 1, padding: v }, undefined, '\t')));

let cases = 0;
const temporaries = (dir: string) => readdirSync(dir).filter((name) => name.includes('.tmp-'));

describe('writeFileVerified under a failing file system', () => {
  it('leaves the old document or the new one, never anything else', () => {
    const outcomes = new Map<string, number>();
    fc.assert(
      fc.property(
        fc.option(documentBytes, { nil: null }),
        documentBytes,
        fc.array(fault, { maxLength: 3 }),
        fc.integer({ min: 1, max: 70_000 }),
        (old, next, faults, chunk) => {
          const dir = join(root, `case-${++cases}`);
          freshDir(dir);
          const target = join(dir, 'store.json');
          if (old) writeFileSync(target, old, { mode: 0o600 });
          const { fs, fired } = faultyFs(faults, chunk);
          let outcome: 'ok' | 'failed' | 'committed-unconfirmed';
          try {
            writeFileVerified(target, next, { fs });
            outcome = 'ok';
          } catch (error) {
            expect(error).toBeInstanceOf(WriteFailure);
            outcome = (error as WriteFailure).committed ? 'committed-unconfirmed' : 'failed';
            expect((error as WriteFailure).what.length).toBeGreaterThan(0);
          }
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          const onDisk = existsSync(target) ? readFileSync(target) : null;
          if (outcome === 'failed') {
            // Byte-identical: the old document, or still no file at all.
            expect(onDisk === null ? null : onDisk.toString('hex')).toBe(old === null ? null : old.toString('hex'));
            // No temporary file, unless removing it was itself made to fail (the next locked write removes it).
            if (!fired.some((f) => f.op === 'unlink')) expect(temporaries(dir)).toEqual([]);
          } else {
            expect(onDisk?.equals(next)).toBe(true);
            expect(temporaries(dir)).toEqual([]);
          }
          // A fault that can only mean the data did not land must never end in success.
          if (fired.some((f) => f.kind === 'zero' || f.kind === 'garble' || f.kind === 'partial-then-error' || f.kind === 'corrupt' || f.kind === 'lie' || (f.kind === 'error' && !['opendir', 'fsyncdir', 'unlink', 'close'].includes(f.op)))) {
            expect(outcome).not.toBe('ok');
          }
          rmSync(dir, { recursive: true, force: true });
        },
      ),
      fuzz(400),
    );
    // The property saw every kind of ending, so none of its branches is vacuous.
    expect(outcomes.get('ok')).toBeGreaterThan(0);
    expect(outcomes.get('failed')).toBeGreaterThan(0);
    expect(outcomes.get('committed-unconfirmed')).toBeGreaterThan(0);
  });

  it('writes a document in full through a file system that writes one byte per call', () => {
    const dir = join(root, 'trickle');
    freshDir(dir);
    const target = join(dir, 'store.json');
    const data = Buffer.from(JSON.stringify({ items: Array.from({ length: 50 }, (_, i) => ({ alias: `item-${i}` })) }));
    const { fs } = faultyFs([], 1);
    writeFileVerified(target, data, { fs });
    expect(readFileSync(target).equals(data)).toBe(true);
  });

  it('names the full disk, the read-only file system and the failing disk in words', () => {
    for (const [injected, words] of [
      ['ENOSPC', /the disk holding .* is full/],
      ['EROFS', /read-only file system/],
      ['EIO', /I\/O error/],
    ] as const) {
      const dir = join(root, `words-${injected}`);
      freshDir(dir);
      const { fs } = faultyFs([{ op: 'write', nth: 1, kind: 'partial-then-error', keep: 3, code: injected === 'EROFS' ? 'EIO' : injected }], 1 << 20);
      const rofs = faultyFs([{ op: 'open', nth: 1, kind: 'error', code: 'EROFS' }], 1 << 20).fs;
      let caught: unknown;
      try {
        writeFileVerified(join(dir, 'store.json'), Buffer.from('{}'), { fs: injected === 'EROFS' ? rofs : fs });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(WriteFailure);
      expect((caught as WriteFailure).what).toMatch(words);
    }
  });
});

function freshDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}
