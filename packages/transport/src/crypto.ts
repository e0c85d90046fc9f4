/**
 * What the transport needs of a signature scheme, and nothing more: Ed25519 signing and
 * verification for the handshake, and key derivation to check an identity against the directory.
 *
 * The backend is passed in, never chosen here: the transport imports nothing of ours, so it cannot
 * name the protocol's backends, and a default of its own would be a second Ed25519 implementation
 * beside the one the process already chose for its signatures (a replica's votes, an agent's
 * requests). Any object with these methods will do; core's `CryptoBackend` has them.
 */
import { TransportError } from './transport.ts';

/** Bytes of an Ed25519 public key. */
export const ED25519_PUBLIC_KEY_BYTES = 32;
/** Bytes of an Ed25519 secret key in tweetnacl's format: the seed, then the public key. */
export const ED25519_SECRET_KEY_BYTES = 64;
/** Bytes of an Ed25519 seed, the first half of a secret key. */
export const ED25519_SEED_BYTES = 32;
/** Bytes of an Ed25519 signature. */
export const ED25519_SIGNATURE_BYTES = 64;

/** The Ed25519 operations the transport calls. Keys use tweetnacl's formats (see the sizes above). */
export interface TransportCrypto {
  /** A 64-byte signature of `data` by the 64-byte `secretKey`. */
  sign(data: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** Whether `signature` is `publicKey`'s over `data`. Must not throw: a malformed key or signature is not valid. */
  verify(data: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean;
  /** The key pair of a 32-byte seed; the transport reads only its public key. */
  keyPairFromSeed(seed: Uint8Array): { readonly publicKey: Uint8Array };
}

/** Throws `INVALID_OPTIONS` unless `crypto` has the methods of a {@link TransportCrypto}. */
export function checkCrypto(crypto: unknown): asserts crypto is TransportCrypto {
  const candidate = crypto as Partial<Record<keyof TransportCrypto, unknown>> | null | undefined;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.sign !== 'function' ||
    typeof candidate.verify !== 'function' ||
    typeof candidate.keyPairFromSeed !== 'function'
  ) {
    throw new TransportError(
      'INVALID_OPTIONS',
      'crypto is required: an object with sign, verify and keyPairFromSeed (core’s nodeCrypto() is one)',
    );
  }
}

/** Whether two byte strings are equal. Not constant-time: for public values only. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
