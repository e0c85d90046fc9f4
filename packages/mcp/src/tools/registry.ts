/**
 * The agent registry, read page by page with this server's page size (the SDK's `agents()` asks
 * for its default page, which a cluster with a smaller `pageMax` refuses), and the key lookup
 * over its history that receipts are checked with.
 */
import { type AgentView, decodeResult, keyInForce, ops } from '@conclave/coordination';
import type { AgentKeyAt } from '@conclave/core';
import { ConclaveError, type ReadOptions, refusalError } from '@conclave/sdk';
import type { ToolContext } from './tool.ts';

/** One page of agent records after `after`, read with the options' consistency. */
async function page(context: ToolContext, after: string | null, options: ReadOptions) {
  const client = context.coordination.client;
  const operation = ops.listAgents({ after, limit: context.pageSize });
  const consistency = options.consistency ?? 'linearizable';
  const answer =
    consistency === 'linearizable'
      ? await client.request(operation, options)
      : await client.query(operation, consistency, options);
  const result = decodeResult(answer.result);
  if (!result.ok) throw refusalError(result.code, result.message, result.resource);
  if (result.kind !== 'agents')
    throw new ConclaveError('INVALID_ARGUMENT', `expected agents, got ${result.kind}`);
  return result;
}

/** Every agent record, current and removed, with its key history. */
export async function registryOf(context: ToolContext, options: ReadOptions = {}): Promise<AgentView[]> {
  const all: AgentView[] = [];
  let after: string | null = null;
  for (;;) {
    const next = await page(context, after, options);
    all.push(...next.agents);
    if (next.next === null) return all;
    after = next.next;
  }
}

/** The key each agent held at a sequence, from the registry's history (for `verifyReceipt`). */
export async function keyHistoryOf(context: ToolContext, options: ReadOptions = {}): Promise<AgentKeyAt> {
  const history = (await registryOf(context, options)).map((a) => ({ id: a.id, keys: a.keys }));
  return (agent, sequence) => keyInForce(history, agent, sequence);
}
