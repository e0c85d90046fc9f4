/**
 * The transport package imports nothing of ours, so it writes down the few values it shares with
 * core instead of importing them. The daemon runs both, so this is where they are held equal.
 */
import {
  type CryptoBackend,
  LIMITS,
  nodeCrypto,
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
  SEED_BYTES,
  SIGNATURE_BYTES,
  tweetnaclCrypto,
} from '@conclave/core';
import {
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SECRET_KEY_BYTES,
  ED25519_SEED_BYTES,
  ED25519_SIGNATURE_BYTES,
  FRAME_LIMITS_DEFAULT,
  type TransportCrypto,
} from '@conclave/transport';
import { describe, expect, it } from 'vitest';

describe('transport and core agree', () => {
  it('on the largest frame', () => {
    expect(FRAME_LIMITS_DEFAULT.frameBytesMax).toBe(LIMITS.frameBytesMax);
  });

  it('on Ed25519 key, seed and signature sizes', () => {
    expect(ED25519_PUBLIC_KEY_BYTES).toBe(PUBLIC_KEY_BYTES);
    expect(ED25519_SECRET_KEY_BYTES).toBe(SECRET_KEY_BYTES);
    expect(ED25519_SEED_BYTES).toBe(SEED_BYTES);
    expect(ED25519_SIGNATURE_BYTES).toBe(SIGNATURE_BYTES);
  });

  it.each([
    ['nodeCrypto', nodeCrypto],
    ['tweetnaclCrypto', tweetnaclCrypto],
  ])('on what a crypto backend is: core’s %s serves as the transport’s', (_, make: () => CryptoBackend) => {
    // Compiles only while CryptoBackend satisfies TransportCrypto; the sizes are the transport's.
    const crypto: TransportCrypto = make();
    const pair = make().keyPairFromSeed(new Uint8Array(ED25519_SEED_BYTES).fill(7));
    expect(pair.publicKey.byteLength).toBe(ED25519_PUBLIC_KEY_BYTES);
    expect(pair.secretKey.byteLength).toBe(ED25519_SECRET_KEY_BYTES);
    expect(crypto.keyPairFromSeed(pair.secretKey.subarray(0, ED25519_SEED_BYTES)).publicKey).toEqual(
      pair.publicKey,
    );
    const data = new TextEncoder().encode('handshake transcript');
    const signature = crypto.sign(data, pair.secretKey);
    expect(signature.byteLength).toBe(ED25519_SIGNATURE_BYTES);
    expect(crypto.verify(data, signature, pair.publicKey)).toBe(true);
    expect(crypto.verify(data, new Uint8Array(ED25519_SIGNATURE_BYTES), pair.publicKey)).toBe(false);
  });
});
