/**
 * Agreement, the normal case: pre-prepare, prepare and commit for sequences inside the watermark
 * window. Prepared = the pre-prepare and 2f matching prepares from distinct backups; committed =
 * prepared and 2f+1 matching commits.
 */
import { bytesEqual, toHex } from '../codec.ts';
import { assert } from '../errors.ts';
import {
  type Batch,
  type Body,
  type Commit,
  encodeFrame,
  type Frame,
  MessageType,
  type PrePrepare,
  type Prepare,
  type Signed,
} from '../messages.ts';
import {
  high,
  inWatermarks,
  isPrimary,
  low,
  noteProgress,
  primaryOf,
  type ReplicaContext,
  requestKey,
} from './context.ts';
import { executeReady } from './execution.ts';
import { persistLog, reject, sign } from './output.ts';
import { addPendingQuietly } from './requests.ts';
import { noteVoteBelow } from './return.ts';
import type { LogEntry } from './state.ts';

/**
 * A prepare or commit that cannot change anything: for the current view, at a sequence that is
 * already prepared (for a prepare) or committed (for a commit) in this view, or a second vote
 * from a replica we already have the same vote from. It is dropped before its signature is
 * checked — the most expensive thing a replica does — since a quorum needs only 2f prepares and
 * 2f+1 commits and the rest of the n-1 votes that arrive would be checked for nothing. So is a
 * copy of the pre-prepare we logged for a sequence of the current view (the primary re-sends it
 * when the sequence stops executing, `retransmit.ts`): checking it, and its batch's requests,
 * again would cost the most for nothing.
 */
export function redundantVote(ctx: ReplicaContext, body: Body): boolean {
  if (
    body.type !== MessageType.prepare &&
    body.type !== MessageType.commit &&
    body.type !== MessageType.prePrepare
  )
    return false;
  if (body.view !== ctx.view || ctx.mode !== 'normal') return false;
  const entry = ctx.agreement.log.get(body.sequence);
  if (entry === undefined || entry.view !== body.view) return false;
  if (body.type === MessageType.prePrepare) {
    // A different digest is checked, so that the primary's equivocation is reported.
    return entry.prePrepare !== undefined && bytesEqual(entry.prePrepare.body.digest, body.digest);
  }
  const votes: Map<number, Signed<Prepare | Commit>> = body.type === MessageType.prepare
    ? entry.prepares
    : entry.commits;
  const existing = votes.get(body.replica);
  // A second vote with another digest is checked, so that equivocation is reported.
  if (existing !== undefined) return bytesEqual(existing.body.digest, body.digest);
  return body.type === MessageType.prepare ? entry.prepared : entry.committed !== undefined;
}

/**
 * Is a normal-case message for the view we are working in? Older views are rejected; newer
 * ones (or ours while we are still changing into it) are buffered, boundedly, for when we get there.
 */
function acceptView(ctx: ReplicaContext, view: number, frame: Frame, raw: Uint8Array): boolean {
  if (view < ctx.view) {
    noteVoteBelow(ctx, view, (frame.body as { replica: number }).replica);
    reject(ctx, 'STALE_VIEW', `view ${view} < ${ctx.view}`);
    return false;
  }
  if (view > ctx.view || ctx.mode !== 'normal') {
    const sender = (frame.body as { replica: number }).replica;
    const perSenderMax = 2 * ctx.protocol.watermarkWindow;
    const fromSender = ctx.agreement.earlyFrames.filter((item) => item.sender === sender).length;
    if (fromSender >= perSenderMax) {
      reject(ctx, 'FUTURE_VIEW_BUFFER_FULL', `view ${view} from ${sender}`);
      return false;
    }
    ctx.agreement.earlyFrames.push({ view, sender, frame, raw });
    return false;
  }
  return true;
}

/**
 * The log entry for a sequence inside the window, created if new; an entry of an older view starts
 * over in the current one (its prepared certificate is kept for view changes).
 */
export function entryFor(ctx: ReplicaContext, sequence: number): LogEntry {
  let entry = ctx.agreement.log.get(sequence);
  if (entry === undefined) {
    assert(
      inWatermarks(ctx, sequence),
      `log entry ${sequence} outside watermarks (${low(ctx)}, ${high(ctx)}]`,
    );
    entry = {
      sequence,
      view: ctx.view,
      prePrepare: undefined,
      prepares: new Map(),
      commits: new Map(),
      prepared: false,
      preparedProof: undefined,
      committed: undefined,
      batches: new Map(),
    };
    ctx.agreement.log.set(sequence, entry);
  } else if (entry.view < ctx.view) {
    entry.view = ctx.view;
    entry.prePrepare = undefined;
    entry.prepares = new Map();
    entry.commits = new Map();
    entry.prepared = false;
  }
  return entry;
}

/** Remembers the highest sequence a valid message named: above our execution, we are behind. */
export function noteSequence(ctx: ReplicaContext, sequence: number): void {
  if (sequence > ctx.agreement.highestSeenSequence) ctx.agreement.highestSeenSequence = sequence;
}

