/**
 * Sealed ballots: a voter first commits to a hash of its ballot, and reveals the ballot after the
 * commit deadline, so that no voter can see another's choice before making its own.
 *
 * - The *seal* is `hash(encodeCanonical(['conclave/seal/v1', proposalId, agent, ballotBytes, salt]))`
 *   (`crypto.hash`: the first 32 bytes of SHA-512). It binds the proposal, the voter's id and the
 *   exact ballot bytes; the salt (16..32 bytes, at least 128 bits of secret) keeps a ballot drawn
 *   from a small set (approve/reject/abstain) from being found by hashing every candidate.
 * - The *commitment* is its own signed object, transferable like a ballot:
 *   `encodeCanonical(['conclave/commitment/v1', proposalId, agent, seal])`, signed by the voter.
 * - The *reveal* carries the signed ballot and the salt; replicas recompute the seal and compare.
 *
 * The SDK derives the salt from the agent's secret key and the proposal (`deriveSealSalt`), so an
 * agent that restarts between commit and reveal recomputes it without having stored anything.
 */
import { bytesEqual, type CryptoBackend, decodeCanonical, encodeCanonical } from '@conclave/core';
import type { CoordinationLimits } from './limits.ts';
import { AGENT_ID_BYTES_MAX, arity, binary, Invalid, list, text } from './validate.ts';

/** The domain tag of a commitment, so its signature can never be taken for another message's. */
export const COMMITMENT_TAG = 'conclave/commitment/v1';
/** The domain tag hashed into every seal. */
export const SEAL_TAG = 'conclave/seal/v1';
/** The domain tag of the statement whose signature the SDK hashes into a salt. */
export const SALT_TAG = 'conclave/seal-salt/v1';
/** Bytes of a seal (a digest). */
export const SEAL_BYTES = 32;
/** A salt has at least 128 bits. */
export const SALT_BYTES_MIN = 16;
/** And at most 256 bits: more buys nothing and costs state. */
export const SALT_BYTES_MAX = 32;

/** A commitment's content. */
export interface Commitment {
  readonly proposalId: string;
  /** The voter; must also be the agent that signs the commitment and the request carrying it. */
  readonly agent: string;
  /** `sealOf(...)` of the ballot the voter will reveal. */
  readonly seal: Uint8Array;
}

/** A commitment's bytes and the voter's signature over them. */
export interface SignedCommitment {
  readonly commitmentBytes: Uint8Array;
  readonly signature: Uint8Array;
}

/** The seal of a ballot: what a commitment carries and a reveal must reproduce. */
export function sealOf(
  proposalId: string,
  agent: string,
  ballotBytes: Uint8Array,
  salt: Uint8Array,
  crypto: CryptoBackend,
): Uint8Array {
  return crypto.hash(encodeCanonical([SEAL_TAG, proposalId, agent, ballotBytes, salt]));
}

/** Whether `ballotBytes` with `salt` is what `commitment` sealed. */
export function revealMatches(
  commitment: Commitment,
  ballotBytes: Uint8Array,
  salt: Uint8Array,
  crypto: CryptoBackend,
): boolean {
  const seal = sealOf(commitment.proposalId, commitment.agent, ballotBytes, salt, crypto);
  return bytesEqual(seal, commitment.seal);
}

/** The canonical bytes of a commitment: what the voter signs. */
export function encodeCommitment(commitment: Commitment): Uint8Array {
  return encodeCanonical([COMMITMENT_TAG, commitment.proposalId, commitment.agent, commitment.seal]);
}

/** Encodes and signs a commitment with the voter's secret key; pass the result to `ops.commit`. */
export function signCommitment(
  commitment: Commitment,
  secretKey: Uint8Array,
  crypto: CryptoBackend,
): SignedCommitment {
  const commitmentBytes = encodeCommitment(commitment);
  return { commitmentBytes, signature: crypto.sign(commitmentBytes, secretKey) };
}

/** The statement whose signature `deriveSealSalt` hashes: `['conclave/seal-salt/v1', proposalId, agent]`. */
export function sealSaltStatement(proposalId: string, agent: string): Uint8Array {
  return encodeCanonical([SALT_TAG, proposalId, agent]);
}

/**
 * The salt an agent uses on a proposal: the hash of its signature over `sealSaltStatement`.
 * Ed25519 signatures are deterministic, so the same key gives the same salt after a restart,
 * with nothing stored; no one without the secret key can compute it (that would be forging a
 * signature). The statement is never sent, so the signature never leaves the agent. `sign` is
 * the agent's signer (its secret key, or an SDK client's `sign`). A key rotated between commit
 * and reveal gives another salt: reveal with the salt kept from the commit (the SDK's `commit()`
 * returns it). Committing again under the new key would be a second, different commitment:
 * equivocation.
 */
export function deriveSealSalt(
  proposalId: string,
  agent: string,
  sign: (message: Uint8Array) => Uint8Array,
  crypto: Pick<CryptoBackend, 'hash'>,
): Uint8Array {
  return crypto.hash(sign(sealSaltStatement(proposalId, agent)));
}

/** A decoded commitment, or why the bytes are not one. */
export type DecodedCommitment =
  | { readonly ok: true; readonly commitment: Commitment }
  | { readonly ok: false; readonly message: string };

/**
 * Decodes and validates commitment bytes. With `limits`, the proposal id is checked against them
 * (the replica side); without, only the structure is (offline evidence checking). Never throws.
 */
export function decodeCommitment(bytes: Uint8Array, limits?: CoordinationLimits): DecodedCommitment {
  const decoded = decodeCanonical(bytes);
  if (!decoded.ok) return { ok: false, message: `commitment is not canonical msgpack (${decoded.reason})` };
  try {
    const tuple = list(decoded.value, 'commitment', 4, 4);
    arity(tuple, 4, 'commitment');
    if (tuple[0] !== COMMITMENT_TAG) throw new Invalid(`commitment must start with ${COMMITMENT_TAG}`);
    const proposalId = text(tuple[1], 'proposalId', limits?.proposalIdBytesMax ?? Number.MAX_SAFE_INTEGER);
    const agent = text(tuple[2], 'agent', AGENT_ID_BYTES_MAX);
    const seal = binary(tuple[3], 'seal', SEAL_BYTES);
    if (seal.byteLength !== SEAL_BYTES) throw new Invalid(`seal must be ${SEAL_BYTES} bytes`);
    return { ok: true, commitment: { proposalId, agent, seal } };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, message: error.message };
    throw error;
  }
}

/** The most bytes a valid commitment encodes to under `limits` (tag, id, agent, seal and headers). */
export function commitmentBytesMax(limits: CoordinationLimits): number {
  return COMMITMENT_TAG.length + limits.proposalIdBytesMax + AGENT_ID_BYTES_MAX + SEAL_BYTES + 16;
}
