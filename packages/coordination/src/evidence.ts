/**
 * Equivocation evidence: two different objects one agent signed where only one is allowed.
 * Each item carries both signed objects, so anyone with the agent's public key can re-check it
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

/** Bytes and the signature over them. */
export type SignedObject = RequestEquivocation['first'];

/** Where in the ordered log something happened. */
export interface LogPosition {
  readonly sequence: number;
  /** Agreed time, in ticks. */
  readonly timestamp: number;
}

/**
 * One proof of equivocation.
 * - `ballot`: two different signed ballots by `agent` for `proposalId` (`first`/`second` are
 *   ballot bytes and their signatures). Found by the state machine when a second ballot arrives
 *   (`source: 'vote'`), or derived from two vote requests the replicas reported (`'replicas'`).
 * - `request`: two different signed request bodies `[1, agent, requestId, operation]` with one
 *   requestId, reported by the replicas (`source: 'replicas'`).
 */
export type Evidence =
  | {
      readonly id: number;
      readonly kind: 'ballot';
      readonly agent: string;
      readonly proposalId: string;
      readonly requestId: null;
      readonly first: SignedObject;
      readonly second: SignedObject;
      readonly source: 'vote' | 'replicas';
      readonly recordedAt: LogPosition;
      /** The agent's keys that `first` and `second` verified against, in that order (they differ across a rotation). */
      readonly keys: readonly Uint8Array[];
    }
  | {
      readonly id: number;
      readonly kind: 'request';
      readonly agent: string;
      readonly proposalId: null;
      readonly requestId: number;
      readonly first: SignedObject;
      readonly second: SignedObject;
      readonly source: 'replicas';
      readonly recordedAt: LogPosition;
      /** The agent's keys that `first` and `second` verified against, in that order. */
      readonly keys: readonly Uint8Array[];
    };

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
 * Checks evidence offline against the agent registry: both objects are signed by one of the
 * accused agent's keys (its identity's, or any in its key history: equivocation across a
 * rotation is still equivocation), they differ, and they claim the same slot (the same proposal
 * and voter for ballots; the same agent and requestId for requests).
 */
export function verifyEvidence(
  evidence: Evidence,
  agents: readonly KnownAgent[],
  crypto: CryptoBackend,
): EvidenceVerification {
  const keys = knownKeys(agents.find((a) => a.id === evidence.agent));
  if (keys.length === 0) return { ok: false, reason: `agent ${evidence.agent} is not registered` };
  if (bytesEqual(evidence.first.bytes, evidence.second.bytes))
    return { ok: false, reason: 'the two signed objects are the same' };
  for (const [name, signed] of [
    ['first', evidence.first],
    ['second', evidence.second],
  ] as const) {
    if (!keys.some((key) => crypto.verify(signed.bytes, signed.signature, key)))
      return { ok: false, reason: `${name} signature does not verify against ${evidence.agent}'s key` };
    if (evidence.kind === 'ballot') {
      const decoded = decodeBallot(signed.bytes);
      if (!decoded.ok) return { ok: false, reason: `${name} is not a ballot: ${decoded.message}` };
      if (decoded.ballot.agent !== evidence.agent || decoded.ballot.proposalId !== evidence.proposalId)
        return { ok: false, reason: `${name} is a ballot of another agent or proposal` };
    } else {
      const request = decodeRequestBody(signed.bytes);
      if (request === undefined) return { ok: false, reason: `${name} is not a request body` };
      if (request.agent !== evidence.agent || request.requestId !== evidence.requestId)
        return { ok: false, reason: `${name} is a request of another agent or requestId` };
    }
  }
  return { ok: true };
}
