/**
 * Evidence: proofs that an agent misbehaved — two different objects it signed where only one is
 * allowed, a sealed ballot revealed against its own commitment, or a commitment never revealed.
 * Each item carries the signed objects, so anyone with the agent's public key can re-check it
 * offline with `verifyEvidence`, without trusting the replicas that recorded it.
 */
import {
  type AgentIdentity,
  bytesEqual,
  type CryptoBackend,
  decodeRequestBody as decodeCoreRequestBody,
  type RequestEquivocation,
} from '@conclave/core';
import { decodeBallot } from './ballot.ts';
import type { AgentKeyHistory } from './key-history.ts';
import { decodeCommitment, revealMatches } from './seal.ts';

/** Bytes and the signature over them. */
export type SignedObject = RequestEquivocation['first'];

/** Where in the ordered log something happened. */
export interface LogPosition {
  readonly sequence: number;
  /** Agreed time, in ticks. */
  readonly timestamp: number;
}

/** What every evidence item carries: who, where in the log it was recorded, and the keys that checked it. */
interface EvidenceBase {
  readonly id: number;
  readonly agent: string;
  readonly recordedAt: LogPosition;
  /** The agent's keys that the signed objects verified against, in their order (they differ across a rotation). */
  readonly keys: readonly Uint8Array[];
}

/**
 * One proof of misbehaviour, re-checkable offline with `verifyEvidence`.
 * - `ballot`: two different signed ballots by `agent` for `proposalId` (`first`/`second` are
 *   ballot bytes and their signatures). Found by the state machine when a second ballot arrives
 *   (`source: 'vote'`), or derived from two vote requests the replicas reported (`'replicas'`).
 * - `request`: two different signed request bodies `[1, agent, requestId, operation]` with one
 *   requestId, reported by the replicas (`source: 'replicas'`).
 * - `commitment`: two different signed commitments by `agent` on a sealed proposal.
 * - `reveal_mismatch`: `agent`'s signed commitment (`first`) and a signed ballot (`second`) it
 *   revealed with `salt`, which the commitment does not seal.
 * - `no_reveal`: `agent`'s signed commitment (`first`), never revealed by `revealDeadline`. That
 *   the reveal is missing is what the replicas attest by recording it (a receipt over this item,
 *   or over the decided proposal listing the voter as unrevealed, proves it); the commitment
 *   proves the agent had committed.
 */
export type Evidence =
  | (EvidenceBase & {
      readonly kind: 'ballot';
      readonly proposalId: string;
      readonly requestId: null;
      readonly first: SignedObject;
      readonly second: SignedObject;
      readonly source: 'vote' | 'replicas';
    })
  | (EvidenceBase & {
      readonly kind: 'request';
      readonly proposalId: null;
      readonly requestId: number;
      readonly first: SignedObject;
      readonly second: SignedObject;
      readonly source: 'replicas';
    })
  | (EvidenceBase & {
      readonly kind: 'commitment';
      readonly proposalId: string;
      readonly requestId: null;
      readonly first: SignedObject;
      readonly second: SignedObject;
      readonly source: 'commit';
    })
  | (EvidenceBase & {
      readonly kind: 'reveal_mismatch';
      readonly proposalId: string;
      readonly requestId: null;
      /** The commitment. */
      readonly first: SignedObject;
      /** The ballot revealed. */
      readonly second: SignedObject;
      readonly salt: Uint8Array;
      readonly source: 'reveal';
    })
  | (EvidenceBase & {
      readonly kind: 'no_reveal';
      readonly proposalId: string;
      readonly requestId: null;
      /** The commitment. */
      readonly first: SignedObject;
      readonly second: null;
      readonly revealDeadline: number;
      readonly source: 'deadline';
    });

/** The outcome of checking evidence offline. */
export type EvidenceVerification = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Decodes a signed request body `[1, agent, requestId, operation, publicKey]`; undefined if it
 * is not one. The same as core's `decodeRequestBody`, re-exported here for evidence readers.
 */
