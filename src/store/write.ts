/**
 * The one way plaidbal puts a file of the store on disk: a verified, atomic replace.
 *
 * 1. Write the whole document to a new temporary file beside the target (O_EXCL, mode 0600),
 *    looping until every byte is written: a short write is continued, and a write that
 *    makes no progress is a full disk, never ignored.
 * 2. fsync it, then check what is on disk: its length, and that it reads back byte for
 *    byte to what was meant, through the same descriptor, a block at a time (a read-back of the
 *    whole file at once held another copy of the store in memory on every write of a batch
 *    import: docs/benchmarks.md, "Figures behind the code").
 * 3. Close it, rename it over the target, and fsync the directory so the rename itself is durable.
 *
 * Any failure before the rename removes the temporary file and leaves the target
 * byte-identical. This replaces the writer conf uses (`atomically`), which writes the
 * temporary file with one `writeSync` call and ignores how many bytes it wrote: on a
 * nearly full disk it renamed a truncated store over a good one.
 *
 * All file-system calls go through `WriteFs`, so tests can inject short writes, ENOSPC,
 * EIO and failing fsyncs at any point (test/fuzz/store-write.test.ts).
 */
import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { basename, dirname } from 'node:path';

/** The subset of node:fs the writer uses. */
export interface WriteFs {
  openSync(path: string, flags: string, mode?: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  fsyncSync(fd: number): void;
  fstatSync(fd: number): { size: number };
  closeSync(fd: number): void;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
}

export const realFs: WriteFs = nodeFs as unknown as WriteFs;

/** Why a write failed, in words a user can act on, from the errno code. */
export function describeFsFailure(code: string | undefined, dir: string): { what: string; fix: string } {
  switch (code) {
    case 'ENOSPC':
      return { what: `the disk holding ${dir} is full`, fix: `Free some space there (see \`df -h "${dir}"\`), then run the command again.` };
    case 'EDQUOT':
      return { what: `your disk quota for ${dir} is used up`, fix: 'Free some space within your quota, then run the command again.' };
    case 'EROFS':
      return {
        what: `${dir} is on a read-only file system`,
        fix: 'Commands that only read the store (items, balance, check, items status, config show) still work. To change it, remount the file system read-write, or copy the store to a writable directory and point PLAIDBAL_CONFIG_DIR at it.',
      };
    case 'EACCES':
    case 'EPERM':
      return { what: `this user may not write in ${dir}`, fix: `Check the owner and permissions of ${dir} (it should be yours, mode 0700).` };
    case 'EIO':
      return { what: `the disk holding ${dir} reported an I/O error (EIO): it may be failing`, fix: 'Check the disk (dmesg, SMART), and copy the store and its backup somewhere safe.' };
    case 'SHORT':
      return { what: `the disk holding ${dir} accepted only part of the file, which usually means it is full`, fix: `Free some space there (see \`df -h "${dir}"\`), then run the command again.` };
    case 'VERIFY':
      return { what: `what was read back from ${dir} differs from what was written`, fix: 'The disk or file system may be failing. Copy the store and its backup somewhere safe.' };
    default:
      return { what: `writing in ${dir} failed${code ? ` (${code})` : ''}`, fix: 'Fix the cause, then run the command again.' };
  }
}

export class WriteFailure extends Error {
  /** True when the new file is already in place (only the directory's fsync failed). */
  readonly committed: boolean;
  readonly code: string | undefined;
  readonly what: string;
  readonly fix: string;

  constructor(target: string, code: string | undefined, committed: boolean) {
    const { what, fix } = describeFsFailure(code, dirname(target));
    super(`${what} (${basename(target)})`);
    this.name = 'WriteFailure';
    this.code = code;
    this.committed = committed;
    this.what = what;
    this.fix = fix;
  }
}

const errnoCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | null)?.code ?? undefined;

/** The temporary files of `target` this writer makes; any found while the store lock is held are left over from a crash. */
export const isTemporaryOf = (target: string, name: string) => name.startsWith(`${basename(target)}.tmp-`);

/** Directories that cannot be fsynced on this platform or file system: nothing to confirm there. */
const UNSUPPORTED_DIR_FSYNC = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EISDIR', 'EBADF', 'EPERM', 'EACCES']);

/** How much of the file is read back and compared at a time. */
const READ_BACK_BLOCK = 64 * 1024;

/** True when the file behind `fd` holds exactly `data` (its length was checked already); short reads are continued. */
function readsBackAs(fs: WriteFs, fd: number, data: Buffer): boolean {
  const block = Buffer.allocUnsafe(Math.min(READ_BACK_BLOCK, Math.max(1, data.length)));
  let position = 0;
  while (position < data.length) {
    const read = fs.readSync(fd, block, 0, Math.min(block.length, data.length - position), position);
    if (!(read > 0)) return false; // the file ends before the data does
    if (!block.subarray(0, read).equals(data.subarray(position, position + read))) return false;
    position += read;
  }
  return true;
}

export function writeFileVerified(target: string, data: Buffer, options: { mode?: number; fs?: WriteFs } = {}): void {
  const fs = options.fs ?? realFs;
  const mode = options.mode ?? 0o600;
  const temporary = `${target}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let fd: number | null = null;
  let created = false;
  try {
    fd = fs.openSync(temporary, 'wx+', mode); // read and write: the read-back uses the same descriptor
    created = true;
    let offset = 0;
    while (offset < data.length) {
      const written = fs.writeSync(fd, data, offset, data.length - offset, offset);
      // A write that makes no progress would loop for ever; the kernel only does that when it has no room.
      if (!(written > 0)) throw Object.assign(new Error('no progress'), { code: 'SHORT' });
      offset += written;
    }
    fs.fsyncSync(fd);
    if (fs.fstatSync(fd).size !== data.length) throw Object.assign(new Error('length differs'), { code: 'SHORT' });
    if (!readsBackAs(fs, fd, data)) throw Object.assign(new Error('read-back differs'), { code: 'VERIFY' });
    const closing = fd;
    fd = null;
    fs.closeSync(closing);
    fs.renameSync(temporary, target);
    created = false;
  } catch (error) {
    if (fd !== null) {
      try {
        fs.closeSync(fd);
      } catch {
        // the descriptor is gone either way
      }
    }
    if (created) {
      try {
        fs.unlinkSync(temporary);
      } catch {
        // best effort: the next write under the lock removes leftovers
      }
    }
    throw new WriteFailure(target, errnoCode(error), false);
  }
  syncDirectory(dirname(target), fs, target);
}

function syncDirectory(dir: string, fs: WriteFs, target: string): void {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync there; NTFS journals renames
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch (error) {
    if (UNSUPPORTED_DIR_FSYNC.has(errnoCode(error) ?? '')) return;
    throw new WriteFailure(target, errnoCode(error), true);
  }
  try {
    fs.fsyncSync(fd);
  } catch (error) {
    if (!UNSUPPORTED_DIR_FSYNC.has(errnoCode(error) ?? '')) throw new WriteFailure(target, errnoCode(error), true);
  } finally {
    try {
      fs.closeSync(fd);
    } catch {
      // nothing to do
    }
  }
}
