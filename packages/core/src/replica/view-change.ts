/**
 * View change, first half: leaving a view. A replica that suspects its primary sends VIEW-CHANGE
 * with its stable checkpoint certificate and a prepared certificate per sequence; f+1 replicas
 * asking for higher views make it join the smallest.
 */
import { bytesEqual, toHex } from '../codec.ts';
import { assert } from '../errors.ts';
import {
  type Batch,
  type Frame,
  MessageType,
  type PreparedProof,
  type Signed,
  type ViewChange,
} from '../messages.ts';
import { adoptCheckpointCertificate, verifyCheckpointProof } from './checkpoints.ts';
import { low, primaryOf, type ReplicaContext, verifyReplicaSignature } from './context.ts';
import { maybeSendNewView } from './new-view.ts';
import { broadcast, persistLog, persistView, reject, sign } from './output.ts';
import { firstUnskipped, restartReturn } from './return.ts';
import type { StoredViewChange } from './state.ts';
import { forgetSuspicionsBelow, sendNewViewTo } from './suspicion.ts';

/**
 * Leaves the current view for `newView` (or the first view above it we have not skipped, see
 * `return.ts`): from here nothing is ordered until its NEW-VIEW.
 */
export function startViewChange(ctx: ReplicaContext, newView: number): void {
  assert(newView > ctx.view, 'view change must move forward');
  ctx.view = firstUnskipped(ctx, newView);
  ctx.mode = 'view-change';
  ctx.viewChange.streak = Math.min(ctx.viewChange.streak + 1, ctx.protocol.viewChangeBackoffMax);
  ctx.viewChange.armedAt = undefined;
  ctx.timers.heardFromPrimary = false;
  ctx.agreement.earlyFrames = ctx.agreement.earlyFrames.filter((item) => item.view >= ctx.view);
  forgetSuspicionsBelow(ctx, ctx.view);
  restartReturn(ctx);
  persistView(ctx);
  sendViewChange(ctx);
}

/** Signs, records, persists and broadcasts our view-change for the view we are changing into. */
export function sendViewChange(ctx: ReplicaContext): void {
  const newView = ctx.view;
  const prepared: PreparedProof[] = [];
  const batches: Batch[] = [];
  for (const entry of [...ctx.agreement.log.values()].sort((a, b) => a.sequence - b.sequence)) {
    if (entry.preparedProof === undefined) continue;
    prepared.push(entry.preparedProof);
    const batch = entry.batches.get(toHex(entry.preparedProof.prePrepare.body.digest));
    if (batch !== undefined) batches.push(batch);
  }
  const viewChange = sign<ViewChange>(ctx, {
    type: MessageType.viewChange,
    newView,
    stableSequence: ctx.checkpoints.stable.sequence,
    checkpointProof: ctx.checkpoints.stable.proof,
    prepared,
    replica: ctx.id,
  });
  ctx.viewChange.latest.set(ctx.id, { signed: viewChange, batches });
  ctx.viewChange.validated.add(toHex(ctx.crypto.hash(viewChange.bytes)));
  const frame = broadcast(ctx, viewChange, batches);
  ctx.viewChange.ownFrame = frame;
  ctx.viewChange.sentAt = ctx.now;
  persistLog(ctx, low(ctx), frame);
  maybeArmViewChangeTimer(ctx);
  maybeSendNewView(ctx);
}

/**
 * A replica's view-change: recorded if valid; f+1 for higher views make us join; 2f+1 arm the
 * timer, and the new primary sends NEW-VIEW.
 */
