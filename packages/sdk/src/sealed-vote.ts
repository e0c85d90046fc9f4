/**
 * Sealed ballots from the voter's side. A voter commits to a seal of its ballot before the
 * proposal's commit deadline and reveals the ballot (with the seal's salt) after it; `voteSealed`
 * does both in one call, and picks up where it stopped when called again after a restart.
 *
 * The salt is derived from the agent's key and the proposal (`deriveSealSalt`): a restarted agent
 * recomputes it with nothing stored, as long as it gives the same ballot (choice, reason and
 * confidence) again. Before sending a commit or a reveal, the agent's own record on the proposal
 * is read and compared locally: a ballot that would not reproduce the commitment it made is
 * refused here (`SealMismatchError`), before the replicas see it and record evidence against it.
 */
import {
  type Ballot,
  type Choice,
  decodeCommitment,
  deriveSealSalt,
  encodeBallot,
  encodeCommitment,
  ops,
  type ProposalView,
  sealOf,
} from '@conclave/coordination';
import { bytesEqual, type CryptoBackend } from '@conclave/core';
import type { CallOptions } from './client.ts';
import type { ReadOptions, VoteResult } from './coordination.ts';
import { AbortedError, ConclaveError, RejectedError, SealMismatchError, TimeoutError } from './errors.ts';
import { sleep } from './sleep.ts';

/** The ballot a sealed call seals (the same fields as an open vote's) and, optionally, its salt. */
export interface SealOptions extends CallOptions {
  readonly reason?: string;
  /** 0..1 */
  readonly confidence?: number;
  /**
   * The salt (16..32 bytes). Default: derived from this agent's key and the proposal, so it
   * need not be stored. Give the salt `commit()` returned if the key was rotated since.
   */
  readonly salt?: Uint8Array;
}

/** How a one-call sealed `vote` waits between its commit and its reveal. */
export interface SealedVoteOptions extends SealOptions {
  /** Called once the commitment is ordered, before waiting for the reveal phase. */
  readonly onCommitted?: (commit: CommitResult) => void;
  /**
   * The first wait before looking again whether the commit deadline has passed; default 100 ms.
   * Each wait doubles, up to `pollMaxMs` (default 1 s): a long commit phase costs a few quorum
   * reads per voter, not ten a second, and the reveal goes out at most `pollMaxMs` late.
   */
  readonly pollMs?: number;
  readonly pollMaxMs?: number;
  /** How long to wait for the commit deadline at most; default 10 minutes (then TimeoutError). */
  readonly revealTimeoutMs?: number;
}

/** An ordered vote, commit or reveal: where it was ordered, the proposal's state, the receipt. */
export type OrderedVote = Omit<VoteResult, 'sealed'>;

/** What a commit returns: the ordered commit, and the salt and seal it committed to. */
export interface CommitResult extends OrderedVote {
  /** Keep it if this agent's key may be rotated before it reveals: the derived salt depends on the key. */
  readonly salt: Uint8Array;
  readonly seal: Uint8Array;
}

/** What a sealed vote did: the salt, and the commit, if this call made one. */
export interface SealedSteps {
  readonly salt: Uint8Array;
  /** Null when the proposal was already in its reveal phase (an earlier call committed). */
  readonly commit: CommitResult | null;
}

/** A voter's signed commitment, as the replicas hold it until its reveal. */
export interface CommitmentRecord {
  readonly proposalId: string;
  readonly agent: string;
  readonly seal: Uint8Array;
  readonly commitmentBytes: Uint8Array;
  readonly signature: Uint8Array;
  /** The key its signature was checked against (null once it left the bounded history). */
  readonly publicKey: Uint8Array | null;
  readonly keyFrom: number;
  /** False once the voter is excluded (it equivocated). */
  readonly counted: boolean;
}

/** A voter's signed ballot; on a sealed proposal, with the salt its commitment sealed. */
export interface BallotRecord {
  readonly proposalId: string;
  readonly agent: string;
  readonly ballotBytes: Uint8Array;
  readonly signature: Uint8Array;
  readonly publicKey: Uint8Array | null;
  readonly keyFrom: number;
  readonly counted: boolean;
  readonly salt: Uint8Array | null;
}

