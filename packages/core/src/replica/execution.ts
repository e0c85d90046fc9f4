/**
 * Execution: committed batches applied strictly in sequence order, exactly once per request;
 * replies to agents, read-only queries, and receipts.
 */
import { bytesEqual, encodeCanonical, toHex } from '../codec.ts';
import { assert } from '../errors.ts';
import {
  type Batch,
  decodeRequestBody,
  encodeBody,
  type FetchReceipt,
  type Frame,
  MessageType,
  type Query,
  type QueryReply,
  type ReceiptReply,
  type Reply,
  type Request,
  type Signed,
} from '../messages.ts';
import { encodeReceipt, type Receipt, type SignedBytes } from '../receipt.ts';
import { encodeRefusal, type Refusal } from '../refusal.ts';
import type { BatchContext, ExecutionContext, RequestEquivocation } from '../state-machine.ts';
import type { ExecutedRequest, RefusedRequest } from '../types.ts';
import { takeCheckpoint } from './checkpoints.ts';
import { type ReplicaContext, requestKey } from './context.ts';
import { reject, send } from './output.ts';
import { keyRefusal, refreshAgentKeys } from './registry.ts';
import { clearPending, clearPendingRequest, propose } from './requests.ts';
import { type ClientRecord, type LogEntry, RECENT_REQUESTS_PER_AGENT } from './state.ts';

/** Executes committed batches in sequence order, as far as they are known without a gap. */
export function executeReady(ctx: ReplicaContext): void {
  for (;;) {
    const sequence = ctx.execution.lastExecuted + 1;
    const entry = ctx.agreement.log.get(sequence);
    if (entry?.committed === undefined) return;
    const batch =
      entry.batches.get(toHex(entry.committed.digest)) ?? nullBatchFor(ctx, entry.committed.digest);
    if (batch === undefined) return; // fetched later with its certificate
    execute(ctx, entry, batch);
  }
}

/** The empty batch, if that is what the digest names: no replica needs to send it. */
export function nullBatchFor(ctx: ReplicaContext, digest: Uint8Array): Batch | undefined {
  return bytesEqual(digest, ctx.nullBatch.digest) ? ctx.nullBatch : undefined;
}

/** Applies one committed batch, the next in sequence order, and reports it. */
function execute(ctx: ReplicaContext, entry: LogEntry, batch: Batch): void {
  assert(entry.sequence === ctx.execution.lastExecuted + 1, 'execution out of order');
  assert(entry.committed !== undefined, 'executing an uncommitted batch');
  const timestamp = Math.max(ctx.execution.agreedTime, batch.timestamp);
  const batchContext: BatchContext = { sequence: entry.sequence, timestamp };
  ctx.stateMachine.advanceTime?.(batchContext);
  const { executed, refused, equivocations } = executeRequests(ctx, batch, batchContext);
  const agentKeys = refreshAgentKeys(ctx); // changes made by this batch hold from the next one on
  ctx.execution.agreedTime = timestamp;
  ctx.execution.lastExecuted = entry.sequence;
  ctx.timers.lastExecutedAt = ctx.now;
  // Progress in the current view ends a streak of view changes: the next timeout starts short again.
  if (entry.committed.view === ctx.view && ctx.mode !== 'view-change') ctx.viewChange.streak = 0;
  ctx.out.executed.push({
    sequence: entry.sequence,
    view: entry.committed.view,
    digest: entry.committed.digest,
    timestamp,
    requests: executed,
    refused,
    ...(agentKeys === undefined ? {} : { agentKeys }),
    via: entry.committed.via,
    equivocations,
  });
  if (entry.sequence % ctx.protocol.checkpointInterval === 0) takeCheckpoint(ctx, entry.sequence);
  if (ctx.transfer.target !== undefined && ctx.transfer.target.sequence <= ctx.execution.lastExecuted)
    ctx.transfer.target = undefined;
  propose(ctx);
}

/**
 * Applies a batch's requests in order, each exactly once per (agent, requestId). A request whose
 * id was executed already is skipped; if its body differs, that is evidence of equivocation. A
 * request signed with a key that is not its agent's key in force is refused, not applied.
 */
