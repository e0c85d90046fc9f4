/**
 * State transfer: a replica that is behind fetches the state at a certified checkpoint, or the
 * committed batches it misses with their commit certificates; and serves other replicas' fetches.
 */
import { bytesEqual, toHex } from '../codec.ts';
import { LIMITS } from '../config.ts';
import {
  type Batch,
  type Committed,
  type CommittedEntry,
  type FetchCommitted,
  type FetchState,
  type Frame,
  MessageType,
  type State,
} from '../messages.ts';
import { entryFor } from './agreement.ts';
import { makeStable, verifyCheckpointProof } from './checkpoints.ts';
import { high, inWatermarks, low, type ReplicaContext, verifyReplicaSignature } from './context.ts';
import { executeReady, nullBatchFor } from './execution.ts';
import { persistLog, reject, send, sign } from './output.ts';
import { installSnapshot } from './snapshot.ts';

/** Asks a peer for what we are missing: the state at a certified checkpoint, or committed batches. */
export function fetchMissing(ctx: ReplicaContext): void {
  if (ctx.now - ctx.transfer.lastFetchAt < ctx.protocol.retryTicks) return;
  ctx.transfer.lastFetchAt = ctx.now;
  const round = ctx.transfer.fetchRound++;
  if (ctx.transfer.target !== undefined && ctx.transfer.target.sequence > ctx.execution.lastExecuted) {
    const signers = ctx.transfer.target.proof.map((c) => c.body.replica).filter((r) => r !== ctx.id);
    const target = signers[round % signers.length] as number;
    send(
      ctx,
      { kind: 'replica', id: target },
      sign<FetchState>(ctx, {
        type: MessageType.fetchState,
        sequence: ctx.transfer.target.sequence,
        replica: ctx.id,
      }),
    );
    return;
  }
  const others = ctx.cluster.replicas.map((r) => r.id).filter((r) => r !== ctx.id);
  const target = others[round % others.length] as number;
  send(
    ctx,
    { kind: 'replica', id: target },
    sign<FetchCommitted>(ctx, {
      type: MessageType.fetchCommitted,
      fromSequence: ctx.execution.lastExecuted + 1,
      replica: ctx.id,
    }),
  );
}

/** Serving fetches costs bandwidth: each peer is served at most once per half retry interval. */
export function rateLimited(ctx: ReplicaContext, replica: number): boolean {
  const last = ctx.transfer.lastServedAt.get(replica);
  if (last !== undefined && ctx.now - last < ctx.protocol.retryTicks / 2) {
    reject(ctx, 'FETCH_RATE_LIMITED', `replica ${replica}`);
    return true;
  }
  ctx.transfer.lastServedAt.set(replica, ctx.now);
  return false;
}

/** A peer asks for the state at a checkpoint: sent if our stable one is as high (rate-limited). */
export function onFetchState(ctx: ReplicaContext, frame: Frame<FetchState>): void {
  const fetch = frame.body;
  if (fetch.replica === ctx.id || rateLimited(ctx, fetch.replica)) return;
  if (ctx.checkpoints.stable.sequence === 0 || ctx.checkpoints.stable.sequence < fetch.sequence) return; // nothing to offer yet
  sendState(ctx, fetch.replica);
}

/** Our stable checkpoint, with its snapshot and certificate. */
function sendState(ctx: ReplicaContext, replica: number): void {
  send(
    ctx,
    { kind: 'replica', id: replica },
    sign<State>(ctx, {
      type: MessageType.state,
      sequence: ctx.checkpoints.stable.sequence,
      snapshot: ctx.checkpoints.stable.snapshot,
      checkpointProof: ctx.checkpoints.stable.proof,
      replica: ctx.id,
    }),
  );
}

/** A snapshot from a peer: installed if it matches a valid 2f+1 checkpoint certificate. */
export function onState(ctx: ReplicaContext, frame: Frame<State>): void {
  const state = frame.body;
  if (state.sequence <= ctx.execution.lastExecuted) {
    reject(ctx, 'STALE_CHECKPOINT', `state at ${state.sequence}, executed ${ctx.execution.lastExecuted}`);
    return;
  }
  const digest = verifyCheckpointProof(ctx, state.sequence, state.checkpointProof);
  if (digest === undefined) {
    reject(ctx, 'INVALID_CERTIFICATE', `state at ${state.sequence} without a valid checkpoint certificate`);
    return;
  }
  if (!bytesEqual(ctx.crypto.hash(state.snapshot), digest)) {
    reject(ctx, 'INVALID_STATE', `snapshot at ${state.sequence} does not match its certificate`);
    return;
  }
  // The snapshot is what 2f+1 replicas (so at least one honest one) certified: from here on,
  // a failure to read it is our bug, not the sender's.
  installSnapshot(ctx, state.sequence, state.snapshot);
  ctx.checkpoints.own.set(state.sequence, { digest, snapshot: state.snapshot });
  if (ctx.transfer.target !== undefined && ctx.transfer.target.sequence <= state.sequence)
    ctx.transfer.target = undefined;
  ctx.out.stateTransfers.push({ sequence: state.sequence, stateDigest: digest });
  makeStable(ctx, {
    sequence: state.sequence,
    digest,
    proof: state.checkpointProof,
    snapshot: state.snapshot,
  });
  executeReady(ctx);
}

