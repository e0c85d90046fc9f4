/**
 * Per-agent quota overrides: a registered agent may be granted a lower (never higher) value of
 * any per-agent limit than the global one, so the snapshot bound `resolveLimits` checks for
 * `agentsMax` agents at full global quota still holds whatever the registry says.
 */
import type { CoordinationLimits } from './limits.ts';

/** The limits an agent's quotas may lower. */
export const QUOTA_LIMIT_NAMES = [
  'claimsPerAgentMax',
  'eventsPerAgentMax',
  'eventsPerWindowPerAgentMax',
  'kvBytesPerAgentMax',
  'kvKeysPerAgentMax',
  'locksPerAgentMax',
  'openProposalsPerAgentMax',
  'retainedProposalsPerAgentMax',
  'tasksPerAgentMax',
] as const satisfies readonly (keyof CoordinationLimits)[];

export type QuotaLimitName = (typeof QUOTA_LIMIT_NAMES)[number];

/** An agent's overrides: each at least 1 and at most the global limit of the same name. */
export type AgentQuotas = { readonly [K in QuotaLimitName]?: number };

const NAMES: ReadonlySet<string> = new Set(QUOTA_LIMIT_NAMES);

export function isQuotaLimitName(name: string): name is QuotaLimitName {
  return NAMES.has(name);
}

/** Why `quotas` cannot be granted under `limits` (unknown name, below 1, above the global limit), or undefined. */
export function checkQuotas(quotas: AgentQuotas, limits: CoordinationLimits): string | undefined {
  for (const [name, value] of Object.entries(quotas)) {
    if (!isQuotaLimitName(name)) return `unknown quota ${name}`;
    if (!Number.isSafeInteger(value) || (value as number) < 1)
      return `quota ${name} must be a positive integer`;
    if ((value as number) > limits[name])
      return `quota ${name} (${value}) may not exceed the global ${name} (${limits[name]})`;
  }
  return undefined;
}

/** The limit of `name` in force for an agent with `quotas`: its override, else the global one. */
export function quotaIn(
  quotas: AgentQuotas | undefined,
  limits: CoordinationLimits,
  name: QuotaLimitName,
): number {
  return quotas?.[name] ?? limits[name];
}
