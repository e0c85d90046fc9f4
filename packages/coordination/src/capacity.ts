/**
 * How large the coordination state can grow: an upper bound on the snapshot bytes of every
 * registered agent at full quota. `resolveLimits` refuses limits whose bound exceeds a frame,
 * so no agent can be kept from its quota by the snapshot bound (every quota is per agent, and
 * the registry is fixed at genesis).
 *
 * The bound is deliberately generous: each record is charged its largest fields plus
 * `RECORD_OVERHEAD_BYTES` for field names, integers and positions (msgpack maps with short keys).
 */
import { LIMITS } from '@conclave/core';
import type { CoordinationLimits } from './limits.ts';
import { SALT_BYTES_MAX, SEAL_BYTES } from './seal.ts';

/**
 * Field names, integers and log positions of one snapshot record. Measured: a lock and its
 * event add 324 bytes with 64-byte agent ids, three of them, so ≈ 65 per record; 160 leaves room.
 */
export const RECORD_OVERHEAD_BYTES = 160;
/** Ed25519 signature bytes, as stored with each ballot. */
const SIGNATURE_BYTES = 64;
const AGENT_ID_BYTES = LIMITS.agentIdBytesMax;
const PUBLIC_KEY_BYTES = 32;
/** An encoded join statement at most (claim with a 64-byte id, key and signature): what operations may carry. */
export const JOIN_STATEMENT_BYTES_MAX = 512;

/** The snapshot bytes one agent's resources can take, by resource. */
export interface PerAgentBytes {
  readonly kv: number;
  readonly locks: number;
  readonly tasks: number;
  readonly proposals: number;
  readonly events: number;
}

/** The limit to lower when a resource weighs most. */
export const QUOTA_KNOBS: Readonly<Record<keyof PerAgentBytes, string>> = Object.freeze({
  kv: 'kvKeysPerAgentMax or kvBytesPerAgentMax',
  locks: 'locksPerAgentMax or lockNameBytesMax',
  tasks: 'tasksPerAgentMax, taskPayloadBytesMax or taskResultBytesMax',
  proposals: 'openProposalsPerAgentMax, retainedProposalsPerAgentMax, votersMax or ballotBytesMax',
  events: 'eventsPerAgentMax',
});

/**
 * A governance action and its outcome as a proposal keeps them: a join statement (at most
 * `JOIN_STATEMENT_BYTES_MAX`), a council list of `votersMax` ids, or a quota map, plus the message.
 */
function actionBytesMax(l: CoordinationLimits): number {
  return Math.max(JOIN_STATEMENT_BYTES_MAX, l.votersMax * AGENT_ID_BYTES) + 2 * RECORD_OVERHEAD_BYTES + 256;
}

/**
 * One proposal at its largest: every voter listed, and every voter's slot at its largest. The
 * snapshot names a slot's voter by index and keeps a ballot's signed bytes only (proposal-snapshot.ts);
 * a ballot names the key that checked it by its interval's `from`, within the overhead. A sealed
 * ballot also keeps its salt and where it was committed; until revealed, a slot holds a
 * commitment (a seal and a signature), which is dropped on reveal. Excluded voters keep theirs,
 * with the exclusion: still less than a revealed ballot.
 */
export function proposalBytesMax(l: CoordinationLimits): number {
  const header =
    l.proposalIdBytesMax + l.titleBytesMax + l.candidatesMax * l.candidateBytesMax + actionBytesMax(l);
  const voters = l.votersMax * (AGENT_ID_BYTES + 16);
  const ballot = l.ballotBytesMax + SIGNATURE_BYTES + SALT_BYTES_MAX + RECORD_OVERHEAD_BYTES;
  const commitment = SEAL_BYTES + SIGNATURE_BYTES + 2 * RECORD_OVERHEAD_BYTES;
  const slot = Math.max(ballot, commitment);
  return header + voters + l.votersMax * slot + RECORD_OVERHEAD_BYTES;
}

/** One event at its largest: two names (key, lock, task or proposal id) and two agent ids. */
function eventBytesMax(l: CoordinationLimits): number {
  const name = Math.max(l.kvKeyBytesMax, l.lockNameBytesMax, l.taskIdBytesMax, l.proposalIdBytesMax);
  return 2 * name + 2 * AGENT_ID_BYTES + RECORD_OVERHEAD_BYTES;
}

/** What one agent at full quota adds to a snapshot, by resource. */
export function perAgentBytes(l: CoordinationLimits): PerAgentBytes {
  const kvRecord = 2 * AGENT_ID_BYTES + RECORD_OVERHEAD_BYTES; // owner, updatedBy
  const task = l.taskIdBytesMax + l.taskPayloadBytesMax + l.taskResultBytesMax + 4 * AGENT_ID_BYTES;
  return {
    kv: l.kvBytesPerAgentMax + l.kvKeysPerAgentMax * kvRecord,
    locks: l.locksPerAgentMax * (l.lockNameBytesMax + AGENT_ID_BYTES + RECORD_OVERHEAD_BYTES),
    tasks: l.tasksPerAgentMax * (task + RECORD_OVERHEAD_BYTES),
    proposals: (l.openProposalsPerAgentMax + l.retainedProposalsPerAgentMax) * proposalBytesMax(l),
    events: l.eventsPerAgentMax * eventBytesMax(l),
  };
}

/**
 * An upper bound on the snapshot of `agentCount` agents at full quota, with the per-agent
 * breakdown. Evidence is not counted here: it is bounded by `evidenceMax` on its own (see
 * docs/limits.md). The registry is charged per agent record, key history included.
 */
export function snapshotBytesBound(
  l: CoordinationLimits,
  agentCount: number,
): { readonly perAgent: PerAgentBytes; readonly total: number } {
  const perAgent = perAgentBytes(l);
  // An agent record: id, quota overrides, and its key history (a key and an interval each).
  const quotas = 16 * 32;
  const registry =
    AGENT_ID_BYTES +
    quotas +
    RECORD_OVERHEAD_BYTES +
    l.keyHistoryMax * (PUBLIC_KEY_BYTES + RECORD_OVERHEAD_BYTES);
  const one = Object.values(perAgent).reduce((sum, bytes) => sum + bytes, 0) + registry;
  return { perAgent, total: agentCount * one };
}
