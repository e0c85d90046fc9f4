/** The replicated state as bytes: what a checkpoint certifies and a state transfer installs. */
import { bytesEqual, decodeCanonical, encodeCanonical } from '../codec.ts';
import { assert } from '../errors.ts';
import type { StateMachine } from '../state-machine.ts';
import type { ReplicaContext } from './context.ts';
import { refreshAgentKeys } from './registry.ts';
import { clearPending } from './requests.ts';
import type { ClientRecord } from './state.ts';

/** The replicated state: application snapshot and digest, the reply cache (exactly-once), agreed time. */
export function takeSnapshot(ctx: ReplicaContext): Uint8Array {
  return encodeSnapshot(ctx.stateMachine, ctx.execution.clients, ctx.execution.agreedTime);
}

/** Canonical bytes of a replicated state: agents sorted, so equal states give equal bytes. */
export function encodeSnapshot(
  stateMachine: StateMachine,
  clientRecords: ReadonlyMap<string, ClientRecord>,
  agreedTime: number,
): Uint8Array {
  const agents = [...clientRecords.keys()].sort();
  const clients = agents.map((agent) => {
    const record = clientRecords.get(agent) as ClientRecord;
    return [
      agent,
      record.requestId,
      record.result,
      record.sequence,
      record.recent.map((r) => [r.requestId, r.request.bytes, r.request.signature]),
      [...record.reported],
    ];
  });
  return encodeCanonical([stateMachine.snapshot(), stateMachine.digest(), clients, agreedTime]);
}

/** Replaces the replicated state (application, reply cache, agreed time) with a certified snapshot. */
export function installSnapshot(ctx: ReplicaContext, sequence: number, snapshot: Uint8Array): void {
  const decoded = decodeCanonical(snapshot);
  assert(
    decoded.ok && Array.isArray(decoded.value) && decoded.value.length === 4,
    'certified snapshot is not a replica snapshot',
  );
  const [appSnapshot, appDigest, clients, agreedTime] = decoded.value as [
    Uint8Array,
    Uint8Array,
    [string, number, Uint8Array, number, [number, Uint8Array, Uint8Array][], number[]][],
    number,
  ];
  ctx.stateMachine.restore(appSnapshot);
  refreshAgentKeys(ctx);
  assert(
    bytesEqual(ctx.stateMachine.digest(), appDigest),
    'restored state machine digest differs from its certified snapshot',
  );
  ctx.execution.clients = new Map(
    clients.map(([agent, requestId, result, at, recent, reported]) => [
      agent,
      {
        requestId,
        result,
        sequence: at,
        recent: recent.map(([id, bytes, signature]) => ({ requestId: id, request: { bytes, signature } })),
        reported,
      },
    ]),
  );
  for (const [agent, record] of ctx.execution.clients) clearPending(ctx, agent, record.requestId);
  ctx.execution.agreedTime = agreedTime;
  ctx.execution.lastExecuted = sequence;
  ctx.timers.lastExecutedAt = ctx.now;
}
