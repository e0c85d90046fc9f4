/**
 * Every failure of an SDK call is a `ConclaveError` with a stable `code`; subclasses let a
 * caller `catch` one kind. Messages say what happened and, where it helps, what to do.
 */
export type ConclaveErrorCode =
  | 'TIMEOUT'
  | 'ABORTED'
  | 'REJECTED'
  | 'NO_QUORUM'
  | 'INVALID_SIGNATURE'
  | 'INVALID_RECEIPT'
  | 'NOT_CONNECTED'
  | 'CLOSED'
  | 'INVALID_ARGUMENT'
  | 'EVENTS_LOST'
  | 'QUOTA'
  | 'FORBIDDEN'
  | 'UNKNOWN_AGENT'
  | 'REVOKED_KEY'
  | 'SEAL_MISMATCH';

/** The base of every SDK error; `code` is stable and safe to branch on. */
export class ConclaveError extends Error {
  readonly code: ConclaveErrorCode;
  constructor(code: ConclaveErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConclaveError';
    this.code = code;
  }
}

/** The answers a call needs (f+1 matching replies, 2f+1 for a quorum read, one valid receipt) did not arrive within its timeout. */
export class TimeoutError extends ConclaveError {
  constructor(message: string) {
    super('TIMEOUT', message);
    this.name = 'TimeoutError';
  }
}

/** The caller's AbortSignal fired. The request may still execute; its id is never reused. */
export class AbortedError extends ConclaveError {
  constructor(message: string, cause?: unknown) {
    super('ABORTED', message, { cause });
    this.name = 'AbortedError';
  }
}

/**
 * The cluster executed the request and the state machine refused it (a typed application
 * error: a version mismatch, a forbidden action…). `reason` is the state machine's code.
 */
export class RejectedError extends ConclaveError {
  readonly reason: string;
  /** `code` is REJECTED, or for the refusals with their own class (QUOTA, FORBIDDEN) that code. */
  constructor(reason: string, message: string, code: ConclaveErrorCode = 'REJECTED') {
    super(code, message);
    this.name = 'RejectedError';
    this.reason = reason;
  }
}

/**
 * The state machine refused the request because one of the caller's per-agent quotas is used up
 * (`resource`: 'kv-keys', 'kv-bytes', 'locks', 'tasks', 'claims', 'open-proposals',
 * 'retained-proposals' or 'events'). Free some of it (delete keys, release locks…) or wait.
 */
export class QuotaError extends RejectedError {
  readonly resource: string;
  constructor(resource: string, message: string) {
    super('QUOTA', message, 'QUOTA');
    this.name = 'QuotaError';
    this.resource = resource;
  }
}

/** The state machine refused the request: the caller may not do this (e.g. write another agent's kv key without a grant). */
export class ForbiddenError extends RejectedError {
  constructor(message: string) {
    super('FORBIDDEN', message, 'FORBIDDEN');
    this.name = 'ForbiddenError';
  }
}

/** The SDK error for a state machine's refusal: `QuotaError`, `ForbiddenError`, or `RejectedError`. */
export function refusalError(code: string, message: string, resource?: string): RejectedError {
  if (code === 'QUOTA') return new QuotaError(resource ?? 'unknown', message);
  if (code === 'FORBIDDEN') return new ForbiddenError(message);
  return new RejectedError(code, message);
}

/**
 * The cluster does not accept this agent's key any more: `UNKNOWN_AGENT` when the agent is not
 * registered (it was removed, revoked itself, or never joined), `REVOKED_KEY` when it is but
 * its key in force is another (rotated). Refused by the replicas' ordered log (the request did
 * not execute) or by their transport (the connection was refused or closed).
 */
export class MembershipError extends ConclaveError {
  constructor(code: 'UNKNOWN_AGENT' | 'REVOKED_KEY', message: string) {
    super(code, message);
    this.name = 'MembershipError';
  }
}

/**
 * Checked locally, before anything was sent: the ballot (choice, reason, confidence) and salt
 * given to a sealed `vote`/`reveal` do not reproduce this agent's commitment on the proposal (or
 * differ from the ballot it already revealed). Sending it would have excluded the agent and left
 * evidence against it (REVEAL_MISMATCH or EQUIVOCATION); nothing was sent, so nothing was recorded.
 * Reveal the ballot that was committed, with the same salt: after a key rotation, the salt
 * `commit()` returned (the derived one depends on the key).
 */
export class SealMismatchError extends ConclaveError {
  readonly proposalId: string;
  constructor(proposalId: string, message: string) {
    super('SEAL_MISMATCH', message);
    this.name = 'SealMismatchError';
    this.proposalId = proposalId;
  }
}

/** Replicas answered, but not enough of them agreed (e.g. 2f+1 for a quorum read) in time. */
export class NoQuorumError extends ConclaveError {
  constructor(message: string) {
    super('NO_QUORUM', message);
    this.name = 'NoQuorumError';
  }
}

/** Answers whose authenticator did not check arrived from more than f replicas: something is wrong with the cluster config or the network. */
export class InvalidSignatureError extends ConclaveError {
  constructor(message: string) {
    super('INVALID_SIGNATURE', message);
    this.name = 'InvalidSignatureError';
  }
}

/** A receipt did not verify against the cluster's public keys. */
export class InvalidReceiptError extends ConclaveError {
  constructor(message: string) {
    super('INVALID_RECEIPT', message);
    this.name = 'InvalidReceiptError';
  }
}

/** The client was closed. */
export class ClosedError extends ConclaveError {
  constructor() {
    super('CLOSED', 'the client is closed');
    this.name = 'ClosedError';
  }
}
