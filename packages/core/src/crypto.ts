/**
 * The crypto port: Ed25519 signatures and the protocol's digest function.
 *
 * Two backends produce byte-identical results:
 * - `nodeCrypto()` (default): Node's built-in Ed25519 (OpenSSL), ~9k verifications/s per core.
 * - `tweetnaclCrypto()`: pure JavaScript, ~100x slower, for runtimes without node:crypto.
 *
 * Keys use tweetnacl's formats: a 32-byte public key and a 64-byte secret key (seed ‖ public key).
 * The digest is the first 32 bytes of SHA-512, which both backends compute natively.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import nacl from 'tweetnacl';
import { bytesEqual } from './codec.ts';

export const PUBLIC_KEY_BYTES = 32;
export const SECRET_KEY_BYTES = 64;
export const SEED_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const DIGEST_BYTES = 32;

export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export interface CryptoBackend {
  readonly name: string;
  /** 32-byte digest: the first half of SHA-512. */
  hash(data: Uint8Array): Uint8Array;
  sign(data: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** Never throws: a malformed key or signature is simply not valid. */
  verify(data: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean;
  /** Deterministic key derivation, so that seeded simulations have reproducible identities. */
  keyPairFromSeed(seed: Uint8Array): KeyPair;
}

// Ed25519 group order L, little-endian. RFC 8032 requires S < L; OpenSSL enforces it and
// tweetnacl does not, so the portable backend checks it itself to accept exactly what the
// default backend accepts (otherwise S + L would be a second valid signature for one message).
const GROUP_ORDER_LE = new Uint8Array([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
]);

/** True when the S half of a signature is a canonical scalar (S < L). */
export function isCanonicalScalar(signature: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i] as number;
    const l = GROUP_ORDER_LE[i] as number;
    if (s < l) return true;
    if (s > l) return false;
  }
  return false; // S == L
}

function checkKeyLengths(secretKey: Uint8Array): void {
  if (secretKey.byteLength !== SECRET_KEY_BYTES) {
    throw new TypeError(`secret key must be ${SECRET_KEY_BYTES} bytes, got ${secretKey.byteLength}`);
  }
}

// DER prefixes that wrap a raw Ed25519 seed (PKCS#8) or public key (SPKI) for node:crypto.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function nodeCrypto(): CryptoBackend {
  // Key objects are costly to build; cache them by the identity of the key's bytes.
  const privateKeys = new WeakMap<Uint8Array, KeyObject>();
  const publicKeys = new WeakMap<Uint8Array, KeyObject>();

  const privateKeyOf = (secretKey: Uint8Array): KeyObject => {
    let key = privateKeys.get(secretKey);
    if (key === undefined) {
      checkKeyLengths(secretKey);
      key = createPrivateKey({
        key: Buffer.concat([PKCS8_PREFIX, secretKey.subarray(0, SEED_BYTES)]),
        format: 'der',
        type: 'pkcs8',
      });
      privateKeys.set(secretKey, key);
    }
    return key;
  };
  const publicKeyOf = (publicKey: Uint8Array): KeyObject => {
    let key = publicKeys.get(publicKey);
    if (key === undefined) {
      key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
      publicKeys.set(publicKey, key);
    }
    return key;
  };

  return {
    name: 'node:crypto',
    hash: (data) => new Uint8Array(createHash('sha512').update(data).digest().subarray(0, DIGEST_BYTES)),
    sign: (data, secretKey) => new Uint8Array(sign(null, data, privateKeyOf(secretKey))),
    verify: (data, signature, publicKey) => {
      if (signature.byteLength !== SIGNATURE_BYTES || publicKey.byteLength !== PUBLIC_KEY_BYTES) return false;
      try {
        return verify(null, data, publicKeyOf(publicKey), signature);
      } catch {
        return false;
      }
    },
    keyPairFromSeed: (seed) => {
      // Derivation is the same in both backends; tweetnacl's is the reference.
      const pair = nacl.sign.keyPair.fromSeed(checkSeed(seed));
      return { publicKey: pair.publicKey, secretKey: pair.secretKey };
    },
  };
}

