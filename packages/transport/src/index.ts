/**
 * @conclave/transport: moving frames between authenticated peers, each frame authenticated by
 * its channel (`Transport.channelAuthenticated`).
 *
 * One port (`Transport`), two implementations: `webSocketTransport` for real networks and
 * `memoryNetwork` for tests, both held to one compliance suite.
 */
export { CHANNEL_MESSAGES_MAX, CHANNEL_TAG_BYTES } from './channel.ts';
export type { TransportCrypto } from './crypto.ts';
export { CHANNEL_KEY_BYTES, EPHEMERAL_KEY_BYTES, HANDSHAKE_BYTES_MAX, NONCE_BYTES } from './handshake.ts';
export {
  type MemoryNetwork,
  type MemoryNetworkOptions,
  type MemoryTransportOptions,
  memoryNetwork,
} from './memory.ts';
export {
  agentPeer,
  type Directory,
  FRAME_LIMITS_DEFAULT,
  type FrameLimits,
  type Identity,
  type ParsedPeer,
  type PeerId,
  type PeerQueueStats,
  parsePeer,
  REJECT_REASONS,
  type RejectReason,
  replicaPeer,
  type SendResult,
  type Transport,
  TransportError,
  type TransportErrorCode,
  type TransportStats,
} from './transport.ts';
export {
  type TlsOptions,
  WEBSOCKET_DEFAULTS,
  type WebSocketTransport,
  type WebSocketTransportOptions,
  webSocketTransport,
} from './websocket.ts';
