/**
 * Restart: the replica rebuilt from its durable state (the checkpoint and the log it persisted)
 * inside the constructor, in mode `restoring`.
 */
import { bytesEqual, toHex } from '../codec.ts';
import type { DurableState } from '../durable.ts';
import { assert } from '../errors.ts';
import {
  type Batch,
  type Checkpoint,
  type Commit,
  type Committed,
  decodeFrame,
  type Frame,
  MessageType,
  type NewView,
  type PrePrepare,
  type Prepare,
  type Signed,
  type ViewChange,
} from '../messages.ts';
import { deriveCommitted, derivePrepared, entryFor } from './agreement.ts';
import { recordCheckpoint } from './checkpoints.ts';
import { inWatermarks, low, type ReplicaContext } from './context.ts';
import { executeReady, nullBatchFor } from './execution.ts';
import { installSnapshot } from './snapshot.ts';
import type { LogEntry } from './state.ts';
import { sendViewChange } from './view-change.ts';

/**
 * Rebuilds the replica from its durable state. Every message it signed before the crash is
 * back in its log, so it signs nothing that conflicts: a vote it cast is found, not cast
 * anew, and as primary it proposes only above its last proposal, with timestamps that do not
 * go back. Requests that were pending are not durable; agents retry them.
 */
export function restore(ctx: ReplicaContext, state: DurableState): void {
  const checkpoint = state.checkpoint;
  if (checkpoint !== undefined && checkpoint.sequence > 0) {
    assert(
      bytesEqual(ctx.crypto.hash(checkpoint.snapshot), checkpoint.stateDigest),
      'durable snapshot does not match its digest',
    );
    installSnapshot(ctx, checkpoint.sequence, checkpoint.snapshot);
    ctx.checkpoints.stable = {
      sequence: checkpoint.sequence,
      digest: checkpoint.stateDigest,
      proof: checkpoint.proof,
      snapshot: checkpoint.snapshot,
    };
    ctx.checkpoints.own.set(checkpoint.sequence, {
      digest: checkpoint.stateDigest,
      snapshot: checkpoint.snapshot,
    });
    ctx.requests.nextSequence = checkpoint.sequence + 1;
  }
  for (const record of state.log) {
    const decoded = decodeFrame(record.frame, ctx.decodeLimits, ctx.crypto.hash);
    assert(decoded.ok, `durable log holds an undecodable frame (${decoded.ok ? '' : decoded.reason})`);
    restoreMessage(ctx, decoded.value, record.frame);
  }
  ctx.view = state.view;
  // The log is replayed: the replica resumes the mode it had persisted, and finishes catching up
  // in it (its view-change made again, committed batches executed). Requests are not durable, so
  // none is pending and the primary has nothing to propose; what it would send is discarded.
  assert(
    ctx.requests.pending.size === 0 && ctx.requests.conflicts.size === 0,
    'requests pending during a restore',
  );
  ctx.mode = state.changingView ? 'view-change' : 'normal';
  ctx.returning.left = ctx.mode === 'normal' ? ctx.view : state.leftView;
  ctx.returning.skips = [...state.skips];
  if (ctx.mode === 'view-change' && ctx.viewChange.latest.get(ctx.id)?.signed.body.newView !== ctx.view) {
    sendViewChange(ctx); // ours was garbage-collected with the log: make it again
  }
  executeReady(ctx);
}

