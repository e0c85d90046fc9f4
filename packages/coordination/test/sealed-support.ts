/** Helpers for sealed-ballot tests: signed commitments and reveals built as an honest (or dishonest) agent would. */
import {
  type Ballot,
  deriveSealSalt,
  type MissingReveal,
  ops,
  type Rule,
  sealOf,
  signBallot,
  signCommitment,
} from '../src/index.ts';
import { crypto, type Driver, keyPairOf } from './support.ts';

/** A voter's sealed ballot: the commit and reveal operations, and what went into them. */
export interface Sealed {
  readonly ballotBytes: Uint8Array;
  readonly salt: Uint8Array;
  readonly seal: Uint8Array;
  readonly commit: Uint8Array;
  readonly reveal: Uint8Array;
}

/**
 * Seals `agent`'s ballot on `proposalId` with the salt the SDK derives. `signer` signs the
 * commitment and ballot (default: the agent); `commitSeal` commits to another seal (a copy).
 */
export function seal(
  proposalId: string,
  agent: string,
  choice: Ballot['choice'],
  options: { reason?: string; salt?: Uint8Array; signer?: string; commitSeal?: Uint8Array } = {},
): Sealed {
  const signer = keyPairOf(options.signer ?? agent).secretKey;
  const ballot: Ballot = { proposalId, agent, choice, reason: options.reason ?? '', confidencePermille: 700 };
  const signedBallot = signBallot(ballot, signer, crypto);
  const own = keyPairOf(agent).secretKey;
  const salt = options.salt ?? deriveSealSalt(proposalId, agent, (m) => crypto.sign(m, own), crypto);
  const sealed = options.commitSeal ?? sealOf(proposalId, agent, signedBallot.ballotBytes, salt, crypto);
  const commitment = signCommitment({ proposalId, agent, seal: sealed }, signer, crypto);
  return {
    ballotBytes: signedBallot.ballotBytes,
    salt,
    seal: sealed,
    commit: ops.commit(commitment),
    reveal: ops.reveal({ ...signedBallot, salt }),
  };
}

/** Opens a sealed proposal from alice: commits until `commitDeadline`, reveals until `deadline`. */
export function proposeSealed(
  d: Driver,
  fields: {
    id?: string;
    rule?: Rule;
    voters?: readonly string[];
    candidates?: readonly string[];
    commitDeadline?: number;
    deadline?: number;
    missingReveal?: MissingReveal;
  } = {},
): void {
  d.ok(
    'proposal',
    'alice',
    ops.propose({
      proposalId: fields.id ?? 'p',
      title: 'sealed',
      rule: fields.rule ?? { kind: 'threshold', k: 2 },
      voters: (fields.voters ?? ['alice', 'bob', 'carol']).map((agent) => ({ agent, weight: 1 })),
      deadline: fields.deadline ?? 20,
      candidates: fields.candidates ?? [],
      sealed: {
        commitDeadline: fields.commitDeadline ?? 10,
        missingReveal: fields.missingReveal ?? 'abstain',
      },
    }),
  );
}

/** Whether `needle` occurs in `haystack` as a contiguous byte run. */
export function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).indexOf(Buffer.from(needle)) !== -1;
}
