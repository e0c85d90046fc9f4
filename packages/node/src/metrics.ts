/**
 * Prometheus metrics of one replica. Names follow Prometheus conventions (`_total` for
 * counters, base units: seconds and bytes); the vocabulary is the protocol's.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ReplicaMetrics {
  readonly registry: Registry;
  readonly view: Gauge;
  readonly viewChanges: Counter;
  readonly changingView: Gauge;
  readonly committedSequence: Gauge;
  readonly executedSequence: Gauge;
  readonly stableCheckpoint: Gauge;
  readonly requestsExecuted: Counter;
  readonly batchSize: Histogram;
  readonly queueDepth: Gauge<'queue'>;
  readonly rejected: Counter<'reason'>;
  readonly transportRejected: Counter<'reason'>;
  readonly commitLatency: Histogram;
  readonly durableWrite: Histogram;
  readonly stateTransfers: Counter;
  readonly connections: Gauge;
  readonly signatureChecks: Counter<'where'>;
  readonly redundantVotes: Counter;
  readonly verifyWorkers: Gauge;
  readonly agentRefused: Counter<'agent' | 'reason'>;
  /** Ordered operations the state machine refused, by agent and code (a count, not state). */
  readonly operationsRefused: Counter<'agent' | 'reason'>;
  readonly agentsQueued: Gauge;
  readonly registeredAgents: Gauge;
}

/** Distinct agents named in `conclave_agent_refused_total`; refusals of any further agent count as `agent="other"`. */
export const AGENT_LABELS_MAX = 1_024;

/**
 * Counts refusals by agent and reason, into the metric and for the log. Label sets grow with the
 * agents refused, up to `AGENT_LABELS_MAX` agents; beyond, they share one label.
 */
export class AgentRefusalLog {
  readonly #counts = new Map<string, number>();
  readonly #agents = new Set<string>();

  constructor(readonly counter: Counter<'agent' | 'reason'>) {}

  /** Records one refusal; returns how many this agent has had for this reason. */
  count(agent: string, reason: string): number {
    const label = this.#labelOf(agent);
    this.counter.inc({ agent: label, reason });
    const key = `${reason}\u0000${label}`;
    const count = (this.#counts.get(key) ?? 0) + 1;
    this.#counts.set(key, count);
    return count;
  }

  #labelOf(agent: string): string {
    if (this.#agents.has(agent)) return agent;
    if (this.#agents.size >= AGENT_LABELS_MAX) return 'other';
    this.#agents.add(agent);
    return agent;
  }
}

export function createReplicaMetrics(replica: number): ReplicaMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ replica: String(replica) });
  const r = [registry];
  return {
    registry,
    view: new Gauge({ name: 'conclave_view', help: 'Current view', registers: r }),
    viewChanges: new Counter({
      name: 'conclave_view_changes_total',
      help: 'View changes this replica started or joined',
      registers: r,
    }),
    changingView: new Gauge({
      name: 'conclave_changing_view',
      help: '1 while a view change is in progress',
      registers: r,
    }),
    committedSequence: new Gauge({
      name: 'conclave_committed_sequence',
      help: 'Highest sequence known committed here (runs ahead of executed while batches wait)',
      registers: r,
    }),
    executedSequence: new Gauge({
      name: 'conclave_executed_sequence',
      help: 'Last executed sequence',
      registers: r,
    }),
    stableCheckpoint: new Gauge({
      name: 'conclave_stable_checkpoint',
      help: 'Sequence of the last stable checkpoint',
      registers: r,
    }),
    requestsExecuted: new Counter({
      name: 'conclave_requests_executed_total',
      help: 'Agent requests executed',
      registers: r,
    }),
    batchSize: new Histogram({
      name: 'conclave_batch_size',
      help: 'Requests per executed batch',
      buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128],
      registers: r,
    }),
    queueDepth: new Gauge({
      name: 'conclave_queue_depth',
      help: 'Items waiting, by queue',
      labelNames: ['queue'],
      registers: r,
    }),
    rejected: new Counter({
      name: 'conclave_rejected_total',
      help: 'Protocol inputs rejected, by reason',
      labelNames: ['reason'],
      registers: r,
    }),
    transportRejected: new Counter({
      name: 'conclave_transport_rejected_total',
      help: 'Connections and frames refused by the transport, by reason',
      labelNames: ['reason'],
      registers: r,
    }),
    commitLatency: new Histogram({
      name: 'conclave_commit_latency_seconds',
      help: 'From the first protocol message of a sequence to its execution',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers: r,
    }),
    durableWrite: new Histogram({
      name: 'conclave_durable_write_seconds',
      help: 'Time of one durable store transaction',
      buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
      registers: r,
    }),
    registeredAgents: new Gauge({
      name: 'conclave_registered_agents',
      help: 'Agents in the registry this replica executes (who may connect and send requests)',
      registers: r,
    }),
    stateTransfers: new Counter({
      name: 'conclave_state_transfers_total',
      help: 'State transfers completed',
      registers: r,
    }),
    connections: new Gauge({
      name: 'conclave_connections',
      help: 'Authenticated transport connections',
      registers: r,
    }),
    signatureChecks: new Counter({
      name: 'conclave_signature_checks_total',
      help: 'Signature checks by where they were done: pool (worker threads), inline (the step loop), cache (already checked)',
      labelNames: ['where'],
      registers: r,
    }),
    redundantVotes: new Counter({
      name: 'conclave_redundant_votes_total',
      help: 'Prepares and commits dropped before their signature was checked, as they could not change anything',
      registers: r,
    }),
    verifyWorkers: new Gauge({
      name: 'conclave_verify_workers',
      help: 'Worker threads checking signatures (0: checked in the step loop)',
      registers: r,
    }),
    agentRefused: new Counter({
      name: 'conclave_agent_refused_total',
      help: 'Agent frames refused before decoding, by agent and reason (replica-only type, rate, queue full)',
      labelNames: ['agent', 'reason'],
      registers: r,
    }),
    operationsRefused: new Counter({
      name: 'conclave_operations_refused_total',
      help: 'Ordered operations the state machine refused, by agent and code (QUOTA, FORBIDDEN, READ_ONLY, EQUIVOCATION, …); at most AGENT_LABELS_MAX agents named, the rest as "other"',
      labelNames: ['agent', 'reason'],
      registers: r,
    }),
    agentsQueued: new Gauge({
      name: 'conclave_agents_queued',
      help: 'Agents with frames waiting in the inbox',
      registers: r,
    }),
  };
}
