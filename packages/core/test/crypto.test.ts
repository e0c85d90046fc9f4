import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCanonicalScalar, nodeCrypto, tweetnaclCrypto } from '../src/index.ts';

const node = nodeCrypto();
const nacl = tweetnaclCrypto();

// Ed25519 group order L, little-endian: adding it to S gives a second, non-canonical encoding.
const L = [
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];
function addGroupOrder(signature: Uint8Array): Uint8Array {
  const out = new Uint8Array(signature);
  let carry = 0;
  for (let i = 0; i < 32; i++) {
    const sum = (out[32 + i] as number) + (L[i] as number) + carry;
    out[32 + i] = sum & 0xff;
    carry = sum >> 8;
  }
  return out;
}

describe('crypto backends', () => {
  it('derive the same keys, hashes and byte-identical signatures, and verify each other', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 300 }),
        (seed, message) => {
          const a = node.keyPairFromSeed(seed);
          const b = nacl.keyPairFromSeed(seed);
          expect(a.publicKey).toEqual(b.publicKey);
          expect(a.secretKey).toEqual(b.secretKey);
          expect(node.hash(message)).toEqual(nacl.hash(message));
          const sigNode = node.sign(message, a.secretKey);
          const sigNacl = nacl.sign(message, b.secretKey);
          expect(sigNode).toEqual(sigNacl);
          expect(nacl.verify(message, sigNode, a.publicKey)).toBe(true);
          expect(node.verify(message, sigNacl, b.publicKey)).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('reject a tampered message, a tampered signature and the wrong key in both backends', () => {
    const keys = node.keyPairFromSeed(new Uint8Array(32).fill(7));
    const other = node.keyPairFromSeed(new Uint8Array(32).fill(8));
    const message = new TextEncoder().encode('approve release 1.4');
    const signature = node.sign(message, keys.secretKey);
    for (const backend of [node, nacl]) {
      expect(backend.verify(message, signature, keys.publicKey)).toBe(true);
      const tampered = new Uint8Array(message);
      tampered[0] = (tampered[0] as number) ^ 1;
      expect(backend.verify(tampered, signature, keys.publicKey)).toBe(false);
      const badSig = new Uint8Array(signature);
      badSig[10] = (badSig[10] as number) ^ 1;
      expect(backend.verify(message, badSig, keys.publicKey)).toBe(false);
      expect(backend.verify(message, signature, other.publicKey)).toBe(false);
      expect(backend.verify(message, signature.subarray(0, 63), keys.publicKey)).toBe(false);
      expect(backend.verify(message, signature, keys.publicKey.subarray(0, 31))).toBe(false);
    }
  });

  it('both reject the malleated signature S + L, so they accept exactly the same signatures', () => {
    const keys = node.keyPairFromSeed(new Uint8Array(32).fill(3));
    const message = new TextEncoder().encode('m');
    const signature = node.sign(message, keys.secretKey);
    expect(isCanonicalScalar(signature)).toBe(true);
    const malleated = addGroupOrder(signature);
    expect(isCanonicalScalar(malleated)).toBe(false);
    expect(node.verify(message, malleated, keys.publicKey)).toBe(false);
    expect(nacl.verify(message, malleated, keys.publicKey)).toBe(false);
  });
});
