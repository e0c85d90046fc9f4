/**
 * Re-sending our own agreement messages when the log stops executing. The network may lose a
 * pre-prepare, prepare or commit — a peer that was not connected yet when it went out, a
 * partition that just healed — and when it lost enough of them that no replica committed a
 * sequence, fetching from peers cannot help: nobody has the certificate. Without this the view
 * would stall until a timer replaced a primary that did nothing wrong. Re-sending a message we
 * already signed is always safe; receivers drop a copy they hold before checking its signature
 * (`redundantVote`, pre-prepares included), so copies cost little and never count as progress.
 */
import { toHex } from '../codec.ts';
import type { ReplicaContext } from './context.ts';
import { broadcast } from './output.ts';
import type { LogEntry } from './state.ts';

/**
 * Sequences above the last executed one re-sent per round. Execution is in order, so the lowest
 * stuck sequences are the ones that matter; later ones follow in later rounds if they stay stuck.
 */
export const RESEND_SEQUENCES_MAX = 8;

/** In normal mode, every `retryTicks` without execution: re-send what we said about the stuck sequences. */
export function resendStuck(ctx: ReplicaContext): void {
  const timers = ctx.timers;
  const retry = ctx.protocol.retryTicks;
  if (ctx.now - timers.lastExecutedAt < retry || ctx.now - timers.lastResentAt < retry) return;
  timers.lastResentAt = ctx.now;
  const first = ctx.execution.lastExecuted + 1;
  for (let sequence = first; sequence < first + RESEND_SEQUENCES_MAX; sequence++) {
    const entry = ctx.agreement.log.get(sequence);
    if (entry !== undefined && entry.view === ctx.view) resendOwn(ctx, entry);
  }
}

/** Our pre-prepare (with its batch), prepare and commit for one sequence, those we sent. */
function resendOwn(ctx: ReplicaContext, entry: LogEntry): void {
  const prePrepare = entry.prePrepare;
  if (prePrepare !== undefined && prePrepare.body.replica === ctx.id) {
    const batch = entry.batches.get(toHex(prePrepare.body.digest));
    if (batch !== undefined) broadcast(ctx, prePrepare, [batch]);
  }
  const prepare = entry.prepares.get(ctx.id);
  if (prepare !== undefined) broadcast(ctx, prepare);
  const commit = entry.commits.get(ctx.id);
  if (commit !== undefined) broadcast(ctx, commit);
}
