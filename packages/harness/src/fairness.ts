/**
 * The fairness checker: while lying agents attack shared coordination state, honest agents are
 * still served. It reads a fairness run's record (see `FairnessRecord`) and finds:
 *
 * - slow: an honest request issued after the heal not accepted within `latencyBoundTicks`;
 * - starved: an honest agent's first use of a resource (a kv write, a lock, a proposal, a task,
 *   a claim) refused `LIMIT` or `QUOTA` — it cannot have exhausted anything itself yet, so the
 *   table was filled by someone else;
 * - locked out: an honest agent refused `FORBIDDEN` on a key in its own namespace (one it wrote
 *   before, or, if it never wrote it, one a liar squatted on first);
 * - overwritten: another agent's write to a key in an honest agent's namespace succeeded;
 * - forgotten: the shared event log at the end holds no event of an honest agent's last
 *   successful write (others' events pushed it out).
 *
 * Honest agents in fairness runs write only their own keys (`ownKeyPrefix`), so any foreign
 * write there is an attack, not contention.
 */
import { decodeResult } from '@conclave/coordination';
import type { AgentRecord, FairnessRecord, OperationSummary, RunRecord } from './record.ts';

/** A fairness violation (a `Violation` of checker `fairness`; declared here so checkers.ts can import this file). */
export interface FairnessViolation {
  readonly checker: 'fairness';
  readonly message: string;
  readonly tick: number;
}

/** Violations reported per run at most (like every checker). */
export const FAIRNESS_VIOLATIONS_MAX = 20;

/** Codes that mean "a bound would be exceeded": unfair when the honest agent used nothing yet. */
const EXHAUSTED_CODES: ReadonlySet<string> = new Set(['LIMIT', 'QUOTA']);

/** Operations that write a kv key. */
const KV_WRITES: ReadonlySet<string> = new Set(['kv_put', 'kv_cas', 'kv_delete']);

/** The resource an operation takes a share of, for "first use" (operations not listed take none). */
const RESOURCE_OF: Readonly<Record<string, string>> = {
  kv_put: 'kv',
  kv_cas: 'kv',
  lock_acquire: 'lock',
  propose: 'proposal',
  task_create: 'task',
  task_claim: 'claim',
};

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

function namespaceOwner(key: string | undefined, honest: ReadonlySet<string>): string | undefined {
  if (key === undefined) return undefined;
  const slash = key.indexOf('/');
  if (slash < 0) return undefined;
  const owner = key.slice(0, slash);
  return honest.has(owner) ? owner : undefined;
}

class Findings {
  readonly violations: FairnessViolation[] = [];
  add(message: string, tick: number): void {
    if (this.violations.length < FAIRNESS_VIOLATIONS_MAX)
      this.violations.push({ checker: 'fairness', message, tick });
  }
}

/** Every fairness violation in a run; none for runs that do not judge fairness. */
export function checkFairness(record: RunRecord): FairnessViolation[] {
  const fairness = record.fairness;
  if (fairness === undefined) return [];
  const out = new Findings();
  const honest = record.agents.filter((agent) => agent.honest);
  for (const agent of honest) {
    checkLatency(agent, record, fairness.latencyBoundTicks, out);
    checkRefusals(agent, fairness, out);
  }
  checkOverwrites(record, fairness, new Set(honest.map((agent) => agent.id)), out);
  for (const agent of honest) checkLastEvent(agent, fairness, record.endTick, out);
  return out.violations;
}

/** Requests issued after the heal are accepted within the bound (or the run ended too soon to tell). */
function checkLatency(agent: AgentRecord, record: RunRecord, boundTicks: number, out: Findings): void {
  const acceptedAt = new Map<number, number>();
  for (const accepted of agent.accepted)
    if (!acceptedAt.has(accepted.requestId)) acceptedAt.set(accepted.requestId, accepted.tick);
  for (const issued of agent.issued) {
    if (issued.issuedTick < record.healTick) continue;
    const doneTick = acceptedAt.get(issued.requestId);
    const waitedTicks = (doneTick ?? record.endTick) - issued.issuedTick;
    if (waitedTicks <= boundTicks) continue;
    out.add(
      `agent ${agent.id} request ${issued.requestId} issued at tick ${issued.issuedTick} ${
        doneTick === undefined ? `still waiting at tick ${record.endTick}` : `accepted at tick ${doneTick}`
      }: ${waitedTicks} ticks, bound ${boundTicks}`,
      doneTick ?? record.endTick,
    );
  }
}

