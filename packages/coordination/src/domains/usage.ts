/**
 * The `list_usage` read: what each agent holds against its quotas, counted by the domains that
 * enforce them (the same counts their quota checks compare), beside the limit in force. Lets an
 * operator see who is near a limit before the refusals start, and an agent see why it got QUOTA.
 */
import { QUOTA_LIMIT_NAMES, type QuotaLimitName } from '../agent-quotas.ts';
import type { ReadOperation } from '../operations.ts';
import type { AgentUsageView, CoordinationResult } from '../results.ts';
import { type DomainContext, pageOf, type QuotaUsage } from './shared.ts';

/** A domain that charges agents against some quotas. */
export interface QuotaHolder {
  usageOf(agent: string): QuotaUsage;
}

/** Every record's usage, one page in id order. */
export function listUsage(
  op: Extract<ReadOperation, { op: 'list_usage' }>,
  agentIds: readonly string[],
  holders: readonly QuotaHolder[],
  context: Pick<DomainContext, 'position' | 'quotaOf'>,
): CoordinationResult {
  const { page, next } = pageOf(
    agentIds.map((id) => [id, id] as const),
    op.after,
    op.limit,
  );
  const usage = page.map(([agent]) => usageView(agent, holders, context.quotaOf));
  return { ok: true, kind: 'usage', at: context.position(), usage, next };
}

function usageView(
  agent: string,
  holders: readonly QuotaHolder[],
  quotaOf: DomainContext['quotaOf'],
): AgentUsageView {
  const counted: QuotaUsage = Object.assign({}, ...holders.map((holder) => holder.usageOf(agent)));
  const used = {} as Record<QuotaLimitName, number>;
  const limits = {} as Record<QuotaLimitName, number>;
  for (const name of QUOTA_LIMIT_NAMES) {
    used[name] = counted[name] ?? 0;
    limits[name] = quotaOf(agent, name);
  }
  return { agent, used, limits };
}