export function decodeRequestBody(bytes: Uint8Array):
  | {
      readonly agent: string;
      readonly requestId: number;
      readonly operation: Uint8Array;
      readonly publicKey: Uint8Array;
    }
  | undefined {
  return decodeCoreRequestBody(bytes);
}

/** An agent's keys as a verifier knows them: one identity, or a key history (`list_agents` entries). */
export type KnownAgent = AgentIdentity | AgentKeyHistory;

function knownKeys(agent: KnownAgent | undefined): readonly Uint8Array[] {
  if (agent === undefined) return [];
  return 'keys' in agent ? agent.keys.map((k) => k.publicKey) : [agent.publicKey];
}

/**
 * Checks evidence offline against the agent registry: every signed object is signed by one of
 * the accused agent's keys (its identity's, or any in its key history: equivocation across a
 * rotation is still equivocation), and the objects prove what the kind says — two different
 * objects for the same slot (the same proposal and voter for ballots and commitments; the same
 * agent and requestId for requests), a reveal its commitment does not seal, or a commitment
 * (for `no_reveal`; the missing reveal is the replicas' attestation, see `Evidence`).
 */
export function verifyEvidence(
  evidence: Evidence,
  agents: readonly KnownAgent[],
  crypto: CryptoBackend,
): EvidenceVerification {
  const keys = knownKeys(agents.find((a) => a.id === evidence.agent));
  if (keys.length === 0) return { ok: false, reason: `agent ${evidence.agent} is not registered` };
  const signed = evidence.second === null ? [evidence.first] : [evidence.first, evidence.second];
  for (const [i, object] of signed.entries()) {
    const name = i === 0 ? 'first' : 'second';
    if (!keys.some((key) => crypto.verify(object.bytes, object.signature, key)))
      return { ok: false, reason: `${name} signature does not verify against ${evidence.agent}'s key` };
    const slot = slotProblem(evidence, i, object.bytes);
    if (slot !== undefined) return { ok: false, reason: `${name} ${slot}` };
  }
  if (evidence.kind === 'reveal_mismatch') {
    const commitment = decodeCommitment(evidence.first.bytes);
    if (commitment.ok && revealMatches(commitment.commitment, evidence.second.bytes, evidence.salt, crypto))
      return { ok: false, reason: 'the ballot and salt do reproduce the commitment: no mismatch' };
  } else if (evidence.kind !== 'no_reveal' && bytesEqual(evidence.first.bytes, evidence.second.bytes)) {
    return { ok: false, reason: 'the two signed objects are the same' };
  }
  return { ok: true };
}

/** What the `index`-th signed object of `evidence` should be: a ballot, a commitment or a request body. */
function expectedObject(evidence: Evidence, index: number): 'ballot' | 'commitment' | 'request' {
  switch (evidence.kind) {
    case 'ballot':
      return 'ballot';
    case 'request':
      return 'request';
    case 'commitment':
    case 'no_reveal':
      return 'commitment';
    case 'reveal_mismatch':
      return index === 0 ? 'commitment' : 'ballot';
  }
}

/** Why `bytes` is not the object the evidence needs at `index`, for its agent and slot; undefined if it is. */
function slotProblem(evidence: Evidence, index: number, bytes: Uint8Array): string | undefined {
  switch (expectedObject(evidence, index)) {
    case 'ballot': {
      const decoded = decodeBallot(bytes);
      if (!decoded.ok) return `is not a ballot: ${decoded.message}`;
      const { agent, proposalId } = decoded.ballot;
      return agent === evidence.agent && proposalId === evidence.proposalId
        ? undefined
        : 'is a ballot of another agent or proposal';
    }
    case 'commitment': {
      const decoded = decodeCommitment(bytes);
      if (!decoded.ok) return `is not a commitment: ${decoded.message}`;
      const { agent, proposalId } = decoded.commitment;
      return agent === evidence.agent && proposalId === evidence.proposalId
        ? undefined
        : 'is a commitment of another agent or proposal';
    }
    case 'request': {
      const request = decodeRequestBody(bytes);
      if (request === undefined) return 'is not a request body';
      return request.agent === evidence.agent && request.requestId === evidence.requestId
        ? undefined
        : 'is a request of another agent or requestId';
    }
  }
}
