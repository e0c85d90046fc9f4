/**
 * `coordination` in `cluster.json`: a partial `CoordinationLimits` over the defaults, the same on
 * every replica. Read here once, for the daemon, the CLI and `conclave mcp`, so a replica and the
 * tools in front of it can never disagree on a bound.
 *
 * Checked when the file is read, for the cluster's registered agents: an unknown name, a value
 * that is not a positive whole number, limits that contradict each other, or per-agent quotas
 * that this many agents at full quota could push past one snapshot frame are refused with
 * `CONFIG_INVALID`, naming the field (or the quotas to lower).
 */
import {
  CoordinationConfigError,
  type CoordinationLimits,
  DEFAULT_COORDINATION_LIMITS,
  resolveLimits,
} from '@conclave/coordination';
import { CliError } from './errors.ts';

/** What to do when the agents do not fit: the operator's lever, named in every such error. */
export const LOWER_QUOTAS_HINT =
  'lower per-agent quotas in the "coordination" object of cluster.json (see docs/limits.md)';

/**
 * The coordination limits `overrides` (the `coordination` value of a cluster file, unchecked)
 * give `agentCount` registered agents. `where` prefixes every message (the file's path);
 * `lowerHint` ends a refusal for too many agents (how to lower the quotas where the caller is).
 */
export function resolveCoordinationConfig(
  overrides: unknown,
  agentCount: number,
  where = 'cluster.json',
  lowerHint = LOWER_QUOTAS_HINT,
): CoordinationLimits {
  if (overrides === undefined) return checked({}, agentCount, where, lowerHint);
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides))
    throw new CliError('CONFIG_INVALID', `${where}: "coordination" must be an object of limits`);
  // An unknown name is most likely a typo: ignoring it would run with a bound nobody chose.
  const unknown = Object.keys(overrides).filter((name) => !(name in DEFAULT_COORDINATION_LIMITS));
  if (unknown.length > 0)
    throw new CliError(
      'CONFIG_INVALID',
      `${where}: unknown coordination limit ${unknown.join(', ')} (known: see DEFAULT_COORDINATION_LIMITS)`,
    );
  return checked(overrides as Partial<CoordinationLimits>, agentCount, where, lowerHint);
}

/**
 * `resolveLimits`, its refusals turned into errors a person can act on: first for one agent (a
 * bad field), then for the registry (what is left can only be the snapshot fit).
 */
function checked(
  overrides: Partial<CoordinationLimits>,
  agentCount: number,
  where: string,
  lowerHint: string,
): CoordinationLimits {
  const resolve = (agents: number, hint: string): CoordinationLimits => {
    try {
      return resolveLimits(overrides, agents);
    } catch (error) {
      if (!(error instanceof CoordinationConfigError)) throw error;
      throw new CliError('CONFIG_INVALID', `${where}: coordination: ${error.message}${hint}`);
    }
  };
  resolve(1, '');
  return resolve(Math.max(1, agentCount), `; ${lowerHint}`);
}