/** What the sealed steps need from the coordination facade. */
export interface SealedPorts {
  readonly agent: string;
  readonly crypto: CryptoBackend;
  readonly sign: (bytes: Uint8Array) => Uint8Array;
  /** Sends a vote, commit or reveal operation; its result with the receipt. */
  readonly send: (operation: Uint8Array, options: CallOptions) => Promise<OrderedVote>;
  readonly decision: (proposalId: string, options: ReadOptions) => Promise<ProposalView>;
  readonly commitment: (
    proposalId: string,
    agent: string,
    options: ReadOptions,
  ) => Promise<CommitmentRecord | null>;
  readonly ballot: (proposalId: string, agent: string, options: ReadOptions) => Promise<BallotRecord | null>;
}

/** The ballot's canonical bytes, as an open vote would sign them. */
export function ballotBytesOf(agent: string, proposalId: string, choice: Choice, options: SealOptions) {
  const ballot: Ballot = {
    proposalId,
    agent,
    choice,
    reason: options.reason ?? '',
    confidencePermille: Math.round((options.confidence ?? 1) * 1000),
  };
  return encodeBallot(ballot);
}

/** The seal's salt: the given one, or the one derived from the agent's key. */
function saltOf(ports: SealedPorts, proposalId: string, options: SealOptions): Uint8Array {
  return options.salt ?? deriveSealSalt(proposalId, ports.agent, ports.sign, ports.crypto);
}

/** A read that must see this agent's latest writes: quorum, else ordered (never staler than a write it made). */
async function freshRead<T>(read: (options: ReadOptions) => Promise<T>, options: CallOptions): Promise<T> {
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  try {
    return await read({ ...signal, consistency: 'quorum' });
  } catch (error) {
    if (!(error instanceof ConclaveError) || !['NO_QUORUM', 'TIMEOUT'].includes(error.code)) throw error;
    return read({ ...signal, consistency: 'linearizable' });
  }
}

const mismatch = (proposalId: string, what: string) =>
  new SealMismatchError(
    proposalId,
    `${what} on ${proposalId}: nothing was sent. Give the ballot (choice, reason, confidence) that was committed; if this agent's key was rotated since, give the salt commit() returned`,
  );

/**
 * Commits to the ballot's seal. A commitment already made is compared first: the same seal is
 * sent again (a duplicate, harmless), another is refused here, as it would be equivocation.
 */
export async function commitSealed(
  ports: SealedPorts,
  proposalId: string,
  choice: Choice,
  options: SealOptions = {},
): Promise<CommitResult> {
  const salt = saltOf(ports, proposalId, options);
  const seal = sealOf(
    proposalId,
    ports.agent,
    ballotBytesOf(ports.agent, proposalId, choice, options),
    salt,
    ports.crypto,
  );
  const previous = await freshRead((o) => ports.commitment(proposalId, ports.agent, o), options);
  if (previous !== null && !bytesEqual(previous.seal, seal))
    throw mismatch(
      proposalId,
      `${ports.agent} already committed to another ballot (a second commitment is equivocation)`,
    );
  const commitmentBytes = encodeCommitment({ proposalId, agent: ports.agent, seal });
  const operation = ops.commit({ commitmentBytes, signature: ports.sign(commitmentBytes) });
  return { ...(await ports.send(operation, options)), salt, seal };
}

/**
 * Reveals the ballot. It is first checked against this agent's commitment (or the ballot it
 * already revealed): one that does not match is refused here, with nothing sent.
 */
export async function revealSealed(
  ports: SealedPorts,
  proposalId: string,
  choice: Choice,
  options: SealOptions = {},
): Promise<{ readonly result: OrderedVote; readonly salt: Uint8Array }> {
  const salt = saltOf(ports, proposalId, options);
  const ballotBytes = ballotBytesOf(ports.agent, proposalId, choice, options);
  await checkReveal(ports, proposalId, ballotBytes, salt, options);
  const operation = ops.reveal({ ballotBytes, signature: ports.sign(ballotBytes), salt });
  return { result: await ports.send(operation, options), salt };
}

