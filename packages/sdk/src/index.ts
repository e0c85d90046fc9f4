/**
 * @conclave/sdk: what an agent embeds to take part in decisions with agents it does not trust.
 */

export { type Receipt, verifyReceipt } from '@conclave/core';
export {
  type AgentIdentity,
  type CallOptions,
  ConclaveClient,
  type ConnectOptions,
  connect,
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_RETRY,
  type QueryResult,
  type ReadConsistency,
  type RequestResult,
  type RetryPolicy,
} from './client.ts';
export {
  AbortedError,
  ClosedError,
  ConclaveError,
  type ConclaveErrorCode,
  InvalidReceiptError,
  InvalidSignatureError,
  NoQuorumError,
  RejectedError,
  TimeoutError,
} from './errors.ts';
export {
  type InProcessByzantine,
  type InProcessCluster,
  type InProcessClusterOptions,
  startInProcessCluster,
} from './in-process.ts';
