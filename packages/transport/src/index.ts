/**
 * The transport package: moving frames between authenticated peers, each frame authenticated by
 * its channel (`Transport.channelAuthenticated`). It imports no other package of this repository:
 * the crypto backend is passed in (`TransportCrypto`), and its formats, sizes and limits are its own.
 *
 * One port (`Transport`), two implementations: `webSocketTransport` for real networks and
 * `memoryNetwork` for tests, both held to one compliance suite.
 */
export { RETIRED_KEYS_PER_AGENT_MAX } from './agents.ts';
export { CHANNEL_MESSAGES_MAX, CHANNEL_TAG_BYTES } from './channel.ts';
export {
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SECRET_KEY_BYTES,
  ED25519_SEED_BYTES,
  ED25519_SIGNATURE_BYTES,
  type TransportCrypto,
} from './crypto.ts';
export { CHANNEL_KEY_BYTES, EPHEMERAL_KEY_BYTES, HANDSHAKE_BYTES_MAX, NONCE_BYTES } from './handshake.ts';
export {
  type MemoryNetwork,
  type MemoryNetworkOptions,
  type MemoryTransportOptions,
  memoryNetwork,
} from './memory.ts';
export {
  type AgentEntry,
  agentPeer,
  type Directory,
  FRAME_LIMITS_DEFAULT,
  type FrameLimits,
  type Identity,
  type LiveDirectoryTransport,
  type ParsedPeer,
  type PeerId,
  type PeerQueueStats,
  parsePeer,
  REFUSAL_REASONS,
  REJECT_REASONS,
  type RefusalReason,
  type RejectReason,
  replicaPeer,
  type SendResult,
  type Transport,
  TransportError,
  type TransportErrorCode,
  TransportInvariantError,
  type TransportStats,
} from './transport.ts';
export {
  checkConnectionLimits,
  REFUSAL_CLOSE_CODES,
  type TlsOptions,
  WEBSOCKET_DEFAULTS,
  type WebSocketTransport,
  type WebSocketTransportOptions,
  webSocketTransport,
} from './websocket.ts';
