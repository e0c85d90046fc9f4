/**
 * The input fields tools share, built once per server so that every tool states a field the
 * same way.
 */
import { z } from 'zod';

/** The shared fields, by what they hold. */
export interface Fields {
  /** A proposal or task id. */
  id(what: string): z.ZodString;
  /** How a read is answered. */
  readonly consistency: z.ZodDefault<
    z.ZodEnum<{ linearizable: 'linearizable'; quorum: 'quorum'; local: 'local' }>
  >;
}

export function fieldsFor(): Fields {
  return {
    id: (what) => z.string().min(1).max(128).describe(what),
    consistency: z
      .enum(['linearizable', 'quorum', 'local'])
      .default('linearizable')
      .describe(
        'linearizable (default): ordered like a write, sees every earlier write. quorum: 2f+1 replicas agree, faster, may miss a write in flight. local: one replica, may be stale or lie.',
      ),
  };
}
