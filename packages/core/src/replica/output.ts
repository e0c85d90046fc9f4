/** What a step produces: rejections, signed messages to send, records to persist. */
import { signBody } from '../auth.ts';
import { type Batch, type Body, encodeFrame, type Signed } from '../messages.ts';
import type { Outbound, RejectionCode } from '../types.ts';
import type { ReplicaContext } from './context.ts';

/** Drops an input with a typed reason, counted. */
export function reject(ctx: ReplicaContext, code: RejectionCode, detail: string): void {
  ctx.rejections[code] = (ctx.rejections[code] ?? 0) + 1;
  ctx.out.rejected.push({ code, detail });
}

/** Signs a message body with this replica's key. */
export function sign<B extends Body>(ctx: ReplicaContext, body: B): Signed<B> {
  return signBody(body, ctx.crypto, ctx.secretKey);
}

/**
 * Encodes a signed message (with its batches) into a frame queued for `to`; returns the frame,
 * which view changes keep to send again.
 */
export function send(
  ctx: ReplicaContext,
  to: Outbound['to'],
  signed: Signed,
  batches: readonly Batch[] = [],
): Uint8Array {
  const frame = encodeFrame(signed, batches);
  ctx.out.send.push({ to, type: signed.body.type, frame });
  return frame;
}

/** Sends to every other replica. */
export function broadcast(ctx: ReplicaContext, signed: Signed, batches: readonly Batch[] = []): Uint8Array {
  return send(ctx, { kind: 'replicas' }, signed, batches);
}

/** A message for the durable log: the host persists it before anything of the same step is sent. */
export function persistLog(ctx: ReplicaContext, sequence: number, frame: Uint8Array): void {
  ctx.out.persist.push({ kind: 'log', sequence, frame });
}

/** The view and mode, for the durable state (a restart resumes a view change). */
export function persistView(ctx: ReplicaContext): void {
  ctx.out.persist.push({
    kind: 'view',
    view: ctx.view,
    changing: ctx.mode === 'view-change',
    left: ctx.returning.left,
  });
}
