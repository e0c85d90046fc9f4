/**
 * Ballots: a vote as its own signed object, so that it is transferable evidence.
 *
 * `ballotBytes = encodeCanonical(['conclave/ballot/v1', proposalId, agent, choice, reason,
 * confidencePermille])`, signed with the agent's Ed25519 key. The vote operation carries the
 * bytes and the signature; anyone holding the agent's public key can check them offline.
 */
import { type CryptoBackend, decodeCanonical, encodeCanonical } from '@conclave/core';
import type { CoordinationLimits } from './limits.ts';
import type { Choice, ScoreChoice } from './operations.ts';
import { AGENT_ID_BYTES_MAX, arity, Invalid, integer, list, text } from './validate.ts';

/** The domain tag that starts every ballot, so a ballot signature can never be mistaken for another message's. */
export const BALLOT_TAG = 'conclave/ballot/v1';

/** A ballot's content. */
export interface Ballot {
  readonly proposalId: string;
  /** The voter; must also be the agent that signs the ballot and the request carrying it. */
  readonly agent: string;
  readonly choice: Choice;
  /** Free text, for people reading the record; not used in the tally. */
  readonly reason: string;
  /** The voter's stated confidence, 0..1000; recorded, not used in the tally. */
  readonly confidencePermille: number;
}

/** A ballot's bytes and the voter's signature over them. */
export interface SignedBallot {
  readonly ballotBytes: Uint8Array;
  readonly signature: Uint8Array;
}

/** The canonical bytes of a ballot: what the voter signs. */
export function encodeBallot(ballot: Ballot): Uint8Array {
  const choice = typeof ballot.choice === 'string' ? ballot.choice : ballot.choice.map(([c, s]) => [c, s]);
  return encodeCanonical([
    BALLOT_TAG,
    ballot.proposalId,
    ballot.agent,
    choice,
    ballot.reason,
    ballot.confidencePermille,
  ]);
}

/** Encodes and signs a ballot with the voter's secret key; pass the result to `ops.vote`. */
export function signBallot(ballot: Ballot, secretKey: Uint8Array, crypto: CryptoBackend): SignedBallot {
  const ballotBytes = encodeBallot(ballot);
  return { ballotBytes, signature: crypto.sign(ballotBytes, secretKey) };
}

/** A decoded ballot, or why the bytes are not one. */
export type DecodedBallot =
  | { readonly ok: true; readonly ballot: Ballot }
  | { readonly ok: false; readonly message: string };

/**
 * Decodes and validates ballot bytes. With `limits`, sizes and ranges are checked against them
 * (the replica side); without, only the structure is (offline evidence checking). Never throws.
 */
export function decodeBallot(bytes: Uint8Array, limits?: CoordinationLimits): DecodedBallot {
  const decoded = decodeCanonical(bytes);
  if (!decoded.ok) return { ok: false, message: `ballot is not canonical msgpack (${decoded.reason})` };
  const unbounded = Number.MAX_SAFE_INTEGER;
  try {
    const tuple = list(decoded.value, 'ballot', 6, 6);
    arity(tuple, 6, 'ballot');
    if (tuple[0] !== BALLOT_TAG) throw new Invalid(`ballot must start with ${BALLOT_TAG}`);
    const proposalId = text(tuple[1], 'proposalId', limits?.proposalIdBytesMax ?? unbounded);
    const agent = text(tuple[2], 'agent', AGENT_ID_BYTES_MAX);
    const reason = text(tuple[4], 'reason', limits?.reasonBytesMax ?? unbounded, 0);
    const confidencePermille = integer(tuple[5], 'confidencePermille', 0, 1000);
    let choice: Choice;
    if (tuple[3] === 'approve' || tuple[3] === 'reject' || tuple[3] === 'abstain') {
      choice = tuple[3];
    } else {
      const pairs = list(tuple[3], 'choice', 1, limits?.candidatesMax ?? unbounded);
      const seen = new Set<string>();
      const scores: [string, number][] = pairs.map((item, i) => {
        const pair = list(item, `choice[${i}]`, 2, 2);
        const candidate = text(pair[0], `choice[${i}].candidate`, limits?.candidateBytesMax ?? unbounded);
        if (seen.has(candidate)) throw new Invalid(`choice scores candidate ${candidate} twice`);
        seen.add(candidate);
        return [candidate, integer(pair[1], `choice[${i}].score`, 0, limits?.scoreMax ?? unbounded)];
      });
      choice = scores satisfies ScoreChoice;
    }
    return { ok: true, ballot: { proposalId, agent, choice, reason, confidencePermille } };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, message: error.message };
    throw error;
  }
}
