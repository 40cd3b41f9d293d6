/**
 * Makes a passphrase store cheap to open: re-keys it, in this process, to scrypt N = 2^14
 * with the same passphrase. Every later plaidbal run against it derives its key at 1/8 of the
 * cost of the N = 2^17 that `config init` writes (what each costs here: docs/benchmarks.md,
 * "scrypt, call by call").
 *
 * Why this is not a test-only path in plaidbal: the store records its own scrypt parameters,
 * and plaidbal opens any it could have written (N a power of two from 2^14 to 2^20,
 * src/store/document.ts), so a store re-keyed here is one plaidbal reads the way it reads its
 * own. What `config init` writes (N = 2^17) is asserted where it is the subject
 * (test/unit/seal.test.ts, and the tests that run `config init` and `config rekey` themselves).
 *
 * Most end-to-end runs used to spend most of their CPU time in scrypt, so this is most of the
 * suite's time on a 2-core machine (docs/benchmarks.md, "Test suite").
 */
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { documentProblem, serializeDocument, type StoreDocument } from '../../src/store/document.js';
import { backupPath, STORE_FILE } from '../../src/store/paths.js';
import { newStoreId } from '../../src/store/keys.js';
import { aad, deriveKey, keyMatches, makeKeyCheck, newScryptParams, sealerFor } from '../../src/store/seal.js';
import type { Environment } from '../../src/types.js';

export const CHEAP_SCRYPT_N = 2 ** 14;

export async function cheapenPassphraseStore(dir: string, passphrase: string): Promise<void> {
  const path = join(dir, STORE_FILE);
  const doc = JSON.parse(readFileSync(path, 'utf8')) as StoreDocument;
  const problem = documentProblem(doc);
  if (problem) throw new Error(`cheapenPassphraseStore: ${path} is not a store plaidbal wrote: ${problem}`);
  const key = doc.key;
  if (key?.source !== 'passphrase') throw new Error(`cheapenPassphraseStore: ${path} is not a passphrase store (${key?.source ?? 'no key'})`);
  if (key.kdf.N === CHEAP_SCRYPT_N) return;
  const from = sealerFor(await deriveKey(passphrase, key.kdf));
  if (!keyMatches(from, key.check)) throw new Error(`cheapenPassphraseStore: the passphrase does not open ${path}`);
  const kdf = { ...newScryptParams(), N: CHEAP_SCRYPT_N };
  const to = sealerFor(await deriveKey(passphrase, kdf));
  const reseal = (sealed: string, boundTo: string) => to.seal(from.open(sealed, boundTo), boundTo);
  for (const [environment, profile] of Object.entries(doc.profiles) as [Environment, NonNullable<StoreDocument['profiles'][Environment]>][]) {
    if (profile.secret) profile.secret = reseal(profile.secret, aad.secret(environment));
  }
  for (const item of doc.items) item.access_token = reseal(item.access_token, aad.accessToken(item.environment, item.item_id));
  doc.key = { ...key, kdf, check: makeKeyCheck(to) };
  const bytes = serializeDocument(doc);
  writeFileSync(path, bytes, { mode: 0o600 });
  // The backup holds the same bytes after every write plaidbal makes (src/store/store.ts commit).
  if (existsSync(backupPath(path))) writeFileSync(backupPath(path), bytes, { mode: 0o600 });
}

/** A store directory's files and modes, as a template for the next store made the same way. */
export interface StoreTemplate {
  dirMode: number;
  files: { name: string; mode: number; bytes: Buffer }[];
}

export function captureStore(dir: string): StoreTemplate {
  return {
    dirMode: statSync(dir).mode & 0o7777,
    files: readdirSync(dir).map((name) => ({ name, mode: statSync(join(dir, name)).mode & 0o7777, bytes: readFileSync(join(dir, name)) })),
  };
}

/**
 * Writes `template` into the empty directory `dir`, with a store_id of its own: a copy of a
 * store `config init` made, as if it had made this one (store_id is bound into nothing sealed;
 * src/store/seal.ts aad).
 */
export function restoreStore(template: StoreTemplate, dir: string): void {
  if (readdirSync(dir).length) throw new Error(`restoreStore: ${dir} is not empty`);
  const storeId = newStoreId();
  for (const file of template.files) {
    let bytes = file.bytes;
    if (file.name === STORE_FILE || file.name === backupPath(STORE_FILE)) {
      const doc = JSON.parse(bytes.toString('utf8')) as StoreDocument;
      doc.store_id = storeId;
      bytes = Buffer.from(serializeDocument(doc), 'utf8');
    }
    writeFileSync(join(dir, file.name), bytes, { mode: file.mode });
    chmodSync(join(dir, file.name), file.mode);
  }
  chmodSync(dir, template.dirMode);
}
