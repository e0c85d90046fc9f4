/** `get_quota_usage`: what this agent holds against each of its quotas, so a model can see a QUOTA refusal coming. */
import { defineTool, READS } from './tool.ts';

export const getQuotaUsage = defineTool({
  name: 'get_quota_usage',
  title: "Read this agent's quota usage",
  description:
    'Returns, for this agent, each per-agent quota (kv keys and bytes, locks, tasks, claims, open and kept proposals, events) as {used, limit}, and which are full. A write that would go past a full quota is REJECTED (QUOTA): free some first (delete keys, release locks, complete tasks) or wait for decided proposals and done tasks to be pruned.',
  annotations: READS,
  input: (fields) => ({ consistency: fields.consistency }),
  run: async (args, context, extra) => {
    const usage = await context.coordination.usage({ consistency: args.consistency, signal: extra.signal });
    const mine = usage.find((u) => u.agent === context.agent);
    if (mine === undefined) return { agent: context.agent, quotas: {}, full: [] };
    const names = Object.keys(mine.used) as (keyof typeof mine.used)[];
    const quotas = Object.fromEntries(names.map((n) => [n, { used: mine.used[n], limit: mine.limits[n] }]));
    return { agent: context.agent, quotas, full: names.filter((n) => mine.used[n] >= mine.limits[n]) };
  },
});
