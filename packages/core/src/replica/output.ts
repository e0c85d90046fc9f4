/** What a step produces: rejections, signed messages to send, records to persist. */
import { signBody } from '../auth.ts';
import { type Batch, type Body, encodeFrame, type Signed } from '../messages.ts';
import type { Outbound, RejectionCode } from '../types.ts';
import type { ReplicaContext } from './context.ts';

export function reject(ctx: ReplicaContext, code: RejectionCode, detail: string): void {
  ctx.rejections[code] = (ctx.rejections[code] ?? 0) + 1;
  ctx.out.rejected.push({ code, detail });
}

export function sign<B extends Body>(ctx: ReplicaContext, body: B): Signed<B> {
  return signBody(body, ctx.crypto, ctx.secretKey);
}

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

export function broadcast(ctx: ReplicaContext, signed: Signed, batches: readonly Batch[] = []): Uint8Array {
  return send(ctx, { kind: 'replicas' }, signed, batches);
}

export function persistLog(ctx: ReplicaContext, sequence: number, frame: Uint8Array): void {
  ctx.out.persist.push({ kind: 'log', sequence, frame });
}

export function persistView(ctx: ReplicaContext): void {
  ctx.out.persist.push({ kind: 'view', view: ctx.view, changing: ctx.mode === 'view-change' });
}
