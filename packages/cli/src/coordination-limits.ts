/**
 * The coordination limits a cluster's replicas enforce, read from `cluster.json` so the MCP
 * server derives its tools' input bounds from the same numbers. The parsing is node's
 * (`resolveCoordinationConfig`), the one the daemon builds its state machine with.
 */
import type { CoordinationLimits } from '@conclave/coordination';
import { resolveCoordinationConfig } from '@conclave/node';

/** `coordination` of a loaded cluster file, resolved and checked as the replicas check it. */
export function coordinationLimitsOf(file: object): CoordinationLimits {
  const { coordination, agents } = file as { coordination?: unknown; agents?: readonly unknown[] };
  return resolveCoordinationConfig(coordination, Array.isArray(agents) ? agents.length : 1);
}
