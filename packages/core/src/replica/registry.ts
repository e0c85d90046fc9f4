/**
 * The agent registry as the replica uses it: whose requests it admits and executes, and with
 * which key. A state machine that manages its own registry (`StateMachine.agentKeys`) is read at
 * construction, after a restore and after every executed batch, so every honest replica switches
 * at the same point of the log: a change made while executing sequence s holds from s+1 on.
 * Otherwise the registry is the cluster config's agents, fixed.
 */
import { bytesEqual, toHex } from '../codec.ts';
import type { Request } from '../messages.ts';
import type { Refusal } from '../refusal.ts';
import type { ReplicaContext } from './context.ts';
import { deletePending } from './requests.ts';

/** The agent keys a replica starts with: the state machine's registry, or the cluster config's. */
export function initialAgentKeys(ctx: Pick<ReplicaContext, 'stateMachine' | 'cluster'>): {
  keys: ReadonlyMap<string, Uint8Array>;
  version: number | undefined;
} {
  const registry = ctx.stateMachine.agentKeys?.();
  if (registry !== undefined) return { keys: registry.keys, version: registry.version };
  return { keys: new Map(ctx.cluster.agents.map((a) => [a.id, a.publicKey])), version: undefined };
}

/**
 * Re-reads the state machine's registry after it may have changed. On a change, pending
 * requests signed with keys no longer in force are dropped (they would be refused when
 * ordered, and an honest primary will not order them: kept, they would time the primary out),
 * and the new map is reported to the host, which updates who may connect.
 */
export function refreshAgentKeys(ctx: ReplicaContext): ReadonlyMap<string, Uint8Array> | undefined {
  const registry = ctx.stateMachine.agentKeys?.();
  if (registry === undefined || registry.version === ctx.agentKeysVersion) return undefined;
  ctx.agentKeys = registry.keys;
  ctx.agentKeysVersion = registry.version;
  dropPendingOutOfForce(ctx);
  ctx.out.agentKeys = registry.keys;
  return registry.keys;
}

/** Why a request's key is not its agent's key in force now, or undefined when it is. */
export function keyRefusal(ctx: ReplicaContext, request: Request): Refusal | undefined {
  const key = ctx.agentKeys.get(request.agent);
  if (key === undefined) return { code: 'UNKNOWN_AGENT', detail: `agent ${request.agent} is not registered` };
  if (!bytesEqual(key, request.publicKey))
    return {
      code: 'REVOKED_KEY',
      detail: `key ${toHex(request.publicKey).slice(0, 16)}… is not agent ${request.agent}'s key in force`,
    };
  return undefined;
}

function dropPendingOutOfForce(ctx: ReplicaContext): void {
  for (const pending of [...ctx.requests.pending.values()]) {
    if (keyRefusal(ctx, pending.request.body) === undefined) continue;
    deletePending(ctx, pending.request.body.agent, pending.request.body.requestId);
  }
}
