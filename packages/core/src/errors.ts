/**
 * A broken invariant of our own state: a bug, never bad input from a peer or an agent (that is
 * answered with a counted rejection). The process that sees one stops rather than go on wrong.
 */
export class InvariantError extends Error {
  readonly code = 'INVARIANT';
  constructor(message: string) {
    super(message);
    this.name = 'InvariantError';
  }
}

/** Throws an `InvariantError` with `message` unless `condition` holds. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}
