/**
 * Requests: admission (signature checked by the dispatcher, exactly-once, agent equivocation),
 * the bounded pending table, and the primary's batching of pending requests into pre-prepares.
 */
import { bytesEqual, toHex } from '../codec.ts';
import { LIMITS } from '../config.ts';
import { assert } from '../errors.ts';
import {
  decodeRequestBody,
  encodeFrame,
  type Frame,
  MessageType,
  makeBatch,
  type PrePrepare,
  type Request,
  type Signed,
} from '../messages.ts';
import type { SignedBytes } from '../receipt.ts';
import { checkPrepared, entryFor } from './agreement.ts';
import { high, inWatermarks, isPrimary, low, primaryOf, type ReplicaContext, requestKey } from './context.ts';
import { sendReply } from './execution.ts';
import { persistLog, reject, send, sign } from './output.ts';
import type { ConflictPair } from './state.ts';

/**
 * An agent's request: answered from the reply cache if executed, checked for equivocation,
 * then pending; the primary orders it, a backup passes it to the primary.
 */
export function onRequest(ctx: ReplicaContext, frame: Frame<Request>, raw: Uint8Array): void {
  const request = frame.body;
  const client = ctx.execution.clients.get(request.agent);
  const seenKey = requestKey(request.agent, request.requestId);
  const seen = ctx.requests.recentRequests.get(seenKey);
  if (seen === undefined) {
    if (ctx.requests.recentRequests.size >= LIMITS.recentRequestsMax) {
      ctx.requests.recentRequests.delete(ctx.requests.recentRequests.keys().next().value as string);
    }
    ctx.requests.recentRequests.set(seenKey, frame);
  } else if (!bytesEqual(seen.bytes, frame.bytes)) {
    if (!sameKey(seen, frame)) {
      ctx.requests.recentRequests.set(seenKey, frame); // re-signed after a key rotation
    } else {
      if (!(client?.reported.includes(request.requestId) ?? false)) noteConflict(ctx, seen, frame);
      return;
    }
  }
  if (client !== undefined && request.requestId <= client.requestId) {
    const executed = client.recent.find((r) => r.requestId === request.requestId);
    if (executed !== undefined && !bytesEqual(frame.bytes, executed.request.bytes)) {
      const first = requestOf(ctx, executed.request);
      if (!client.reported.includes(request.requestId) && sameKey(first, frame))
        noteConflict(ctx, first, frame);
    } else if (request.requestId === client.requestId) sendReply(ctx, request.agent, client);
    else
      reject(
        ctx,
        'STALE_REQUEST',
        `agent ${request.agent} request ${request.requestId} <= ${client.requestId}`,
      );
    return;
  }
  const key = requestKey(request.agent, request.requestId);
  const existing = ctx.requests.pending.get(key);
  if (existing !== undefined) {
    if (existing.digestHex !== toHex(ctx.crypto.hash(frame.bytes)) && sameKey(existing.request, frame))
      noteConflict(ctx, existing.request, frame);
    return;
  }
  if (!addPending(ctx, frame)) return;
  if (ctx.mode !== 'normal') return;
  if (isPrimary(ctx)) propose(ctx);
  else
    ctx.out.send.push({
      to: { kind: 'replica', id: primaryOf(ctx, ctx.view) },
      type: MessageType.request,
      frame: raw,
    });
}

/**
 * Whether two requests are signed with the same key. Only then are two bodies with one
 * requestId equivocation: across a key rotation an agent re-signs what was refused.
 */
function sameKey(a: Signed<Request>, b: Signed<Request>): boolean {
  return bytesEqual(a.body.publicKey, b.body.publicKey);
}

/**
 * An agent signed two different requests with one requestId: that is proof of equivocation.
 * The pair is ordered together (the first executes, or already has; the second never does), so
 * every replica's state machine learns of it at the same point in the log. Backups send the
 * pair to every replica — not only the primary, which may be the one keeping it out of the
 * log — again every retryTicks and in each new view, until it is ordered; and an unordered
 * pair times the primary out like an overdue request, so f+1 honest replicas that hold it
 * replace a primary that censors it.
 */