/** No LIMIT/QUOTA on a first use of a resource; no FORBIDDEN on its own keys. */
function checkRefusals(agent: AgentRecord, fairness: FairnessRecord, out: Findings): void {
  const used = new Set<string>();
  const wroteKeys = new Set<string>();
  const seen = new Set<number>();
  for (const accepted of agent.accepted) {
    if (seen.has(accepted.requestId)) continue;
    seen.add(accepted.requestId);
    const operation = fairness.operations.get(`${agent.id}#${accepted.requestId}`);
    if (operation === undefined) continue;
    const result = decodeResult(hexBytes(accepted.result));
    const resource = RESOURCE_OF[operation.op];
    const first = resource !== undefined && !used.has(resource);
    if (resource !== undefined) used.add(resource);
    if (result.ok) {
      if (KV_WRITES.has(operation.op) && operation.target !== undefined) wroteKeys.add(operation.target);
      continue;
    }
    const what = `agent ${agent.id} request ${accepted.requestId} (${describe(operation)})`;
    if (first && EXHAUSTED_CODES.has(result.code)) {
      out.add(`${what}: first ${resource} refused ${result.code} (${result.message})`, accepted.tick);
    } else if (result.code === 'FORBIDDEN' && operation.target?.startsWith(`${agent.id}/`) === true) {
      const whose = wroteKeys.has(operation.target)
        ? 'its own key'
        : 'a key in its namespace squatted by another agent';
      out.add(`${what}: refused FORBIDDEN on ${whose} (${result.message})`, accepted.tick);
    }
  }
}

/** No successful write by anyone else to a key in an honest agent's namespace (one honest replica's log). */
function checkOverwrites(
  record: RunRecord,
  fairness: FairnessRecord,
  honest: ReadonlySet<string>,
  out: Findings,
): void {
  // Honest replicas agree on every sequence, so each sequence is read once, from whichever has it.
  const read = new Set<number>();
  for (const replica of record.replicas) {
    if (!replica.honest) continue;
    for (const entry of replica.executed) {
      if (read.has(entry.sequence)) continue;
      read.add(entry.sequence);
      for (const request of entry.requests) {
        const operation = fairness.operations.get(`${request.agent}#${request.requestId}`);
        if (operation === undefined || !KV_WRITES.has(operation.op)) continue;
        const owner = namespaceOwner(operation.target, honest);
        if (owner === undefined || owner === request.agent) continue;
        if (!decodeResult(hexBytes(request.result)).ok) continue;
        out.add(
          `agent ${request.agent} changed ${owner}'s key ${operation.target} (${operation.op}, request ${request.requestId}) at sequence ${entry.sequence}`,
          entry.tick,
        );
      }
    }
  }
}

/** Writes whose event names the writer (kv, lock, task, proposal and ballot events all do). */
const EVENT_WRITES: ReadonlySet<string> = new Set([
  'kv_put',
  'kv_cas',
  'kv_delete',
  'lock_acquire',
  'lock_renew',
  'lock_release',
  'task_create',
  'task_claim',
  'task_complete',
  'task_release',
  'propose',
  'vote',
]);

/** The event of an honest agent's last successful write is still in the log at the end. */
function checkLastEvent(agent: AgentRecord, fairness: FairnessRecord, endTick: number, out: Findings): void {
  const log = fairness.events;
  let last: { requestId: number; sequence: number; operation: OperationSummary } | undefined;
  for (const accepted of agent.accepted) {
    const operation = fairness.operations.get(`${agent.id}#${accepted.requestId}`);
    if (operation === undefined || !EVENT_WRITES.has(operation.op)) continue;
    if (accepted.sequence > log.lastExecuted || !decodeResult(hexBytes(accepted.result)).ok) continue;
    if (last === undefined || accepted.sequence > last.sequence)
      last = { requestId: accepted.requestId, sequence: accepted.sequence, operation };
  }
  if (last === undefined) return;
  const sequence = last.sequence;
  if (log.retained.some((event) => event.sequence === sequence && event.names.includes(agent.id))) return;
  out.add(
    `agent ${agent.id}'s last write (request ${last.requestId}, ${describe(last.operation)}, sequence ${sequence}) left no event in replica ${log.replica}'s log at the end (${log.retained.length} events retained, oldest at sequence ${log.retained[0]?.sequence ?? 'none'})`,
    endTick,
  );
}

function describe(operation: OperationSummary): string {
  return operation.target === undefined ? operation.op : `${operation.op} ${operation.target}`;
}
