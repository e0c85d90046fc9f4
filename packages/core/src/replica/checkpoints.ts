/**
 * Checkpoints: every `checkpointInterval` sequences a replica signs the digest of its state; 2f+1
 * matching make it stable, the log below it is discarded and the watermark window moves up.
 */
import { bytesEqual, toHex } from '../codec.ts';
import { LIMITS } from '../config.ts';
import { assert } from '../errors.ts';
import { type Checkpoint, encodeFrame, type Frame, MessageType, type Signed } from '../messages.ts';
import { noteSequence } from './agreement.ts';
import { high, low, noteProgress, type ReplicaContext, verifyReplicaSignature } from './context.ts';
import { archiveReceipts } from './execution.ts';
import { persistLog, reject, sign } from './output.ts';
import { propose } from './requests.ts';
import { takeSnapshot } from './snapshot.ts';
import type { StableCheckpoint } from './state.ts';
import { fetchMissing } from './state-transfer.ts';

/** Signs the digest of our state at a checkpoint sequence, keeps the snapshot, and votes for it. */
export function takeCheckpoint(ctx: ReplicaContext, sequence: number): void {
  const snapshot = takeSnapshot(ctx);
  const digest = ctx.crypto.hash(snapshot);
  ctx.checkpoints.own.set(sequence, { digest, snapshot });
  const checkpoint = sign<Checkpoint>(ctx, {
    type: MessageType.checkpoint,
    sequence,
    stateDigest: digest,
    replica: ctx.id,
  });
  const frame = encodeFrame(checkpoint);
  persistLog(ctx, sequence, frame);
  ctx.out.send.push({ to: { kind: 'replicas' }, type: MessageType.checkpoint, frame });
  recordCheckpoint(ctx, checkpoint);
}

/** Another replica's checkpoint vote; one above our window tells us we are behind. */
export function onCheckpoint(ctx: ReplicaContext, frame: Frame<Checkpoint>, raw: Uint8Array): void {
  const checkpoint = frame.body;
  if (checkpoint.sequence <= low(ctx) || checkpoint.sequence % ctx.protocol.checkpointInterval !== 0) {
    reject(
      ctx,
      'STALE_CHECKPOINT',
      `checkpoint ${checkpoint.sequence} at or below ${low(ctx)}, or off the interval`,
    );
    return;
  }
  if (checkpoint.sequence <= high(ctx)) persistLog(ctx, checkpoint.sequence, raw);
  noteSequence(ctx, checkpoint.sequence);
  noteProgress(ctx);
  recordCheckpoint(ctx, frame);
}

/** Counts a checkpoint vote: inside the window by sequence; above it, the few latest per replica. */
export function recordCheckpoint(ctx: ReplicaContext, checkpoint: Signed<Checkpoint>): void {
  const { sequence, replica } = checkpoint.body;
  if (sequence <= high(ctx)) {
    const votes = ctx.checkpoints.votes.get(sequence) ?? new Map<number, Signed<Checkpoint>>();
    if (votes.has(replica)) return;
    votes.set(replica, checkpoint);
    ctx.checkpoints.votes.set(sequence, votes);
    checkStable(ctx, [...votes.values()], sequence);
  } else {
    // Above our window: remember the few latest per replica, to notice that we are behind.
    const ahead = (ctx.checkpoints.ahead.get(replica) ?? []).filter((c) => c.body.sequence !== sequence);
    ahead.push(checkpoint);
    ahead.sort((a, b) => a.body.sequence - b.body.sequence);
    while (ahead.length > LIMITS.aheadCheckpointsPerReplicaMax) ahead.shift();
    ctx.checkpoints.ahead.set(replica, ahead);
    const votes = [...ctx.checkpoints.ahead.values()].flat().filter((c) => c.body.sequence === sequence);
    checkStable(ctx, votes, sequence);
  }
}

/** 2f+1 matching checkpoints make a certificate: stabilise, or, if we are behind, fetch that state. */
function checkStable(ctx: ReplicaContext, votes: readonly Signed<Checkpoint>[], sequence: number): void {
  const proof = largestMatchingSet(ctx, votes);
  if (proof.length < ctx.quorums.quorum) return;
  adoptCheckpointCertificate(
    ctx,
    sequence,
    proof[0]?.body.stateDigest as Uint8Array,
    proof.slice(0, ctx.quorums.quorum),
  );
}