/** A backup takes the primary's proposal: checks its batch, logs it, and prepares it. */
export function onPrePrepare(ctx: ReplicaContext, frame: Frame<PrePrepare>, raw: Uint8Array): void {
  const prePrepare = frame.body;
  if (!acceptView(ctx, prePrepare.view, frame, raw)) return;
  if (prePrepare.replica !== primaryOf(ctx, prePrepare.view)) {
    reject(ctx, 'NOT_PRIMARY', `pre-prepare from ${prePrepare.replica} in view ${prePrepare.view}`);
    return;
  }
  if (!inWatermarks(ctx, prePrepare.sequence)) {
    if (prePrepare.sequence > high(ctx)) {
      // The primary is alive and we are behind: not silence, and a reason to catch up.
      noteProgress(ctx);
      noteSequence(ctx, prePrepare.sequence);
    }
    reject(
      ctx,
      'OUT_OF_WATERMARKS',
      `pre-prepare at ${prePrepare.sequence} outside (${low(ctx)}, ${high(ctx)}]`,
    );
    return;
  }
  const entry = entryFor(ctx, prePrepare.sequence);
  if (entry.prePrepare !== undefined) {
    if (!bytesEqual(entry.prePrepare.body.digest, prePrepare.digest)) {
      reject(
        ctx,
        'CONFLICTING_PRE_PREPARE',
        `two pre-prepares at (${prePrepare.view}, ${prePrepare.sequence})`,
      );
    }
    return;
  }
  const batch = frame.batches.find((b) => bytesEqual(b.digest, prePrepare.digest));
  if (batch === undefined) {
    reject(ctx, 'MISSING_BATCH', `pre-prepare at ${prePrepare.sequence} without its batch`);
    return;
  }
  if (!validateBatch(ctx, batch)) return;
  entry.prePrepare = frame;
  entry.batches.set(toHex(batch.digest), batch);
  noteSequence(ctx, prePrepare.sequence);
  noteProgress(ctx);
  persistLog(ctx, prePrepare.sequence, raw);
  for (const [index, request] of batch.requests.entries()) {
    const { agent, requestId } = request.body;
    const pending = ctx.requests.pending.get(requestKey(agent, requestId));
    if (pending !== undefined) pending.assigned = prePrepare.sequence;
    else if ((ctx.execution.clients.get(agent)?.requestId ?? -1) < requestId)
      addPendingQuietly(ctx, request, prePrepare.sequence, batch.requestDigests[index] as Uint8Array);
  }
  sendPrepare(ctx, entry);
  checkPrepared(ctx, entry);
}

/** Checks a proposed batch: every request signed by the key it names, the timestamp plausible. */
function validateBatch(ctx: ReplicaContext, batch: Batch): boolean {
  const skew = Math.abs(batch.timestamp - ctx.now);
  if (batch.timestamp < ctx.execution.agreedTime || skew > ctx.protocol.timestampSkewMaxTicks) {
    reject(
      ctx,
      'TIMESTAMP_OUT_OF_BOUNDS',
      `timestamp ${batch.timestamp}, clock ${ctx.now}, agreed ${ctx.execution.agreedTime}`,
    );
    return false;
  }
  for (const [index, request] of batch.requests.entries()) {
    const { agent, requestId } = request.body;
    // A request we already checked (it reached us directly) is not checked again.
    const pending = ctx.requests.pending.get(requestKey(agent, requestId));
    if (pending !== undefined && pending.digestHex === toHex(batch.requestDigests[index] as Uint8Array))
      continue;
    // Signed with the key it names; whether that key is in force is decided at execution, where
    // every replica has the same registry (a backup's may lag or lead the primary's here).
    if (!ctx.crypto.verify(request.bytes, request.signature, request.body.publicKey)) {
      reject(ctx, 'INVALID_BATCH', `request ${agent}/${requestId} not signed by the key it names`);
      return false;
    }
  }
  return true;
}

/** A backup's prepare for the entry's pre-prepare, once: logged before it is sent. */
export function sendPrepare(ctx: ReplicaContext, entry: LogEntry): void {
  if (isPrimary(ctx) || entry.prePrepare === undefined || entry.prepares.has(ctx.id)) return;
  const prepare = sign<Prepare>(ctx, {
    type: MessageType.prepare,
    view: ctx.view,
    sequence: entry.sequence,
    digest: entry.prePrepare.body.digest,
    replica: ctx.id,
  });
  entry.prepares.set(ctx.id, prepare);
  const frame = encodeFrame(prepare);
  persistLog(ctx, entry.sequence, frame);
  ctx.out.send.push({ to: { kind: 'replicas' }, type: MessageType.prepare, frame });
}