function executeRequests(
  ctx: ReplicaContext,
  batch: Batch,
  batchContext: BatchContext,
): { executed: ExecutedRequest[]; refused: RefusedRequest[]; equivocations: RequestEquivocation[] } {
  const executed: ExecutedRequest[] = [];
  const refused: RefusedRequest[] = [];
  const equivocations: RequestEquivocation[] = [];
  /** Requests earlier in this batch, by (agent, requestId): an ordered pair proves itself. */
  const inBatch = new Map<string, SignedBytes>();
  for (const [index, request] of batch.requests.entries()) {
    const { agent, requestId } = request.body;
    const key = requestKey(agent, requestId);
    const earlier = inBatch.get(key);
    if (earlier === undefined) inBatch.set(key, { bytes: request.bytes, signature: request.signature });
    const previous = ctx.execution.clients.get(agent);
    if (previous !== undefined && requestId <= previous.requestId) {
      // Exactly once: never executed again. A different body with an executed id is evidence.
      const first = previous.recent.find((r) => r.requestId === requestId)?.request ?? earlier;
      const evidence = equivocationOf(ctx, request, first, previous, batchContext);
      if (evidence !== undefined) equivocations.push(evidence);
      continue;
    }
    const refusal = keyRefusal(ctx, request.body);
    if (refusal !== undefined) {
      refused.push(
        refuseRequest(ctx, request, refusal, batch.requestDigests[index] as Uint8Array, batchContext),
      );
      continue;
    }
    executed.push(applyRequest(ctx, request, previous, batchContext));
  }
  return { executed, refused, equivocations };
}

/**
 * An ordered request whose key is not in force: counted, answered with core's refusal, and
 * forgotten (it is not recorded as executed, so the agent may send that requestId again under
 * its key in force). Only this exact request leaves the pending table: a forged request in a
 * Byzantine primary's batch must not clear the agent's real ones.
 */
function refuseRequest(
  ctx: ReplicaContext,
  request: Signed<Request>,
  refusal: Refusal,
  digest: Uint8Array,
  batchContext: BatchContext,
): RefusedRequest {
  const { agent, requestId, publicKey } = request.body;
  reject(ctx, refusal.code, `request ${agent}/${requestId} at ${batchContext.sequence}: ${refusal.detail}`);
  clearPendingRequest(ctx, agent, requestId, toHex(digest));
  const record: ClientRecord = {
    requestId,
    result: encodeRefusal(refusal),
    sequence: batchContext.sequence,
    recent: [],
    reported: [],
  };
  sendReply(ctx, agent, record);
  return { agent, requestId, publicKey, code: refusal.code };
}

/**
 * A second body signed with an executed (agent, requestId) that was not reported yet: the state
 * machine is told, once, at this point of the log, and the pair waits no longer to be ordered.
 */
function equivocationOf(
  ctx: ReplicaContext,
  request: Signed<Request>,
  first: SignedBytes | undefined,
  previous: ClientRecord,
  batchContext: BatchContext,
): RequestEquivocation | undefined {
  const { agent, requestId } = request.body;
  if (first === undefined || previous.reported.includes(requestId) || bytesEqual(request.bytes, first.bytes))
    return undefined;
  // Two bodies under two keys prove nothing about one signer (one may be forged, or re-signed
  // after a rotation): only the same key signing twice is equivocation.
  const firstKey = decodeRequestBody(first.bytes)?.publicKey;
  if (firstKey === undefined || !bytesEqual(firstKey, request.body.publicKey)) return undefined;
  const evidence: RequestEquivocation = {
    agent,
    requestId,
    first,
    second: { bytes: request.bytes, signature: request.signature },
  };
  ctx.stateMachine.onEquivocation?.(evidence, batchContext);
  ctx.execution.clients.set(agent, {
    ...previous,
    reported: [...previous.reported, requestId].slice(-RECENT_REQUESTS_PER_AGENT),
  });
  ctx.requests.conflicts.delete(requestKey(agent, requestId));
  return evidence;
}

/** Applies one new request, records it in the reply cache and answers its agent. */
function applyRequest(
  ctx: ReplicaContext,
  request: Signed<Request>,
  previous: ClientRecord | undefined,
  batchContext: BatchContext,
): ExecutedRequest {
  const { agent, requestId, operation } = request.body;
  const { sequence, timestamp } = batchContext;
  const context: ExecutionContext = { agent, requestId, sequence, timestamp };
  const result = ctx.stateMachine.apply(operation, context);
  const record: ClientRecord = {
    requestId,
    result,
    sequence,
    recent: [
      ...(previous?.recent ?? []),
      { requestId, request: { bytes: request.bytes, signature: request.signature } },
    ].slice(-RECENT_REQUESTS_PER_AGENT),
    reported: previous?.reported ?? [],
  };
  ctx.execution.clients.set(agent, record);
  clearPending(ctx, agent, requestId);
  sendReply(ctx, agent, record);
  return { agent, requestId, result, publicKey: request.body.publicKey };
}

/**
 * A retransmission of the agent's last executed request, byte for byte, is answered from the
 * reply cache even when the key it names has left force since: that request may be the very
 * rotation or revocation that retired the key, and an agent whose replies to it were lost could
 * otherwise never learn it executed. It grants nothing new (the same signed bytes that were
 * checked and executed; no signature check needed to compare them), and anything else under a
 * key out of force is still refused. Returns whether it answered.
 */
