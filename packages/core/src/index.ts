export {
  CHANNEL_AUTHENTICATOR,
  channelReplies,
  channelReplyVerifier,
  eitherReplyVerifier,
  isChannelAuthenticator,
  REPLY_AUTH_SCHEMES,
  type ReplyAuth,
  type ReplyAuthenticator,
  type ReplyVerifier,
  replyAuthenticatorFor,
  replyVerifierFor,
  signBody,
  signedReplies,
  signedReplyVerifier,
} from './auth.ts';
export {
  type AgentAnswer,
  createFetchReceipt,
  createQuery,
  createRequest,
  DEFAULT_DECODE_LIMITS,
  type Opened,
  type OpenedQueryReply,
  type OpenedReply,
  openAnswer,
  openQueryReply,
  openReply,
  publicKeyOf,
  type RequestFields,
  signAgentMessage,
} from './client.ts';
export {
  bytesEqual,
  type Canonical,
  type CanonicalBounds,
  type DecodeResult,
  decodeCanonical,
  encodeCanonical,
  fromHex,
  toHex,
  UNBOUNDED,
} from './codec.ts';
export { composedOperation, composeStateMachines } from './compose.ts';
export {
  type AgentIdentity,
  type ClusterConfig,
  ConfigError,
  DEFAULT_PROTOCOL_CONFIG,
  LIMITS,
  type ProtocolConfig,
  type Quorums,
  quorumsOf,
  type ReplicaIdentity,
  validateCluster,
  validateProtocol,
} from './config.ts';
export {
  type CachingCrypto,
  type CryptoBackend,
  DIGEST_BYTES,
  isCanonicalScalar,
  type KeyPair,
  nodeCrypto,
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
  SEED_BYTES,
  SIGNATURE_BYTES,
  tweetnaclCrypto,
  VERIFY_CACHE_ENTRIES,
  verifyCache,
} from './crypto.ts';
export { bodyBounds, envelopeBounds } from './decode-bounds.ts';
export {
  applyPersistRecords,
  type DurableCheckpoint,
  type DurableLogRecord,
  type DurableState,
  emptyDurableState,
} from './durable.ts';
export { assert, InvariantError } from './errors.ts';
export {
  type HostEffects,
  type PeerAddress,
  peersOf,
  ReplicaHost,
  type ReplicaHostOptions,
  type Steppable,
} from './host.ts';
export {
  checkJoinStatement,
  decodeJoinStatement,
  encodeJoinClaim,
  encodeJoinStatement,
  JOIN_HOST_BYTES_MAX,
  JOIN_ID_BYTES_MAX,
  JOIN_TAG,
  type JoinClaim,
  type JoinRole,
  type JoinStatement,
  type JoinStatementJson,
  joinStatementFromJson,
  joinStatementToJson,
  signJoinStatement,
} from './join.ts';
export * from './messages.ts';
export {
  type AgentKeyAt,
  decodeReceipt,
  encodeReceipt,
  type Receipt,
  type ReceiptVerification,
  type SignedBytes,
  verifyReceipt,
} from './receipt.ts';
export { decodeRefusal, encodeRefusal, REFUSAL_TAG, type Refusal, type RefusalCode } from './refusal.ts';
export {
  type LogEntryInspection,
  Replica,
  type ReplicaInspection,
  type ReplicaOptions,
} from './replica.ts';
export {
  type AgentKeys,
  type BatchContext,
  decodeKvResult,
  type ExecutionContext,
  encodeKvOperation,
  type KvOperation,
  type KvResult,
  KvStateMachine,
  type RequestEquivocation,
  type StateMachine,
} from './state-machine.ts';
export type * from './types.ts';
