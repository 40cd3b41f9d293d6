/**
 * The single implementation of plaidbal's crypto. Nothing else touches keys.
 *
 * A sealed value is the string `v1.<iv>.<ciphertext>.<tag>` (base64url parts):
 * AES-256-GCM, a fresh random 12-byte IV per seal, a 16-byte tag, and additional
 * authenticated data (AAD) that binds the value to where it belongs, so a token
 * copied onto another item or environment no longer opens.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;

export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealError';
  }
}

/** What a sealed value is bound to. */
export const aad = {
  accessToken: (environment: string, itemId: string) => `plaidbal:v1:access_token:${environment}:${itemId}`,
  secret: (environment: string) => `plaidbal:v1:secret:${environment}`,
  keyCheck: () => 'plaidbal:v1:key-check',
};

export interface Sealer {
  seal(plaintext: string, boundTo: string): string;
  /** Throws SealError when the value was tampered with, bound elsewhere, or sealed with another key. */
  open(sealed: string, boundTo: string): string;
}

export function sealerFor(key: Buffer): Sealer {
  if (key.length !== KEY_BYTES) throw new SealError(`A sealing key must be ${KEY_BYTES} bytes.`);
  return {
    seal(plaintext, boundTo) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(boundTo, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, iv, ciphertext, cipher.getAuthTag()].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
    },
    open(sealed, boundTo) {
      const parts = typeof sealed === 'string' ? sealed.split('.') : [];
      if (parts.length !== 4 || parts[0] !== VERSION) throw new SealError('not a sealed value');
      const [iv, ciphertext, tag] = parts.slice(1).map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer];
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SealError('malformed sealed value');
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(boundTo, 'utf8'));
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch {
        throw new SealError('authentication failed');
      }
    },
  };
}

/** The value sealed under aad.keyCheck(): opening it proves the key is the store's key. */
const KEY_CHECK_PLAINTEXT = 'plaidbal-key-check';

export function makeKeyCheck(sealer: Sealer): string {
  return sealer.seal(KEY_CHECK_PLAINTEXT, aad.keyCheck());
}

export function keyMatches(sealer: Sealer, check: string): boolean {
  try {
    const opened = Buffer.from(sealer.open(check, aad.keyCheck()));
    const expected = Buffer.from(KEY_CHECK_PLAINTEXT);
    return opened.length === expected.length && timingSafeEqual(opened, expected);
  } catch {
    return false;
  }
}

export function randomKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

export interface ScryptParams {
  name: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string; // base64url, 16 bytes
}

/** N = 2^17, r = 8, p = 1: 128 MiB (128 · N · r bytes) and a noticeable fraction of a second, on purpose (docs/benchmarks.md). */
export function newScryptParams(): ScryptParams {
  return { name: 'scrypt', N: 2 ** 17, r: 8, p: 1, salt: randomBytes(16).toString('base64url') };
}

export function deriveKey(passphrase: string, params: ScryptParams): Promise<Buffer> {
  // scrypt needs 128 * N * r bytes; Node's default maxmem (32 MiB) is too small for N = 2^17.
  const maxmem = 128 * params.N * params.r * 2;
  return new Promise((resolve, reject) => {
    scryptCb(passphrase.normalize('NFC'), Buffer.from(params.salt, 'base64url'), KEY_BYTES, { N: params.N, r: params.r, p: params.p, maxmem }, (error, key) =>
      error ? reject(new SealError('key derivation failed')) : resolve(key),
    );
  });
}
