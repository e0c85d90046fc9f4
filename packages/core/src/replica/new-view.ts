/**
 * View change, second half: entering the view. The new primary sends NEW-VIEW with 2f+1
 * view-changes and the pre-prepares they imply; every backup recomputes those and accepts
 * nothing else.
 */
import { bytesEqual, toHex } from '../codec.ts';
import {
  type Batch,
  type Frame,
  MessageType,
  type NewView,
  type PrePrepare,
  type Signed,
  type ViewChange,
} from '../messages.ts';
import { checkPrepared, entryFor, noteSequence, sendPrepare } from './agreement.ts';
import { adoptCheckpointCertificate } from './checkpoints.ts';
import {
  inWatermarks,
  isPrimary,
  low,
  primaryOf,
  type ReplicaContext,
  requestKey,
  verifyReplicaSignature,
} from './context.ts';
import { nullBatchFor } from './execution.ts';
import { broadcast, persistLog, persistView, reject, sign } from './output.ts';
import { forwardConflict, propose } from './requests.ts';
import { isSkipped, onNewViewToReturnTo } from './return.ts';
import { forgetSuspicionsBelow } from './suspicion.ts';
import { validateViewChange, viewChangesFor } from './view-change.ts';

/**
 * What NEW-VIEW must re-propose, computed from the view-changes alone, so that backups can
 * recompute it: for every sequence between the highest stable checkpoint and the highest
 * prepared sequence, the digest prepared in the highest view, or the null batch.
 */
function computeNewView(
  ctx: ReplicaContext,
  viewChanges: readonly ViewChange[],
): {
  minSequence: number;
  proposals: { sequence: number; digest: Uint8Array }[];
} {
  let minSequence = 0;
  for (const vc of viewChanges) minSequence = Math.max(minSequence, vc.stableSequence);
  let maxSequence = minSequence;
  const best = new Map<number, { view: number; digest: Uint8Array }>();
  for (const vc of viewChanges) {
    for (const proof of vc.prepared) {
      const { sequence, view, digest } = proof.prePrepare.body;
      if (sequence <= minSequence) continue;
      maxSequence = Math.max(maxSequence, sequence);
      const current = best.get(sequence);
      if (
        current === undefined ||
        view > current.view ||
        (view === current.view && toHex(digest) < toHex(current.digest))
      ) {
        best.set(sequence, { view, digest });
      }
    }
  }
  const proposals: { sequence: number; digest: Uint8Array }[] = [];
  for (let sequence = minSequence + 1; sequence <= maxSequence; sequence++) {
    proposals.push({ sequence, digest: best.get(sequence)?.digest ?? ctx.nullBatch.digest });
  }
  return { minSequence, proposals };
}

/**
 * The new primary, once it holds 2f+1 view-changes (its own among them), sends NEW-VIEW and
 * enters the view.
 */
export function maybeSendNewView(ctx: ReplicaContext): void {
  if (ctx.mode !== 'view-change' || !isPrimary(ctx)) return;
  const stored = viewChangesFor(ctx, ctx.view);
  if (stored.length < ctx.quorums.quorum) return;
  const own = stored.find((s) => s.signed.body.replica === ctx.id);
  if (own === undefined) return;
  const chosen = [own, ...stored.filter((s) => s !== own)].slice(0, ctx.quorums.quorum);
  const { proposals } = computeNewView(
    ctx,
    chosen.map((s) => s.signed.body),
  );
  const knownBatches = new Map<string, Batch>();
  for (const s of chosen) for (const batch of s.batches) knownBatches.set(toHex(batch.digest), batch);
  for (const entry of ctx.agreement.log.values())
    for (const [key, batch] of entry.batches) knownBatches.set(key, batch);
  const prePrepares: Signed<PrePrepare>[] = [];
  const batches: Batch[] = [];
  for (const { sequence, digest } of proposals) {
    prePrepares.push(
      sign<PrePrepare>(ctx, {
        type: MessageType.prePrepare,
        view: ctx.view,
        sequence,
        digest,
        replica: ctx.id,
      }),
    );
    const batch = knownBatches.get(toHex(digest));
    if (batch !== undefined && !bytesEqual(digest, ctx.nullBatch.digest)) batches.push(batch);
  }
  const newView = sign<NewView>(ctx, {
    type: MessageType.newView,
    view: ctx.view,
    viewChanges: chosen.map((s) => s.signed),
    prePrepares,
    replica: ctx.id,
  });
  const frame = broadcast(ctx, newView, batches);
  ctx.viewChange.newViewFrame = { view: ctx.view, frame };
  persistLog(ctx, low(ctx), frame);
  enterView(
    ctx,
    newView,
    batches,
    chosen.map((s) => s.signed.body),
  );
}

