import { describe, expect, it } from 'vitest';
import { aad, deriveKey, keyMatches, makeKeyCheck, newScryptParams, randomKey, SealError, sealerFor } from '../../src/store/seal.js';

describe('sealing (AES-256-GCM)', () => {
  const sealer = sealerFor(randomKey());
  const token = 'access-sandbox-2b8b4e1c-5d0e-4b7c-9f8e-0d1c2b3a4f5e';
  const boundTo = aad.accessToken('sandbox', 'ItemAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');

  it('round-trips and never contains the plaintext', () => {
    const sealed = sealer.seal(token, boundTo);
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain(token);
    expect(sealer.open(sealed, boundTo)).toBe(token);
  });

  it('uses a fresh 12-byte IV and a 16-byte tag every time', () => {
    const a = sealer.seal(token, boundTo).split('.');
    const b = sealer.seal(token, boundTo).split('.');
    expect(Buffer.from(a[1]!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(a[3]!, 'base64url')).toHaveLength(16);
    expect(a[1]).not.toBe(b[1]);
    expect(a[2]).not.toBe(b[2]);
  });

  it('refuses a value bound to another item or environment (AAD)', () => {
    const sealed = sealer.seal(token, boundTo);
    expect(() => sealer.open(sealed, aad.accessToken('production', 'ItemAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'))).toThrow(SealError);
    expect(() => sealer.open(sealed, aad.accessToken('sandbox', 'ItemBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'))).toThrow(SealError);
  });

  it('detects any flipped byte in IV, ciphertext or tag', () => {
    const sealed = sealer.seal(token, boundTo);
    const parts = sealed.split('.');
    for (const index of [1, 2, 3]) {
      const bytes = Buffer.from(parts[index]!, 'base64url');
      bytes[0] = bytes[0]! ^ 1;
      const tampered = [...parts];
      tampered[index] = bytes.toString('base64url');
      expect(() => sealer.open(tampered.join('.'), boundTo)).toThrow(SealError);
    }
    expect(() => sealer.open('v2.a.b.c', boundTo)).toThrow(SealError);
    expect(() => sealer.open('garbage', boundTo)).toThrow(SealError);
  });

  it('a different key does not open it, and the key check tells keys apart', () => {
    const other = sealerFor(randomKey());
    expect(() => other.open(sealer.seal(token, boundTo), boundTo)).toThrow(SealError);
    const check = makeKeyCheck(sealer);
    expect(keyMatches(sealer, check)).toBe(true);
    expect(keyMatches(other, check)).toBe(false);
    expect(keyMatches(sealer, 'v1.broken')).toBe(false);
  });

  it('rejects keys of the wrong size', () => {
    expect(() => sealerFor(Buffer.alloc(16))).toThrow(SealError);
  });
});

describe('scrypt key derivation', () => {
  it('uses N >= 2^17, r = 8, p = 1 and a random 16-byte salt', () => {
    const a = newScryptParams();
    const b = newScryptParams();
    expect(a.N).toBeGreaterThanOrEqual(2 ** 17);
    expect(a.r).toBe(8);
    expect(a.p).toBe(1);
    expect(Buffer.from(a.salt, 'base64url')).toHaveLength(16);
    expect(a.salt).not.toBe(b.salt);
  });

  it('derives the same key for the same passphrase and salt, another for another passphrase', async () => {
    const params = { ...newScryptParams(), N: 2 ** 10 }; // small N keeps the unit test fast; the real N is checked above
    const k1 = await deriveKey('correct horse battery staple', params);
    const k2 = await deriveKey('correct horse battery staple', params);
    const k3 = await deriveKey('correct horse battery stapler', params);
    expect(k1).toHaveLength(32);
    expect(k1.equals(k2)).toBe(true);
    expect(k1.equals(k3)).toBe(false);
  });

  it('works at the real cost (maxmem raised above Node\'s 32 MiB default)', async () => {
    const key = await deriveKey('a passphrase', newScryptParams());
    expect(key).toHaveLength(32);
  });
});