export function answerLastExecuted(ctx: ReplicaContext, request: Signed<Request>): boolean {
  const record = ctx.execution.clients.get(request.body.agent);
  if (record === undefined || record.requestId !== request.body.requestId) return false;
  const executed = record.recent.find((r) => r.requestId === record.requestId)?.request;
  if (executed === undefined || !bytesEqual(executed.bytes, request.bytes)) return false;
  if (!bytesEqual(executed.signature, request.signature)) return false;
  sendReply(ctx, request.body.agent, record);
  return true;
}

/** Answers an agent from the reply cache: authenticated for that agent (see `auth.ts`). */
export function sendReply(ctx: ReplicaContext, agent: string, record: ClientRecord): void {
  const body: Reply = {
    type: MessageType.reply,
    view: ctx.view,
    sequence: record.sequence,
    agent,
    requestId: record.requestId,
    result: record.result,
    replica: ctx.id,
  };
  const bytes = encodeBody(body);
  const signature = ctx.replyAuthenticator.authenticate(bytes, agent);
  send(ctx, { kind: 'agent', id: agent }, { body, bytes, signature });
}

/** A read-only query: answered at once from the executed state, never ordered. */
export function onQuery(ctx: ReplicaContext, frame: Frame<Query>): void {
  const query = frame.body;
  const result =
    ctx.stateMachine.query?.(query.operation) ??
    encodeCanonical([false, 'this state machine answers no queries', 0]);
  const body: QueryReply = {
    type: MessageType.queryReply,
    agent: query.agent,
    queryId: query.queryId,
    result,
    lastExecuted: ctx.execution.lastExecuted,
    agreedTime: ctx.execution.agreedTime,
    replica: ctx.id,
  };
  const bytes = encodeBody(body);
  const signature = ctx.replyAuthenticator.authenticate(bytes, query.agent);
  send(ctx, { kind: 'agent', id: query.agent }, { body, bytes, signature });
}

/**
 * A receipt for an executed request, while its batch is in the log or among the last
 * `watermarkWindow` sequences below the stable checkpoint (kept in memory for receipts only: a
 * request that lands on a checkpoint's sequence is often garbage-collected before its agent
 * asks). Anyone with the cluster's public keys can check it with `verifyReceipt`.
 */
export function receiptFor(
  ctx: ReplicaContext,
  sequence: number,
  agent: string,
  requestId: number,
): Receipt | undefined {
  if (sequence > ctx.execution.lastExecuted) return undefined;
  const entry = ctx.agreement.log.get(sequence);
  const archived = ctx.execution.receiptArchive.get(sequence);
  const committed = entry?.committed ?? archived?.committed;
  if (committed === undefined) return undefined;
  const batch = entry?.committed !== undefined ? entry.batches.get(toHex(committed.digest)) : archived?.batch;
  if (batch === undefined) return undefined;
  const request = batch.requests.find((r) => r.body.agent === agent && r.body.requestId === requestId);
  if (request === undefined) return undefined;
  return {
    request: { bytes: request.bytes, signature: request.signature },
    sequence,
    view: committed.view,
    timestamp: batch.timestamp,
    requestDigests: batch.requestDigests,
    commits: committed.commits.map((c) => ({ bytes: c.bytes, signature: c.signature })),
  };
}

/** Receipts are served while the batch is in the log or the receipt archive (see `receipt`). */
export function onFetchReceipt(ctx: ReplicaContext, frame: Frame<FetchReceipt>): void {
  const { agent, requestId, sequence } = frame.body;
  const receipt = receiptFor(ctx, sequence, agent, requestId);
  const body: ReceiptReply = {
    type: MessageType.receipt,
    agent,
    requestId,
    receipt: receipt === undefined ? new Uint8Array(0) : encodeReceipt(receipt),
    replica: ctx.id,
  };
  const bytes = encodeBody(body);
  send(
    ctx,
    { kind: 'agent', id: agent },
    { body, bytes, signature: ctx.replyAuthenticator.authenticate(bytes, agent) },
  );
}

/** Keeps what a receipt needs of a log entry leaving the log; the oldest beyond the window go. */
export function archiveReceipts(ctx: ReplicaContext, entry: LogEntry): void {
  const committed = entry.committed;
  if (committed === undefined || committed.commits.length === 0) return;
  const batch = entry.batches.get(toHex(committed.digest));
  if (batch === undefined || batch.requests.length === 0) return;
  ctx.execution.receiptArchive.set(entry.sequence, { committed, batch });
  for (const sequence of ctx.execution.receiptArchive.keys()) {
    if (ctx.execution.receiptArchive.size <= ctx.protocol.watermarkWindow) break;
    ctx.execution.receiptArchive.delete(sequence);
  }
}