/** A backup checks a NEW-VIEW by recomputing it from its view-changes, then enters the view. */
export function onNewView(ctx: ReplicaContext, frame: Frame<NewView>, raw: Uint8Array): void {
  const newView = frame.body;
  if (newView.view < ctx.view && onNewViewToReturnTo(ctx, frame, raw)) return;
  if (newView.view < ctx.view || (newView.view === ctx.view && ctx.mode === 'normal')) {
    reject(ctx, 'STALE_VIEW', `new-view for ${newView.view}, in view ${ctx.view}`);
    return;
  }
  if (checkNewView(ctx, frame)) acceptNewView(ctx, frame, raw);
}

/**
 * Whether a NEW-VIEW is one we may enter its view by: from that view's primary, for a view we
 * have not skipped, with 2f+1 valid view-changes and exactly the proposals they imply (rejected
 * with the reason otherwise).
 */
export function checkNewView(ctx: ReplicaContext, frame: Frame<NewView>): boolean {
  const newView = frame.body;
  if (newView.replica !== primaryOf(ctx, newView.view)) {
    reject(ctx, 'NOT_PRIMARY', `new-view for ${newView.view} from ${newView.replica}`);
    return false;
  }
  if (isSkipped(ctx, newView.view)) {
    reject(ctx, 'SKIPPED_VIEW', `new-view for ${newView.view}: we never enter it (return)`);
    return false;
  }
  if (!hasQuorumOfViewChanges(ctx, newView)) return false;
  // Recompute what the new primary had to propose, and accept nothing else.
  if (!proposesWhatViewChangesImply(ctx, newView)) {
    reject(ctx, 'INVALID_NEW_VIEW', `new-view ${newView.view} proposals differ from the recomputation`);
    return false;
  }
  return true;
}

/** Enters the view of a NEW-VIEW that `checkNewView` accepted. */
export function acceptNewView(ctx: ReplicaContext, frame: Frame<NewView>, raw: Uint8Array): void {
  ctx.view = frame.body.view;
  // Kept to hand to a replica that missed it: a NEW-VIEW proves itself, whoever relays it.
  ctx.viewChange.newViewFrame = { view: frame.body.view, frame: raw };
  enterView(
    ctx,
    frame,
    frame.batches,
    frame.body.viewChanges.map((vc) => vc.body),
  );
}

/** 2f+1 valid view-changes for the new view from distinct replicas; rejects the new-view otherwise. */
function hasQuorumOfViewChanges(ctx: ReplicaContext, newView: NewView): boolean {
  const signers = new Set<number>();
  for (const viewChange of newView.viewChanges) {
    const body = viewChange.body;
    if (
      body.newView !== newView.view ||
      signers.has(body.replica) ||
      !verifyReplicaSignature(ctx, viewChange) ||
      !validateViewChange(ctx, viewChange)
    ) {
      reject(ctx, 'INVALID_NEW_VIEW', `view-change from ${body.replica} in new-view ${newView.view}`);
      return false;
    }
    signers.add(body.replica);
  }
  if (signers.size < ctx.quorums.quorum) {
    reject(ctx, 'INVALID_NEW_VIEW', `new-view ${newView.view} with ${signers.size} view-changes`);
    return false;
  }
  return true;
}

/** Whether the new-view's pre-prepares are exactly those its view-changes imply, signed by its primary. */
function proposesWhatViewChangesImply(ctx: ReplicaContext, newView: NewView): boolean {
  const { proposals } = computeNewView(
    ctx,
    newView.viewChanges.map((vc) => vc.body),
  );
  return (
    proposals.length === newView.prePrepares.length &&
    proposals.every((expected, index) => {
      const prePrepare = newView.prePrepares[index] as Signed<PrePrepare>;
      const body = prePrepare.body;
      return (
        body.view === newView.view &&
        body.replica === newView.replica &&
        body.sequence === expected.sequence &&
        bytesEqual(body.digest, expected.digest) &&
        verifyReplicaSignature(ctx, prePrepare)
      );
    })
  );
}