function noteConflict(ctx: ReplicaContext, first: Signed<Request>, second: Signed<Request>): void {
  const { agent, requestId } = second.body;
  reject(ctx, 'AGENT_EQUIVOCATION', `agent ${agent} signed two different requests with id ${requestId}`);
  const key = requestKey(agent, requestId);
  if (ctx.requests.conflicts.has(key)) return;
  // A pair proves itself however old it is (both bodies are ordered together); at the bound
  // the oldest unordered one gives way.
  if (ctx.requests.conflicts.size >= LIMITS.conflictingRequestsMax) {
    ctx.requests.conflicts.delete(ctx.requests.conflicts.keys().next().value as string);
  }
  const pair: ConflictPair = {
    first,
    second,
    assigned: undefined,
    forwardedAt: ctx.now,
    since: ctx.now,
  };
  ctx.requests.conflicts.set(key, pair);
  if (isPrimary(ctx) && ctx.mode === 'normal') propose(ctx);
  else forwardConflict(ctx, pair);
}

/** Sends both requests of an equivocation to every replica (see `noteConflict`). */
export function forwardConflict(ctx: ReplicaContext, pair: ConflictPair): void {
  pair.forwardedAt = ctx.now;
  for (const request of [pair.first, pair.second]) {
    ctx.out.send.push({
      to: { kind: 'replicas' },
      type: MessageType.request,
      frame: encodeFrame(request),
    });
  }
}

/**
 * Whether a pair of conflicting requests has waited a timeout to be ordered. Pairs whose
 * evidence this replica already holds (it came with a checkpoint's state, say) are dropped.
 */
export function conflictOverdue(ctx: ReplicaContext, timeout: number): boolean {
  let overdue = false;
  for (const [key, pair] of ctx.requests.conflicts) {
    const { agent, requestId } = pair.second.body;
    if (ctx.execution.clients.get(agent)?.reported.includes(requestId) ?? false) {
      ctx.requests.conflicts.delete(key);
      continue;
    }
    if (ctx.now - pair.since >= timeout) overdue = true;
  }
  return overdue;
}

/** A request from its signed bytes (our own durable or replicated copy: it decodes). */
function requestOf(_ctx: ReplicaContext, signed: SignedBytes): Signed<Request> {
  const body = decodeRequestBody(signed.bytes);
  assert(body !== undefined, 'a remembered request does not decode');
  return { body, bytes: signed.bytes, signature: signed.signature };
}

/** `digest` is the request body's digest when the caller already has it (a batch does). */
function addPending(
  ctx: ReplicaContext,
  request: Signed<Request>,
  assigned?: number,
  digest?: Uint8Array,
): boolean {
  const { agent, requestId } = request.body;
  const ids = ctx.requests.pendingPerAgent.get(agent) ?? new Set<number>();
  if (
    ids.size >= ctx.protocol.pendingRequestsPerAgentMax ||
    ctx.requests.pending.size >= LIMITS.pendingRequestsMax
  ) {
    reject(ctx, 'PENDING_REQUESTS_FULL', `agent ${agent} has ${ids.size} pending`);
    return false;
  }
  ids.add(requestId);
  ctx.requests.pendingPerAgent.set(agent, ids);
  ctx.requests.pending.set(requestKey(agent, requestId), {
    request,
    digestHex: toHex(digest ?? ctx.crypto.hash(request.bytes)),
    receivedAt: ctx.now,
    assigned,
  });
  return true;
}

/**
 * A backup forwards the requests it holds that the primary has not ordered to the primary again,
 * every `retryTicks`, oldest first, a batch's worth at most. The first forward may have been
 * lost, or have gone to the primary of an earlier view, and an agent (a lying one, say) need not
 * send its request to everyone: without this, a request only a backup holds would time out
 * every primary in turn, each one honest and never shown the request — one honest suspicion a
 * Byzantine replica can bring to f+1, view after view.
 */
export function forwardUnordered(ctx: ReplicaContext): void {
  const retry = ctx.protocol.retryTicks;
  if (isPrimary(ctx) || ctx.mode !== 'normal' || ctx.now - ctx.requests.lastForwardAt < retry) return;
  ctx.requests.lastForwardAt = ctx.now;
  let forwarded = 0;
  for (const pending of ctx.requests.pending.values()) {
    if (forwarded >= ctx.protocol.batchSizeMax) return;
    if (pending.assigned !== undefined || ctx.now - pending.receivedAt < retry) continue;
    send(ctx, { kind: 'replica', id: primaryOf(ctx, ctx.view) }, pending.request);
    forwarded++;
  }
}

/** Requests learnt from a batch also start the view-change timer, but a full table is not the batch's fault. */
export function addPendingQuietly(
  ctx: ReplicaContext,
  request: Signed<Request>,
  sequence: number,
  digest: Uint8Array,
): void {
  const ids = ctx.requests.pendingPerAgent.get(request.body.agent);
  if (
    (ids?.size ?? 0) >= ctx.protocol.pendingRequestsPerAgentMax ||
    ctx.requests.pending.size >= LIMITS.pendingRequestsMax
  )
    return;
  addPending(ctx, request, sequence, digest);
}

