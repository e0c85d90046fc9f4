/**
 * What a replica's transport may hold for peers (`connectionLimits` in cluster.json): connections,
 * pending handshakes in all and per source address, the handshake deadline, and what is queued
 * for agents. Absent fields take the transport's defaults (`WEBSOCKET_DEFAULTS`,
 * `FRAME_LIMITS_DEFAULT`). Replica-to-replica limits (frame and queue sizes) are not here: every
 * replica must agree on them, and they follow from the protocol's.
 */
import { checkConnectionLimits, TransportError, type WebSocketTransportOptions } from '@conclave/transport';
import { checkSettings } from './settings-check.ts';

/** The settings an operator may set, each a positive whole number. */
export const CONNECTION_LIMIT_NAMES = [
  'connectionsMax',
  'handshakesPendingMax',
  'handshakesPendingPerAddressMax',
  'handshakeTimeoutMs',
  'slowReaderMs',
  'agentFrameBytesMax',
  'agentSendQueueFramesMax',
  'agentSendQueueBytesMax',
  'agentSendQueueTotalBytesMax',
] as const;

export type ConnectionLimitName = (typeof CONNECTION_LIMIT_NAMES)[number];
export type ConnectionLimits = Partial<Record<ConnectionLimitName, number>>;

/**
 * The limits as transport options; a RangeError naming the field for an unknown one, one that is
 * not a positive whole number, or a combination the transport would refuse.
 */
export function resolveConnectionLimits(partial: unknown = {}): Partial<WebSocketTransportOptions> {
  checkSettings('connectionLimits', partial, CONNECTION_LIMIT_NAMES);
  const limits = partial as ConnectionLimits;
  try {
    checkConnectionLimits(limits);
  } catch (error) {
    if (error instanceof TransportError) throw new RangeError(`"connectionLimits": ${error.message}`);
    throw error;
  }
  return limits;
}