/**
 * Enters the view whose NEW-VIEW we sent or accepted: its proposals are prepared like any
 * pre-prepare, request timers start afresh, and messages that came early for it are handled now.
 */
export function enterView(
  ctx: ReplicaContext,
  newView: Signed<NewView>,
  batches: readonly Batch[],
  viewChanges: readonly ViewChange[],
): void {
  ctx.mode = 'normal';
  ctx.returning.left = ctx.view;
  ctx.viewChange.armedAt = undefined;
  ctx.timers.heardFromPrimary = true; // its new-view is a message from it
  ctx.timers.viewEnteredAt = ctx.now;
  forgetSuspicionsBelow(ctx, ctx.view);
  persistView(ctx);
  adoptHighestCheckpoint(ctx, viewChanges);
  restartRequestTimers(ctx);
  const maxSequence = acceptProposals(ctx, newView.body.prePrepares, batches);
  ctx.requests.nextSequence = Math.max(maxSequence, low(ctx)) + 1;
  ctx.timers.lastProgressSeenAt = ctx.now;
  ctx.timers.lastProposalAt = ctx.now;
  // Messages that arrived early for this view are now current.
  const buffered = ctx.agreement.earlyFrames.filter((item) => item.view === ctx.view);
  ctx.agreement.earlyFrames = ctx.agreement.earlyFrames.filter((item) => item.view > ctx.view);
  for (const item of buffered) ctx.dispatch(item.frame, item.raw);
  propose(ctx);
}

/** Adopts the highest stable checkpoint among the view-changes: the new view starts above it. */
function adoptHighestCheckpoint(ctx: ReplicaContext, viewChanges: readonly ViewChange[]): void {
  const highest = viewChanges.reduce<ViewChange | undefined>(
    (best, vc) => (best === undefined || vc.stableSequence > best.stableSequence ? vc : best),
    undefined,
  );
  if (
    highest !== undefined &&
    highest.stableSequence > low(ctx) &&
    highest.checkpointProof[0] !== undefined
  ) {
    adoptCheckpointCertificate(
      ctx,
      highest.stableSequence,
      highest.checkpointProof[0].body.stateDigest,
      highest.checkpointProof,
    );
  }
}

/**
 * Pending requests and unordered evidence wait for the new primary from now on: their timers
 * restart, and backups send the evidence again (the new primary may never have had it).
 */
function restartRequestTimers(ctx: ReplicaContext): void {
  for (const pending of ctx.requests.pending.values()) {
    pending.assigned = undefined;
    pending.receivedAt = ctx.now;
  }
  for (const conflict of ctx.requests.conflicts.values()) {
    conflict.assigned = undefined;
    conflict.since = ctx.now;
    if (!isPrimary(ctx)) forwardConflict(ctx, conflict);
  }
}

/**
 * Takes the new view's pre-prepares into the log (those inside our window) and votes on them.
 * Returns the highest sequence proposed, or the low watermark as it was before.
 */
function acceptProposals(
  ctx: ReplicaContext,
  prePrepares: readonly Signed<PrePrepare>[],
  batches: readonly Batch[],
): number {
  let maxSequence = low(ctx);
  for (const prePrepare of prePrepares) {
    const sequence = prePrepare.body.sequence;
    maxSequence = Math.max(maxSequence, sequence);
    if (!inWatermarks(ctx, sequence)) continue;
    const entry = entryFor(ctx, sequence);
    entry.prePrepare = prePrepare;
    const batch =
      batches.find((b) => bytesEqual(b.digest, prePrepare.body.digest)) ??
      nullBatchFor(ctx, prePrepare.body.digest);
    if (batch !== undefined) {
      entry.batches.set(toHex(batch.digest), batch);
      for (const request of batch.requests) {
        const pending = ctx.requests.pending.get(requestKey(request.body.agent, request.body.requestId));
        if (pending !== undefined) pending.assigned = sequence;
      }
    }
    noteSequence(ctx, sequence);
    sendPrepare(ctx, entry);
    checkPrepared(ctx, entry);
  }
  return maxSequence;
}
