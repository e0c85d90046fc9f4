/** Invariants of the replica's own state, checked after every step: a failure is a bug. */
import { LIMITS } from '../config.ts';
import { assert } from '../errors.ts';
import { high, low, type ReplicaContext } from './context.ts';

/** Throws an `InvariantError` if the replica broke one of its own bounds. */
export function checkInvariants(ctx: ReplicaContext): void {
  const { lastExecuted } = ctx.execution;
  const window = ctx.protocol.watermarkWindow;
  assert(low(ctx) <= lastExecuted, `stable checkpoint ${low(ctx)} above execution ${lastExecuted}`);
  assert(lastExecuted <= high(ctx), `execution ${lastExecuted} above high watermark ${high(ctx)}`);
  assert(ctx.requests.pending.size <= LIMITS.pendingRequestsMax, 'pending requests over their bound');
  assert(ctx.agreement.log.size <= window, 'log larger than the watermark window');
  assert(ctx.agreement.earlyFrames.length <= 2 * window * ctx.quorums.n, 'future buffer over its bound');
  assert(
    ctx.checkpoints.own.size <= window / ctx.protocol.checkpointInterval + 1,
    'own checkpoints over their bound',
  );
}