/** A backup's prepare: one per replica per (view, sequence); it may make the entry prepared. */
export function onPrepare(ctx: ReplicaContext, frame: Frame<Prepare>, raw: Uint8Array): void {
  const prepare = frame.body;
  if (!acceptView(ctx, prepare.view, frame, raw)) return;
  if (prepare.replica === primaryOf(ctx, prepare.view)) {
    reject(ctx, 'PREPARE_FROM_PRIMARY', `replica ${prepare.replica} is primary of view ${prepare.view}`);
    return;
  }
  if (!inWatermarks(ctx, prepare.sequence)) {
    if (prepare.sequence > high(ctx)) noteSequence(ctx, prepare.sequence); // we are behind: catch up
    reject(ctx, 'OUT_OF_WATERMARKS', `prepare at ${prepare.sequence} outside (${low(ctx)}, ${high(ctx)}]`);
    return;
  }
  const entry = entryFor(ctx, prepare.sequence);
  if (!recordVote(ctx, entry.prepares, frame)) return;
  noteSequence(ctx, prepare.sequence);
  noteProgress(ctx);
  persistLog(ctx, prepare.sequence, raw);
  checkPrepared(ctx, entry);
}

/** A replica's commit: one per replica per (view, sequence); it may make the entry committed. */
export function onCommit(ctx: ReplicaContext, frame: Frame<Commit>, raw: Uint8Array): void {
  const commit = frame.body;
  if (!acceptView(ctx, commit.view, frame, raw)) return;
  if (!inWatermarks(ctx, commit.sequence)) {
    if (commit.sequence > high(ctx)) noteSequence(ctx, commit.sequence); // we are behind: catch up
    reject(ctx, 'OUT_OF_WATERMARKS', `commit at ${commit.sequence} outside (${low(ctx)}, ${high(ctx)}]`);
    return;
  }
  const entry = entryFor(ctx, commit.sequence);
  if (!recordVote(ctx, entry.commits, frame)) return;
  noteSequence(ctx, commit.sequence);
  noteProgress(ctx);
  persistLog(ctx, commit.sequence, raw);
  checkCommitted(ctx, entry);
}

/** One vote per replica per (view, sequence): a second, different one is equivocation. */
function recordVote<V extends Prepare | Commit>(
  ctx: ReplicaContext,
  votes: Map<number, Signed<V>>,
  vote: Signed<V>,
): boolean {
  const existing = votes.get(vote.body.replica);
  if (existing !== undefined) {
    if (!bytesEqual(existing.body.digest, vote.body.digest)) {
      reject(
        ctx,
        'CONFLICTING_VOTE',
        `replica ${vote.body.replica} voted twice at (${vote.body.view}, ${vote.body.sequence})`,
      );
    }
    return false;
  }
  votes.set(vote.body.replica, vote);
  return true;
}

/** Prepared = the pre-prepare and 2f matching prepares from distinct backups. True when it just became so. */
export function derivePrepared(ctx: ReplicaContext, entry: LogEntry): boolean {
  if (entry.prepared || entry.prePrepare === undefined) return false;
  const digest = entry.prePrepare.body.digest;
  const matching = [...entry.prepares.values()].filter((p) => bytesEqual(p.body.digest, digest));
  if (matching.length < 2 * ctx.quorums.f) return false;
  entry.prepared = true;
  entry.preparedProof = { prePrepare: entry.prePrepare, prepares: matching.slice(0, 2 * ctx.quorums.f) };
  return true;
}

/** Committed-local = prepared and 2f+1 matching commits. True when it just became so. */
export function deriveCommitted(ctx: ReplicaContext, entry: LogEntry): boolean {
  if (!entry.prepared || entry.prePrepare === undefined || entry.committed !== undefined) return false;
  const digest = entry.prePrepare.body.digest;
  const matching = [...entry.commits.values()].filter((c) => bytesEqual(c.body.digest, digest));
  if (matching.length < ctx.quorums.quorum) return false;
  entry.committed = {
    view: entry.view,
    digest,
    commits: matching.slice(0, ctx.quorums.quorum),
    via: 'protocol',
  };
  return true;
}

/** When the entry has just become prepared, commits to it (logged, then sent). */
export function checkPrepared(ctx: ReplicaContext, entry: LogEntry): void {
  if (!derivePrepared(ctx, entry)) return;
  const digest = (entry.prePrepare as Signed<PrePrepare>).body.digest;
  const commit = sign<Commit>(ctx, {
    type: MessageType.commit,
    view: ctx.view,
    sequence: entry.sequence,
    digest,
    replica: ctx.id,
  });
  entry.commits.set(ctx.id, commit);
  const frame = encodeFrame(commit);
  persistLog(ctx, entry.sequence, frame);
  ctx.out.send.push({ to: { kind: 'replicas' }, type: MessageType.commit, frame });
  checkCommitted(ctx, entry);
}

/**
 * When the entry has just become committed, executes what is ready. A prepared digest that
 * differs from a commit certificate we hold would be a broken quorum intersection: a bug.
 */
function checkCommitted(ctx: ReplicaContext, entry: LogEntry): void {
  if (!entry.prepared || entry.prePrepare === undefined) return;
  const digest = entry.prePrepare.body.digest;
  if (entry.committed !== undefined) {
    assert(
      bytesEqual(entry.committed.digest, digest),
      'prepared a digest that conflicts with a commit certificate',
    );
    return;
  }
  if (deriveCommitted(ctx, entry)) executeReady(ctx);
}