/** Refuses a reveal that would not reproduce this agent's commitment, or differs from its revealed ballot. */
async function checkReveal(
  ports: SealedPorts,
  proposalId: string,
  ballotBytes: Uint8Array,
  salt: Uint8Array,
  options: CallOptions,
): Promise<void> {
  const commitment = await freshRead((o) => ports.commitment(proposalId, ports.agent, o), options);
  if (commitment !== null) {
    const seal = sealOf(proposalId, ports.agent, ballotBytes, salt, ports.crypto);
    if (!bytesEqual(seal, commitment.seal))
      throw mismatch(proposalId, `this ballot and salt do not reproduce ${ports.agent}'s commitment`);
    return;
  }
  // No commitment held: revealed already (then only the same ballot is a harmless duplicate),
  // or never committed (the replicas answer NO_COMMITMENT).
  const revealed = await freshRead((o) => ports.ballot(proposalId, ports.agent, o), options);
  if (revealed !== null && !bytesEqual(revealed.ballotBytes, ballotBytes))
    throw mismatch(proposalId, `${ports.agent} already revealed another ballot`);
}

/**
 * The whole sealed vote on `proposal` (as just read): in the commit phase, commit, wait for the
 * commit deadline, reveal; in the reveal phase (an earlier call committed), reveal.
 */
export async function voteSealed(
  ports: SealedPorts,
  proposal: ProposalView,
  choice: Choice,
  options: SealedVoteOptions = {},
): Promise<VoteResult> {
  const { proposalId } = proposal;
  let commit: CommitResult | null = null;
  if (proposal.phase === 'commit') {
    commit = await commitSealed(ports, proposalId, choice, options).catch(closedToNull);
    if (commit !== null) {
      options.onCommitted?.(commit);
      await untilRevealPhase(ports, proposalId, options);
    }
  }
  const { result, salt } = await revealSealed(ports, proposalId, choice, options);
  return { ...result, sealed: { salt, commit } };
}

/** COMMIT_CLOSED: the read was older than the commit deadline; go on to reveal what was committed before. */
function closedToNull(error: unknown): null {
  if (error instanceof RejectedError && error.reason === 'COMMIT_CLOSED') return null;
  throw error;
}

/**
 * Waits until 2f+1 replicas agree the proposal is past its commit phase: agreed time has reached
 * the commit deadline (it never goes back), so a reveal sent now is ordered after it.
 */
export async function untilRevealPhase(
  ports: SealedPorts,
  proposalId: string,
  options: SealedVoteOptions,
): Promise<void> {
  const timeoutMs = options.revealTimeoutMs ?? 600_000;
  const giveUp = Date.now() + timeoutMs;
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  let waitMs = options.pollMs ?? 100;
  for (;;) {
    if (options.signal?.aborted)
      throw new AbortedError(`waiting to reveal on ${proposalId}: aborted`, options.signal.reason);
    const view = await ports
      .decision(proposalId, { ...signal, consistency: 'quorum', timeoutMs: 5_000 })
      .catch(retryable);
    if (view !== undefined && view.phase !== 'commit') return;
    if (Date.now() >= giveUp)
      throw new TimeoutError(
        `waiting to reveal on ${proposalId}: the commit deadline did not pass within ${timeoutMs} ms`,
      );
    await sleep(waitMs, options.signal);
    waitMs = Math.min(waitMs * 2, Math.max(waitMs, options.pollMaxMs ?? 1_000));
  }
}

/** A quorum read that may succeed if asked again (replicas mid-write, or slow). */
function retryable(error: unknown): undefined {
  if (error instanceof ConclaveError && (error.code === 'NO_QUORUM' || error.code === 'TIMEOUT'))
    return undefined;
  throw error;
}

/** The commitment record of a `commitment` result. */
export function commitmentRecord(result: Omit<CommitmentRecord, 'seal'>): CommitmentRecord {
  const decoded = decodeCommitment(result.commitmentBytes);
  if (!decoded.ok)
    throw new ConclaveError('INVALID_ARGUMENT', `the replicas returned a bad commitment: ${decoded.message}`);
  const { proposalId, agent, commitmentBytes, signature, publicKey, keyFrom, counted } = result;
  return {
    proposalId,
    agent,
    seal: decoded.commitment.seal,
    commitmentBytes,
    signature,
    publicKey,
    keyFrom,
    counted,
  };
}
