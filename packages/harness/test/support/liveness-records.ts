/**
 * Hand-built run records for the liveness tests (`livenessOf`, the liveness bounds): only what
 * those read is meaningful — executions, views, outages, and agents' issued and accepted ticks.
 */
import type {
  AgentRecord,
  ExecutedRecord,
  PauseRecord,
  ReplicaRecord,
  RestartRecord,
  ViewRecord,
} from '../../src/record.ts';

/** A batch executed at `tick` (its sequence too) holding `requests` requests. */
function executedAt(tick: number, requests = 1): ExecutedRecord {
  return {
    tick,
    sequence: tick,
    view: 0,
    digest: `d${tick}`,
    timestamp: tick,
    via: 'protocol',
    requests: Array.from({ length: requests }, (_, i) => ({ agent: 'a', requestId: i, result: 'ok' })),
  };
}

/** An honest replica (unless told) that executed one request at each of `executed`, in view 0 unless `views`. */
export function replicaRecord(
  id: number,
  fields: {
    executed?: number[];
    views?: ViewRecord[];
    restarts?: RestartRecord[];
    pauses?: PauseRecord[];
    pausedSince?: number;
    honest?: boolean;
  } = {},
): ReplicaRecord {
  return {
    id,
    honest: fields.honest ?? true,
    executed: (fields.executed ?? []).map((tick) => executedAt(tick)),
    views: fields.views ?? [{ tick: 0, view: 0, changingView: false }],
    ...(fields.restarts === undefined ? {} : { restarts: fields.restarts }),
    ...(fields.pauses === undefined ? {} : { pauses: fields.pauses }),
    ...(fields.pausedSince === undefined ? {} : { pausedSince: fields.pausedSince }),
  };
}

/** An honest agent whose requests were issued and accepted at these ticks (accepted undefined: never). */
export function agentRecord(requests: [issued: number, accepted: number | undefined][]): AgentRecord {
  return {
    id: 'a',
    honest: true,
    requestsPlanned: requests.length,
    issued: requests.map(([issuedTick], i) => ({ requestId: i + 1, digest: `r${i}`, issuedTick })),
    accepted: requests.flatMap(([, tick], i) =>
      tick === undefined ? [] : [{ requestId: i + 1, sequence: i + 1, result: 'ok', tick }],
    ),
  };
}
