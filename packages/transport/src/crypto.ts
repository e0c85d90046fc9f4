/**
 * What the transport needs of a signature scheme, and nothing more: Ed25519 signing and
 * verification for the handshake, and key derivation to check an identity against the directory.
 *
 * The backend is passed in, never chosen here: the process already picked one for its own
 * signatures (a replica's votes, an agent's requests), and the transport must sign and verify with
 * that same one. Any object with these methods will do; the protocol's crypto backend has them.
 */
import { TransportError } from './transport.ts';

/** The Ed25519 operations the transport calls. Keys use tweetnacl's formats (32-byte public key, 64-byte secret key = seed ‖ public key). */
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
