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
  | 'EVENTS_LOST';

/** The base of every SDK error; `code` is stable and safe to branch on. */
export class ConclaveError extends Error {
  readonly code: ConclaveErrorCode;
  constructor(code: ConclaveErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConclaveError';
    this.code = code;
  }
}

/** No f+1 matching answers arrived within the call's timeout. */
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
  constructor(reason: string, message: string) {
    super('REJECTED', message);
    this.name = 'RejectedError';
    this.reason = reason;
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