/** Drops pending requests of `agent` at or below `requestId` (executed, or superseded). */
export function clearPending(ctx: ReplicaContext, agent: string, requestId: number): void {
  const ids = ctx.requests.pendingPerAgent.get(agent);
  if (ids === undefined) return;
  for (const id of ids) {
    if (id <= requestId) {
      ids.delete(id);
      ctx.requests.pending.delete(requestKey(agent, id));
    }
  }
  if (ids.size === 0) ctx.requests.pendingPerAgent.delete(agent);
}

/** Drops one pending request, if it is the one with this body digest. */
export function clearPendingRequest(
  ctx: ReplicaContext,
  agent: string,
  requestId: number,
  digestHex: string,
): void {
  if (ctx.requests.pending.get(requestKey(agent, requestId))?.digestHex !== digestHex) return;
  deletePending(ctx, agent, requestId);
}

/** Removes one request from the pending table. */
export function deletePending(ctx: ReplicaContext, agent: string, requestId: number): void {
  ctx.requests.pending.delete(requestKey(agent, requestId));
  const ids = ctx.requests.pendingPerAgent.get(agent);
  ids?.delete(requestId);
  if (ids?.size === 0) ctx.requests.pendingPerAgent.delete(agent);
}

/** The primary orders pending requests: as many batches as the pipeline and the watermarks allow. */
export function propose(ctx: ReplicaContext): void {
  if (!isPrimary(ctx) || ctx.mode !== 'normal') return;
  if (ctx.requests.inBurst) {
    ctx.requests.proposalDeferred = true;
    return;
  }
  ctx.requests.proposalDeferred = false;
  while (
    ctx.requests.nextSequence <= high(ctx) &&
    ctx.requests.nextSequence - 1 - ctx.execution.lastExecuted < ctx.protocol.pipelineDepthMax
  ) {
    const requests: Signed<Request>[] = [];
    // Evidence first: ordered before the agent's next requests can make it unprovable.
    for (const conflict of ctx.requests.conflicts.values()) {
      if (requests.length + 2 > ctx.protocol.batchSizeMax) break;
      if (conflict.assigned !== undefined) continue;
      requests.push(conflict.first, conflict.second);
      conflict.assigned = ctx.requests.nextSequence;
    }
    for (const pending of ctx.requests.pending.values()) {
      if (requests.length >= ctx.protocol.batchSizeMax) break;
      if (pending.assigned !== undefined) continue;
      requests.push(pending.request);
    }
    if (requests.length === 0) return;
    proposeBatch(ctx, requests);
  }
}

/** The primary proposes one batch at the next sequence: signed, logged, sent, and voted on. */
export function proposeBatch(ctx: ReplicaContext, requests: readonly Signed<Request>[]): void {
  const timestamp = Math.max(ctx.now, ctx.requests.lastProposedTimestamp, ctx.execution.agreedTime);
  const batch = makeBatch(timestamp, requests, ctx.crypto.hash);
  const sequence = ctx.requests.nextSequence++;
  // A new view may start above our window (its stable checkpoint is ahead of ours, and we catch
  // up by state transfer); we never propose there. `propose` checks; this is the invariant.
  assert(inWatermarks(ctx, sequence), `primary proposing at ${sequence} outside (${low(ctx)}, ${high(ctx)}]`);
  const prePrepare = sign<PrePrepare>(ctx, {
    type: MessageType.prePrepare,
    view: ctx.view,
    sequence,
    digest: batch.digest,
    replica: ctx.id,
  });
  const entry = entryFor(ctx, sequence);
  assert(
    entry.prePrepare === undefined,
    `primary ${ctx.id} proposing twice at ${sequence} in view ${ctx.view}`,
  );
  entry.prePrepare = prePrepare;
  entry.batches.set(toHex(batch.digest), batch);
  for (const request of requests) {
    const pending = ctx.requests.pending.get(requestKey(request.body.agent, request.body.requestId));
    if (pending !== undefined) pending.assigned = sequence;
  }
  ctx.requests.lastProposedTimestamp = timestamp;
  ctx.timers.lastProposalAt = ctx.now;
  const frame = encodeFrame(prePrepare, [batch]);
  persistLog(ctx, sequence, frame);
  ctx.out.send.push({ to: { kind: 'replicas' }, type: MessageType.prePrepare, frame });
  checkPrepared(ctx, entry);
}