/** The largest group of votes that certify the same state digest. */
function largestMatchingSet(
  _ctx: ReplicaContext,
  votes: readonly Signed<Checkpoint>[],
): Signed<Checkpoint>[] {
  const groups = new Map<string, Signed<Checkpoint>[]>();
  for (const vote of votes) {
    const key = toHex(vote.body.stateDigest);
    const group = groups.get(key) ?? [];
    group.push(vote);
    groups.set(key, group);
  }
  let best: Signed<Checkpoint>[] = [];
  for (const group of groups.values()) if (group.length > best.length) best = group;
  return best;
}

/** A 2f+1 certificate for a checkpoint: stable if we have that state; otherwise the state to fetch. */
export function adoptCheckpointCertificate(
  ctx: ReplicaContext,
  sequence: number,
  digest: Uint8Array,
  proof: readonly Signed<Checkpoint>[],
): void {
  if (sequence <= low(ctx)) return;
  const own = ctx.checkpoints.own.get(sequence);
  if (sequence <= ctx.execution.lastExecuted && own !== undefined && bytesEqual(own.digest, digest)) {
    makeStable(ctx, { sequence, digest, proof, snapshot: own.snapshot });
    return;
  }
  if (sequence <= ctx.execution.lastExecuted && own !== undefined) {
    // 2f+1 replicas, so at least f+1 honest ones, certify a state we do not have.
    reject(ctx, 'INVALID_CERTIFICATE', `our state at ${sequence} differs from a 2f+1 checkpoint certificate`);
  }
  if (ctx.transfer.target === undefined || ctx.transfer.target.sequence < sequence) {
    ctx.transfer.target = { sequence, digest, proof };
    fetchMissing(ctx);
  }
}

/** Moves the window up to a certified checkpoint: the log, votes and snapshots at or below it go. */
export function makeStable(ctx: ReplicaContext, checkpoint: StableCheckpoint): void {
  assert(checkpoint.sequence > low(ctx), 'stable checkpoint must advance');
  assert(checkpoint.sequence <= ctx.execution.lastExecuted, 'stable checkpoint above execution');
  ctx.checkpoints.stable = checkpoint;
  for (const [sequence, entry] of ctx.agreement.log) {
    if (sequence > checkpoint.sequence) continue;
    archiveReceipts(ctx, entry);
    ctx.agreement.log.delete(sequence);
  }
  for (const sequence of ctx.checkpoints.votes.keys())
    if (sequence <= checkpoint.sequence) ctx.checkpoints.votes.delete(sequence);
  for (const sequence of ctx.checkpoints.own.keys())
    if (sequence < checkpoint.sequence) ctx.checkpoints.own.delete(sequence);
  for (const [replica, ahead] of ctx.checkpoints.ahead) {
    const kept = ahead.filter((c) => c.body.sequence > checkpoint.sequence);
    if (kept.length === 0) ctx.checkpoints.ahead.delete(replica);
    else ctx.checkpoints.ahead.set(replica, kept);
  }
  // Checkpoints now inside the moved window count as votes there.
  for (const ahead of [...ctx.checkpoints.ahead.values()]) {
    for (const c of ahead) if (c.body.sequence <= high(ctx)) recordCheckpointVote(ctx, c);
  }
  if (ctx.requests.nextSequence <= checkpoint.sequence) ctx.requests.nextSequence = checkpoint.sequence + 1;
  ctx.out.persist.push({
    kind: 'checkpoint',
    sequence: checkpoint.sequence,
    stateDigest: checkpoint.digest,
    proof: checkpoint.proof,
    snapshot: checkpoint.snapshot,
  });
  propose(ctx);
}

/** Counts a checkpoint vote inside the window without checking for a certificate (see `makeStable`). */
function recordCheckpointVote(ctx: ReplicaContext, checkpoint: Signed<Checkpoint>): void {
  const votes = ctx.checkpoints.votes.get(checkpoint.body.sequence) ?? new Map<number, Signed<Checkpoint>>();
  if (!votes.has(checkpoint.body.replica)) votes.set(checkpoint.body.replica, checkpoint);
  ctx.checkpoints.votes.set(checkpoint.body.sequence, votes);
}

/** Checks a checkpoint certificate; returns the certified digest. */
export function verifyCheckpointProof(
  ctx: ReplicaContext,
  sequence: number,
  proof: readonly Signed<Checkpoint>[],
): Uint8Array | undefined {
  if (proof.length < ctx.quorums.quorum) return undefined;
  const digest = proof[0]?.body.stateDigest as Uint8Array;
  const signers = new Set<number>();
  for (const checkpoint of proof) {
    const body = checkpoint.body;
    if (body.sequence !== sequence || !bytesEqual(body.stateDigest, digest) || signers.has(body.replica))
      return undefined;
    if (!verifyReplicaSignature(ctx, checkpoint)) return undefined;
    signers.add(body.replica);
  }
  return digest;
}
