/**
 * @conclave/coordination: the deterministic coordination state machine replicas execute for
 * agents (proposals with signed ballots, equivocation evidence, versioned kv, leases, a task
 * board, and a watchable event log), plus the typed operation builders and result decoder
 * agents use to talk to it.
 */
export {
  BALLOT_TAG,
  type Ballot,
  type DecodedBallot,
  decodeBallot,
  encodeBallot,
  type SignedBallot,
  signBallot,
} from './ballot.ts';
export {
  decodeRequestBody,
  type Evidence,
  type EvidenceVerification,
  type LogPosition,
  type SignedObject,
  verifyEvidence,
} from './evidence.ts';
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
  type Operation,
  type OperationError,
  ops,
  type ProposalFilter,
  READ_OPERATIONS,
  type ReadOperation,
  type Rule,
  type ScoreChoice,
  type SimpleChoice,
  type TaskFilter,
  TRIM_PERMILLE_MAX,
  type Voter,
  type WriteOperation,
} from './operations.ts';
export {
  type AgentView,
  type CandidateTally,
  type ChoiceCount,
  type CoordinationEvent,
  type CoordinationResult,
  type CountedBallot,
  decodeResult,
  ERROR_CODES,
  type ErrorCode,
  type ErrorResult,
  type EventBody,
  type EventCursor,
  type ExcludedBallot,
  encodeResult,
  type KvEntry,
  type LockView,
  type Outcome,
  type ProposalStatus,
  type ProposalSummary,
  type ProposalView,
  RESULT_KINDS,
  type Tally,
  type TaskStatus,
  type TaskView,
} from './results.ts';
export {
  type CoordinationOptions,
  CoordinationStateMachine,
  coordinationStateMachine,
} from './state-machine.ts';
export { aggregateMilli } from './tally.ts';
export { validateText } from './validate.ts';