export function onViewChange(ctx: ReplicaContext, frame: Frame<ViewChange>): void {
  const viewChange = frame.body;
  // A replica still changing into our view, or into an older one (it restarted, or was cut
  // off), missed the NEW-VIEW of the view we are in: any replica that holds it sends it (not only
  // the primary, which may be the one that never sent it to everyone).
  if (viewChange.newView <= ctx.view && ctx.mode === 'normal') sendNewViewTo(ctx, viewChange.replica);
  if (viewChange.newView < ctx.view) {
    reject(ctx, 'STALE_VIEW', `view-change to ${viewChange.newView}, in view ${ctx.view}`);
    return;
  }
  if (viewChange.newView === ctx.view && ctx.mode === 'normal') return;
  const previous = ctx.viewChange.latest.get(viewChange.replica);
  if (previous !== undefined && previous.signed.body.newView >= viewChange.newView) return;
  if (!validateViewChange(ctx, frame)) {
    reject(ctx, 'INVALID_VIEW_CHANGE', `from ${viewChange.replica} to view ${viewChange.newView}`);
    return;
  }
  ctx.viewChange.latest.set(viewChange.replica, { signed: frame, batches: frame.batches });
  if (viewChange.stableSequence > low(ctx) && viewChange.checkpointProof[0] !== undefined) {
    adoptCheckpointCertificate(
      ctx,
      viewChange.stableSequence,
      viewChange.checkpointProof[0].body.stateDigest,
      viewChange.checkpointProof,
    );
  }
  // Join: f+1 replicas want a view above ours, so at least one honest replica does.
  const above = [...ctx.viewChange.latest.values()]
    .map((stored) => stored.signed.body)
    .filter((vc) => vc.replica !== ctx.id && vc.newView > ctx.view);
  if (above.length >= ctx.quorums.weak) {
    const smallest = Math.min(...above.map((vc) => vc.newView));
    startViewChange(ctx, smallest);
    return;
  }
  maybeArmViewChangeTimer(ctx);
  maybeSendNewView(ctx);
}

/** Checks a view-change's certificates: the checkpoint proof and every prepared proof. */
export function validateViewChange(ctx: ReplicaContext, signed: Signed<ViewChange>): boolean {
  const key = toHex(ctx.crypto.hash(signed.bytes));
  if (ctx.viewChange.validated.has(key)) return true;
  const viewChange = signed.body;
  if (viewChange.stableSequence > 0) {
    if (verifyCheckpointProof(ctx, viewChange.stableSequence, viewChange.checkpointProof) === undefined)
      return false;
  } else if (viewChange.checkpointProof.length !== 0) return false;
  const sequences = new Set<number>();
  for (const proof of viewChange.prepared) {
    const prePrepare = proof.prePrepare.body;
    const { view, sequence, digest } = prePrepare;
    if (
      sequence <= viewChange.stableSequence ||
      sequence > viewChange.stableSequence + ctx.protocol.watermarkWindow
    )
      return false;
    if (view >= viewChange.newView || sequences.has(sequence)) return false;
    sequences.add(sequence);
    const primary = primaryOf(ctx, view);
    if (prePrepare.replica !== primary || !verifyReplicaSignature(ctx, proof.prePrepare)) return false;
    const signers = new Set<number>();
    for (const prepare of proof.prepares) {
      const body = prepare.body;
      if (body.view !== view || body.sequence !== sequence || !bytesEqual(body.digest, digest)) return false;
      if (body.replica === primary || signers.has(body.replica) || !verifyReplicaSignature(ctx, prepare))
        return false;
      signers.add(body.replica);
    }
    if (signers.size < 2 * ctx.quorums.f) return false;
  }
  if (ctx.viewChange.validated.size >= 4 * ctx.quorums.n) ctx.viewChange.validated.clear();
  ctx.viewChange.validated.add(key);
  return true;
}

/** The view-changes we hold for a view, by replica. */
export function viewChangesFor(ctx: ReplicaContext, view: number): StoredViewChange[] {
  return [...ctx.viewChange.latest.values()]
    .filter((stored) => stored.signed.body.newView === view)
    .sort((a, b) => a.signed.body.replica - b.signed.body.replica);
}

/**
 * The view-change timer starts once 2f+1 replicas have left the views below ours. A replica
 * whose latest view-change names a view above ours has left them too: only its latest is kept,
 * and not counting it could leave honest replicas split across two view changes forever.
 */
function maybeArmViewChangeTimer(ctx: ReplicaContext): void {
  if (ctx.mode !== 'view-change' || ctx.viewChange.armedAt !== undefined) return;
  let atOrAbove = 0;
  for (const stored of ctx.viewChange.latest.values())
    if (stored.signed.body.newView >= ctx.view) atOrAbove++;
  if (atOrAbove >= ctx.quorums.quorum) ctx.viewChange.armedAt = ctx.now;
}
