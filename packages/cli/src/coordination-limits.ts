/**
 * The coordination limits a cluster's replicas enforce, read from `cluster.json` so the MCP
 * server derives its tools' input bounds from the same numbers. `coordination` (a partial
 * `CoordinationLimits`) is read through this accessor rather than the `ClusterFile` type, which
 * does not declare it on every branch yet; absent means the defaults.
 */
import {
  CoordinationConfigError,
  type CoordinationLimits,
  DEFAULT_COORDINATION_LIMITS,
  resolveLimits,
} from '@conclave/coordination';
import { CliError } from '@conclave/node';

/** `coordination` of a loaded cluster file, resolved and checked as the replicas check it. */
export function coordinationLimitsOf(file: object): CoordinationLimits {
  const overrides = (file as { readonly coordination?: unknown }).coordination;
  if (overrides === undefined) return resolveLimits();
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides))
    throw new CliError('CONFIG_INVALID', 'cluster.json: coordination must be an object of limits');
  // An unknown name is most likely a typo: ignoring it would give tools bounds the replicas do not have.
  const unknown = Object.keys(overrides).filter((name) => !(name in DEFAULT_COORDINATION_LIMITS));
  if (unknown.length > 0)
    throw new CliError('CONFIG_INVALID', `cluster.json: unknown coordination limit ${unknown.join(', ')}`);
  try {
    return resolveLimits(overrides as Partial<CoordinationLimits>);
  } catch (error) {
    if (error instanceof CoordinationConfigError)
      throw new CliError('CONFIG_INVALID', `cluster.json: coordination: ${error.message}`);
    throw error;
  }
}