export function tweetnaclCrypto(): CryptoBackend {
  return {
    name: 'tweetnacl',
    hash: (data) => nacl.hash(data).subarray(0, DIGEST_BYTES),
    sign: (data, secretKey) => {
      checkKeyLengths(secretKey);
      return nacl.sign.detached(data, secretKey);
    },
    verify: (data, signature, publicKey) => {
      if (signature.byteLength !== SIGNATURE_BYTES || publicKey.byteLength !== PUBLIC_KEY_BYTES) return false;
      if (!isCanonicalScalar(signature)) return false;
      try {
        return nacl.sign.detached.verify(data, signature, publicKey);
      } catch {
        return false;
      }
    },
    keyPairFromSeed: (seed) => {
      const pair = nacl.sign.keyPair.fromSeed(checkSeed(seed));
      return { publicKey: pair.publicKey, secretKey: pair.secretKey };
    },
  };
}

function checkSeed(seed: Uint8Array): Uint8Array {
  if (seed.byteLength !== SEED_BYTES)
    throw new TypeError(`seed must be ${SEED_BYTES} bytes, got ${seed.byteLength}`);
  return seed;
}

/** A crypto backend that remembers the signatures it has checked (see `verifyCache`). */
export interface CachingCrypto extends CryptoBackend {
  /** Records the verdict of a check done elsewhere (e.g. by a worker thread). */
  remember(data: Uint8Array, signature: Uint8Array, publicKey: Uint8Array, valid?: boolean): void;
  /**
   * The remembered verdict for exactly these bytes, signature and key, or undefined: lets a
   * worker pool skip a check the cache will answer (a replayed query costs a lookup). Counts
   * neither a hit nor a miss.
   */
  known(data: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean | undefined;
  /** Verifications answered from the cache, and those computed. */
  readonly stats: { readonly hits: number; readonly misses: number; readonly size: number };
}

/** Valid signatures a caching backend remembers by default. */
export const VERIFY_CACHE_ENTRIES = 16_384;

/**
 * Wraps `backend` so that each valid signature is checked once: a replica meets the same
 * signature more than once (a request arrives directly and again inside a batch, a prepare again
 * inside a prepared certificate of a view change, a commit inside a commit certificate), and a
 * worker pool can check signatures ahead of the replica and `remember` them.
 *
 * The cache is keyed by the signature and stores the digest of the signed bytes, the public key
 * and the verdict: a hit needs all three equal, so a valid signature can never vouch for other
 * bytes or another signer. Invalid verdicts are kept too (Ed25519 verification is
 * deterministic), so a bad signature the pool refused is not checked a second time in the step
 * loop. It keeps a digest, not the bytes: signed bytes are usually views into a larger
 * buffer (a frame, a socket read), and keeping the view would keep the whole buffer alive — a
 * full cache of views held ~150 MB per replica under load. The oldest entries go first beyond
 * `entries`.
 */
export function verifyCache(backend: CryptoBackend, entries = VERIFY_CACHE_ENTRIES): CachingCrypto {
  const known = new Map<string, { digest: Uint8Array; publicKey: Uint8Array; valid: boolean }>();
  let hits = 0;
  let misses = 0;
  const keyOf = (signature: Uint8Array) =>
    Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('latin1');
  const remember = (data: Uint8Array, signature: Uint8Array, publicKey: Uint8Array, valid = true) => {
    if (signature.byteLength !== SIGNATURE_BYTES || publicKey.byteLength !== PUBLIC_KEY_BYTES) return;
    const key = keyOf(signature);
    // A newer verdict replaces an older one for the same signature (other bytes, another key).
    if (!known.delete(key) && known.size >= entries) known.delete(known.keys().next().value as string);
    known.set(key, { digest: backend.hash(data), publicKey: new Uint8Array(publicKey), valid });
  };
  const lookup = (data: Uint8Array, signature: Uint8Array, publicKey: Uint8Array) => {
    if (signature.byteLength !== SIGNATURE_BYTES) return undefined;
    const entry = known.get(keyOf(signature));
    if (
      entry === undefined ||
      !bytesEqual(entry.publicKey, publicKey) ||
      !bytesEqual(entry.digest, backend.hash(data))
    )
      return undefined;
    return entry.valid;
  };
  return {
    name: `${backend.name}+cache`,
    hash: backend.hash,
    sign: backend.sign,
    keyPairFromSeed: backend.keyPairFromSeed,
    verify: (data, signature, publicKey) => {
      const verdict = lookup(data, signature, publicKey);
      if (verdict !== undefined) {
        hits++;
        return verdict;
      }
      misses++;
      const valid = backend.verify(data, signature, publicKey);
      remember(data, signature, publicKey, valid);
      return valid;
    },
    remember,
    known: lookup,
    get stats() {
      return { hits, misses, size: known.size };
    },
  };
}
