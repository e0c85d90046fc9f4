/**
 * What the agent and proposal commands share: who acts (`--as`, or `--agent`), a connection as
 * that agent through the SDK's coordination API, and the default voting window.
 */
import { type Coordination, coordination } from '@conclave/sdk';
import { agentIdOf, integer, requireString, UsageError, type Values } from './args.ts';
import { connectAgent } from './connect.ts';

/** Voting stays open this many ticks unless `--ttl` says otherwise (10 min at 10 ms ticks). */
export const DEFAULT_TTL_TICKS = 60_000;

/** The acting agent: `--as AGENT` (or `--agent`, as the kv commands take it). */
export function actingAgent(values: Values): string {
  if (values.as !== undefined && values.agent !== undefined)
    throw new UsageError('give --as or --agent, not both');
  return agentIdOf(requireString(values.as ?? values.agent, '--as'));
}

/** `--ttl TICKS`: a positive number of ticks of agreed time. */
export function ttlFlag(values: Values): number {
  const ttl = integer(values.ttl, '--ttl', DEFAULT_TTL_TICKS);
  if (ttl < 1) throw new UsageError(`--ttl takes a positive number of ticks, got ${ttl}`);
  return ttl;
}

/** Connects as the acting agent of `--dir`, runs `work`, and closes the connection. */
export async function asAgent<T>(values: Values, work: (c: Coordination) => Promise<T>): Promise<T> {
  const dir = requireString(values.dir, '--dir');
  const client = await connectAgent({ dir, agent: actingAgent(values) });
  try {
    return await work(coordination(client));
  } finally {
    await client.close();
  }
}

/** Refuses positional arguments beyond `count`. */
export function noMoreThan(args: readonly string[], count: number): void {
  if (args.length > count) throw new UsageError(`unexpected arguments: ${args.slice(count).join(' ')}`);
}
