/**
 * @conclave/sdk: what an agent embeds to take part in decisions with agents it does not trust.
 */

export {
  type Ballot,
  type Choice,
  type CoordinationEvent,
  type CoordinationResult,
  decodeResult,
  deriveSealSalt,
  type Evidence,
  encodeBallot,
  type KvEntry,
  type LockView,
  type MissingReveal,
  type Outcome,
  ops,
  type ProposalPhase,
  type ProposalSummary,
  type ProposalView,
  type Rule,
  type SignedBallot,
  signBallot,
  type TaskView,
  type Voter,
  verifyEvidence,
} from '@conclave/coordination';
export { type Receipt, verifyReceipt } from '@conclave/core';
export {
  type AgentIdentity,
  type AnswerKey,
  type CallOptions,
  ConclaveClient,
  type ConnectOptions,
  connect,
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_RETRY,
  type QueryOptions,
  type QueryResult,
  type ReadConsistency,
  type RequestResult,
  type RetryPolicy,
} from './client.ts';
export {
  Coordination,
  coordination,
  type ProposeActionOptions,
  type ProposeOptions,
  type ReadOptions,
  type SealedOptions,
  samePosition,
  type VoteOptions,
  type VoteResult,
  type WaitOptions,
  type WatchOptions,
} from './coordination.ts';
export {
  AbortedError,
  ClosedError,
  ConclaveError,
  type ConclaveErrorCode,
  ForbiddenError,
  InvalidReceiptError,
  InvalidSignatureError,
  MembershipError,
  NoQuorumError,
  QuotaError,
  RejectedError,
  refusalError,
  SealMismatchError,
  TimeoutError,
} from './errors.ts';
export {
  type InProcessCluster,
  type InProcessClusterOptions,
  type ReplicaTransportDecorator,
  startInProcessCluster,
} from './in-process.ts';
export type {
  BallotRecord,
  CommitmentRecord,
  CommitResult,
  SealedSteps,
  SealedVoteOptions,
  SealOptions,
} from './sealed-vote.ts';