/**
 * A peer asks for committed batches from a sequence: sent with their commit certificates, and
 * the stable state too when it asks from below our window.
 */
export function onFetchCommitted(ctx: ReplicaContext, frame: Frame<FetchCommitted>): void {
  const fetch = frame.body;
  if (fetch.replica === ctx.id || rateLimited(ctx, fetch.replica)) return;
  if (fetch.fromSequence <= low(ctx) && ctx.checkpoints.stable.sequence > 0) sendState(ctx, fetch.replica);
  const entries: CommittedEntry[] = [];
  const batches: Batch[] = [];
  for (let sequence = Math.max(fetch.fromSequence, low(ctx) + 1); sequence <= high(ctx); sequence++) {
    if (entries.length === LIMITS.committedBatchesPerFetchMax) break;
    const entry = ctx.agreement.log.get(sequence);
    if (entry?.committed === undefined) break;
    const batch =
      entry.batches.get(toHex(entry.committed.digest)) ?? nullBatchFor(ctx, entry.committed.digest);
    if (batch === undefined) break;
    entries.push({
      sequence,
      view: entry.committed.view,
      digest: entry.committed.digest,
      commits: entry.committed.commits,
    });
    if (batch !== ctx.nullBatch) batches.push(batch);
  }
  if (entries.length === 0) return;
  send(
    ctx,
    { kind: 'replica', id: fetch.replica },
    sign<Committed>(ctx, { type: MessageType.committed, entries, replica: ctx.id }),
    batches,
  );
}

/** Committed batches fetched from a peer: each accepted if its commit certificate is valid. */
export function onCommitted(ctx: ReplicaContext, frame: Frame<Committed>, raw: Uint8Array): void {
  let accepted = false;
  for (const item of frame.body.entries) {
    if (item.sequence <= ctx.execution.lastExecuted) continue;
    if (!inWatermarks(ctx, item.sequence)) {
      reject(
        ctx,
        'OUT_OF_WATERMARKS',
        `committed batch at ${item.sequence} outside (${low(ctx)}, ${high(ctx)}]`,
      );
      continue;
    }
    if (!verifyCommitCertificate(ctx, item)) {
      reject(ctx, 'INVALID_CERTIFICATE', `commit certificate at ${item.sequence}`);
      continue;
    }
    // The certificate vouches for the digest, and so for the batch's request bodies: at least f+1
    // honest replicas checked their signatures before committing.
    const batch =
      frame.batches.find((b) => bytesEqual(b.digest, item.digest)) ?? nullBatchFor(ctx, item.digest);
    if (batch === undefined) {
      reject(ctx, 'MISSING_BATCH', `committed batch at ${item.sequence} without its batch`);
      continue;
    }
    const entry = entryFor(ctx, item.sequence);
    if (entry.committed !== undefined && !bytesEqual(entry.committed.digest, item.digest)) {
      reject(ctx, 'INVALID_CERTIFICATE', `commit certificate at ${item.sequence} conflicts with ours`);
      continue;
    }
    entry.batches.set(toHex(batch.digest), batch);
    entry.committed ??= { view: item.view, digest: item.digest, commits: item.commits, via: 'fetch' };
    accepted = true;
  }
  if (!accepted) return;
  persistLog(ctx, ctx.execution.lastExecuted + 1, raw);
  executeReady(ctx);
}

/** A valid commit certificate: 2f+1 commits from distinct replicas for one (view, sequence, digest). */
function verifyCommitCertificate(ctx: ReplicaContext, item: CommittedEntry): boolean {
  if (item.commits.length < ctx.quorums.quorum) return false;
  const signers = new Set<number>();
  for (const commit of item.commits) {
    const body = commit.body;
    if (body.view !== item.view || body.sequence !== item.sequence || !bytesEqual(body.digest, item.digest))
      return false;
    if (signers.has(body.replica)) return false;
    if (!verifyReplicaSignature(ctx, commit)) return false;
    signers.add(body.replica);
  }
  return true;
}