/** Puts one durable log record back where the live path would have put it. */
function restoreMessage(ctx: ReplicaContext, frame: Frame, raw: Uint8Array): void {
  const body = frame.body;
  switch (body.type) {
    case MessageType.prePrepare:
      restorePrePrepare(ctx, frame as Frame<PrePrepare>, frame.batches);
      return;
    case MessageType.prepare:
      restoreVote(ctx, body.view, body.sequence, (entry) => {
        if (!entry.prepares.has(body.replica)) entry.prepares.set(body.replica, frame as Signed<Prepare>);
      });
      return;
    case MessageType.commit:
      restoreVote(ctx, body.view, body.sequence, (entry) => {
        if (!entry.commits.has(body.replica)) entry.commits.set(body.replica, frame as Signed<Commit>);
      });
      return;
    case MessageType.checkpoint:
      // Our own checkpoints come back when re-execution takes them again (same bytes).
      if (body.replica !== ctx.id && body.sequence > low(ctx))
        recordCheckpoint(ctx, frame as Signed<Checkpoint>);
      return;
    case MessageType.viewChange:
      restoreViewChange(ctx, frame as Frame<ViewChange>, raw);
      return;
    case MessageType.newView:
      restoreNewView(ctx, frame as Frame<NewView>, raw);
      return;
    case MessageType.committed:
      restoreCommitted(ctx, frame as Frame<Committed>);
      return;
    default:
      return; // requests, replies and fetches are never persisted
  }
}

/** A replica's latest view-change is the one that counts; ours is kept to send again. */
function restoreViewChange(ctx: ReplicaContext, frame: Frame<ViewChange>, raw: Uint8Array): void {
  const body = frame.body;
  const previous = ctx.viewChange.latest.get(body.replica);
  if (previous === undefined || previous.signed.body.newView < body.newView) {
    ctx.viewChange.latest.set(body.replica, {
      signed: frame,
      batches: frame.batches,
    });
  }
  if (body.replica === ctx.id) ctx.viewChange.ownFrame = raw;
}

/** A new-view's proposals are pre-prepares of its view; ours is kept to send again. */
function restoreNewView(ctx: ReplicaContext, frame: Frame<NewView>, raw: Uint8Array): void {
  const body = frame.body;
  for (const prePrepare of body.prePrepares) restorePrePrepare(ctx, prePrepare, frame.batches);
  if (body.replica === ctx.id) ctx.viewChange.newViewFrame = { view: body.view, frame: raw };
  if (body.view > ctx.view) ctx.view = body.view;
}

/** Committed batches fetched with their certificates, to be executed again. */
function restoreCommitted(ctx: ReplicaContext, frame: Frame<Committed>): void {
  for (const item of frame.body.entries) {
    if (!inWatermarks(ctx, item.sequence)) continue;
    const entry = entryFor(ctx, item.sequence);
    const batch = frame.batches.find((b) => bytesEqual(b.digest, item.digest));
    if (batch !== undefined) entry.batches.set(toHex(batch.digest), batch);
    entry.committed ??= { view: item.view, digest: item.digest, commits: item.commits, via: 'fetch' };
  }
}

/** A logged pre-prepare; if it is our own, the next proposal goes above it with a later timestamp. */
function restorePrePrepare(
  ctx: ReplicaContext,
  prePrepare: Signed<PrePrepare>,
  batches: readonly Batch[],
): void {
  const { view, sequence, digest, replica } = prePrepare.body;
  restoreVote(ctx, view, sequence, (entry) => {
    entry.prePrepare ??= prePrepare;
    const batch = batches.find((b) => bytesEqual(b.digest, digest)) ?? nullBatchFor(ctx, digest);
    if (batch !== undefined) entry.batches.set(toHex(batch.digest), batch);
    if (replica === ctx.id) {
      ctx.requests.nextSequence = Math.max(ctx.requests.nextSequence, sequence + 1);
      if (batch !== undefined)
        ctx.requests.lastProposedTimestamp = Math.max(ctx.requests.lastProposedTimestamp, batch.timestamp);
    }
  });
}

/** Applies a logged message of `view` to its entry, then re-derives prepared and committed. */
function restoreVote(
  ctx: ReplicaContext,
  view: number,
  sequence: number,
  apply: (entry: LogEntry) => void,
): void {
  if (!inWatermarks(ctx, sequence)) return;
  if (view > ctx.view) ctx.view = view;
  const entry = entryFor(ctx, sequence);
  if (entry.view !== view) return; // a message of an older view, superseded in the log
  apply(entry);
  // The same rules as the live path, without sending: what we voted is already in the log.
  derivePrepared(ctx, entry);
  deriveCommitted(ctx, entry);
}
