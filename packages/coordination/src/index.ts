/**
 * @conclave/coordination: the deterministic coordination state machine replicas execute for
 * agents (proposals with signed ballots, open or sealed (commit, then reveal), equivocation evidence, versioned kv, leases, a task
 * board, and a watchable event log), plus the typed operation builders and result decoder
 * agents use to talk to it.
 */

export {
  type AgentQuotas,
  checkQuotas,
  QUOTA_LIMIT_NAMES,
  type QuotaLimitName,
} from './agent-quotas.ts';
export {
  BALLOT_TAG,
  type Ballot,
  type DecodedBallot,
  decodeBallot,
  encodeBallot,
  type SignedBallot,
  signBallot,
} from './ballot.ts';
export type { GenesisAgent } from './domains/agents.ts';
export type { CouncilState } from './domains/council.ts';
export {
  decodeRequestBody,
  type Evidence,
  type EvidenceVerification,
  type KnownAgent,
  type LogPosition,
  type SignedObject,
  verifyEvidence,
} from './evidence.ts';
export {
  ACTION_KINDS,
  actions,
  actionTuple,
  type GovernanceAction,
} from './governance.ts';
export { type AgentKeyHistory, covers, type KeyInterval, keyInForce } from './key-history.ts';
export {
  CoordinationConfigError,
  type CoordinationLimits,
  DEFAULT_COORDINATION_LIMITS,
  resolveLimits,
} from './limits.ts';
export { operationBounds } from './operation-bounds.ts';
export {
  type Choice,
  DEFAULT_PAGE_LIMIT,
  type DecodedOperation,
  decodeOperation,
  encodeOperation,
  type MissingReveal,
  type Operation,
  type OperationError,
  ops,
  type ProposalFilter,
  READ_OPERATIONS,
  type ReadOperation,
  type Rule,
  type ScoreChoice,
  type SealedTerms,
  type SimpleChoice,
  type TaskFilter,
  TRIM_PERMILLE_MAX,
  type Voter,
  type WriteOperation,
} from './operations.ts';
export { type AgentJson, actionToJson, agentToJson } from './registry-json.ts';
export {
  type ActionOutcome,
  type AgentUsageView,
  type AgentView,
  type CandidateTally,
  type ChoiceCount,
  type CoordinationEvent,
  type CoordinationResult,
  type CouncilView,
  type CountedBallot,
  decodeResult,
  ERROR_CODES,
  type ErrorCode,
  type ErrorResult,
  type EventBody,
  type EventCursor,
  type ExcludedBallot,
  type ExclusionReason,
  encodeResult,
  type KvEntry,
  type LockView,
  type Outcome,
  type ProposalPhase,
  type ProposalStatus,
  type ProposalSummary,
  type ProposalView,
  RESULT_KINDS,
  type SealedView,
  type Tally,
  type TaskStatus,
  type TaskView,
  type UnrevealedBallot,
} from './results.ts';
export {
  COMMITMENT_TAG,
  type Commitment,
  commitmentBytesMax,
  type DecodedCommitment,
  decodeCommitment,
  deriveSealSalt,
  encodeCommitment,
  revealMatches,
  SALT_BYTES_MAX,
  SALT_BYTES_MIN,
  SALT_TAG,
  SEAL_BYTES,
  SEAL_TAG,
  type SignedCommitment,
  sealOf,
  sealSaltStatement,
  signCommitment,
} from './seal.ts';
export {
  type CoordinationOptions,
  CoordinationStateMachine,
  coordinationStateMachine,
} from './state-machine.ts';
export { aggregateMilli } from './tally.ts';
export { validateText } from './validate.ts';
