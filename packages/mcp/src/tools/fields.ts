/**
 * The input fields of the tools, derived from the coordination limits the cluster enforces, so
 * that a value the MCP server accepts is one the cluster accepts too, and one it refuses is
 * refused with the cluster's own words (field and bound). Sizes are UTF-8 bytes, as the cluster
 * counts them; durations in seconds are bounded by what they become in ticks.
 */
import { type CoordinationLimits, validateText } from '@conclave/coordination';
import { LIMITS } from '@conclave/core';
import { z } from 'zod';
import { secondsMaxOf, ticksOf } from '../ticks.ts';

/** A zod error callback sees the refused input. */
type Refused = { readonly input?: unknown };

/**
 * A string of bytesMin..bytesMax UTF-8 bytes, checked by the cluster's own `validateText`. The
 * character bounds are implied by the byte bounds (every UTF-16 unit is at least one UTF-8
 * byte); they are there so that the JSON schema shows the model the bound.
 */
export function utf8Text(field: string, bytesMax: number, bytesMin = 1): z.ZodString {
  const refusal = (value: unknown) => validateText(String(value), field, bytesMax, bytesMin);
  const error = (issue: Refused) => refusal(issue.input);
  return z
    .string()
    .min(bytesMin, { abort: true, error })
    .max(bytesMax, { abort: true, error })
    .superRefine((value, ctx) => {
      const message = refusal(value);
      if (message !== undefined) ctx.addIssue({ code: 'custom', message });
    });
}

/** An integer in min..max, refused in the cluster's words. */
export function integerIn(field: string, min: number, max: number): z.ZodNumber {
  const error = `${field} must be an integer in ${min}..${max}`;
  return z.number().int({ abort: true, error }).min(min, { error }).max(max, { error });
}

/** An array of min..max items, refused in the cluster's words. */
export function listOf<T extends z.ZodType>(item: T, field: string, min: number, max: number): z.ZodArray<T> {
  const error = (issue: Refused) =>
    `${field} must have ${min}..${max} items, got ${Array.isArray(issue.input) ? issue.input.length : '?'}`;
  return z.array(item).min(min, { error }).max(max, { error });
}

/**
 * Base64 of bytesMin..bytesMax bytes. Bounds the decoded bytes, which is what the cluster
 * receives, not the text.
 */
export function base64Of(field: string, bytesMin: number, bytesMax: number, bound: string): z.ZodString {
  const size = (value: unknown) => Buffer.from(String(value), 'base64').byteLength;
  const range = bytesMin === bytesMax ? `${bytesMin}` : `${bytesMin}..${bytesMax}`;
  const error = (issue: Refused) =>
    `${field} must decode to ${range} bytes (${bound}), got ${size(issue.input)}`;
  return z
    .string()
    .min(1)
    .refine((value) => size(value) >= bytesMin && size(value) <= bytesMax, { error });
}

/**
 * A positive duration in seconds that is at most `ticksMax` ticks once rounded up to ticks, as
 * the tool sends it. Checked on the ticks, so float rounding in the seconds bound cannot let a
 * value through that the cluster refuses.
 */
export function secondsUpTo(field: string, ticksMax: number, bound: string, tickMs: number): z.ZodNumber {
  const secondsMax = secondsMaxOf(ticksMax, tickMs);
  const error = `${field} must be at most ${secondsMax} s: the cluster takes at most ${ticksMax} ticks of ${tickMs} ms (${bound})`;
  return z
    .number()
    .positive()
    .max(secondsMax, { abort: true, error })
    .refine((seconds) => ticksOf(seconds, tickMs) <= ticksMax, { error });
}

/** The fields several tools share, bound to this server's limits and tick. */
export function fieldsFor(limits: CoordinationLimits, tickMs: number) {
  return {
    limits,
    tickMs,
    /** A proposal id; `field` names it in a refusal when it is called otherwise (a page cursor). */
    proposalId: (what: string, field = 'proposalId') =>
      utf8Text(field, limits.proposalIdBytesMax).describe(what),
    taskId: (what: string) => utf8Text('taskId', limits.taskIdBytesMax).describe(what),
    /** An agent id: core bounds them for the whole cluster, not the coordination limits. */
    agentId: (field: string, what: string) => utf8Text(field, LIMITS.agentIdBytesMax).describe(what),
    candidate: () => utf8Text('candidate', limits.candidateBytesMax),
    /** Default `linearizable`: a read ordered like a write. */
    consistency: z
      .enum(['linearizable', 'quorum', 'local'])
      .default('linearizable')
      .describe(
        'linearizable (default): ordered like a write, sees every earlier write. quorum: 2f+1 replicas agree, faster, may miss a write in flight. local: one replica, may be stale or lie.',
      ),
  };
}

/** The shared fields, as tools receive them. */
export type Fields = ReturnType<typeof fieldsFor>;
