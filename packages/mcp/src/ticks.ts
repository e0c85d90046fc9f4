/** Seconds, as models give durations, to ticks of the cluster's agreed time, as the cluster counts them. */

/** Milliseconds per tick when the cluster does not say (the daemons' default). */
export const DEFAULT_TICK_MS = 10;

/** The longest duration, in seconds, that is at most `ticksMax` ticks. */
export function secondsMaxOf(ticksMax: number, tickMs: number): number {
  return (ticksMax * tickMs) / 1000;
}

/** The ticks a duration of `seconds` spans, rounded up (at least 1, so a deadline is never "now"). */
export function ticksOf(seconds: number, tickMs: number): number {
  return Math.max(1, Math.ceil((seconds * 1000) / tickMs));
}
