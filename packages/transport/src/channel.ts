/**
 * The channel MAC: after the handshake, every WebSocket message is `frame ‖ tag`, where
 *
 * ```
 * tag = HMAC-SHA256(directionKey, u64be(counter) ‖ frame)[0, 16)
 * ```
 *
 * `directionKey` is the handshake's key for this direction (client → server or server → client),
 * and `counter` counts the messages sent in that direction on this connection, from 0. The
 * receiver recomputes the tag with its own count of messages received, so a frame that was
 * changed, injected, replayed, reordered, reflected back to its sender, or moved from another
 * connection does not open; nor does anything after it (the channel stays broken, and the
 * connection is closed). The tag authenticates; it does not hide: without TLS frames travel in
 * the clear.
 *
 * A 16-byte tag (HMAC-SHA256 truncated, as RFC 2104 §5 allows) leaves a forger one chance in
 * 2^128 per attempt, and a failed attempt ends the connection.
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { CHANNEL_KEY_BYTES, type ChannelKeys } from './handshake.ts';
import { TransportInvariantError } from './transport.ts';

/** Bytes of the tag after each frame on the wire. */
export const CHANNEL_TAG_BYTES = 16;
/**
 * Messages one direction of one channel may carry. The counter is a u64 on the wire, but a
 * JavaScript number counts exactly only this far; at 10^6 frames a second that is 285 years.
 */
export const CHANNEL_MESSAGES_MAX = Number.MAX_SAFE_INTEGER;

const COUNTER_BYTES = 8;
const TWO_TO_32 = 2 ** 32;

/** One end of an authenticated channel. Not thread-safe in any sense: one connection, one channel. */
export interface Channel {
  /**
   * The message to send for `frame`: a copy of it followed by its tag. Call once per message, in
   * the order they are written to the connection.
   */
  seal(frame: Uint8Array): Buffer;
  /**
   * The frame inside `message` (a view into it, not a copy), or `undefined` when the tag is
   * missing or wrong. After one `undefined` every later message is refused too.
   */
  open(message: Uint8Array): Uint8Array | undefined;
}

/** The channel end of the client (`side = 'client'`) or the server of a connection. */
export function channel(side: 'client' | 'server', keys: ChannelKeys): Channel {
  const sendKey = secretKey(side === 'client' ? keys.clientToServer : keys.serverToClient);
  const receiveKey = secretKey(side === 'client' ? keys.serverToClient : keys.clientToServer);
  let sent = 0;
  let received = 0;
  let broken = false;
  const counter = Buffer.alloc(COUNTER_BYTES);

  // HMAC over u64be(count) ‖ frame; the counter buffer is reused, as update() consumes it at once.
  function mac(key: KeyObject, count: number, frame: Uint8Array): Buffer {
    counter.writeUInt32BE(Math.floor(count / TWO_TO_32), 0);
    counter.writeUInt32BE(count >>> 0, 4);
    return createHmac('sha256', key).update(counter).update(frame).digest();
  }

  return {
    seal(frame) {
      if (sent >= CHANNEL_MESSAGES_MAX)
        throw new TransportInvariantError(
          'transport: channel counter exhausted (2^53 messages on one connection)',
        );
      const digest = mac(sendKey, sent, frame);
      sent++;
      return Buffer.concat(
        [frame, digest.subarray(0, CHANNEL_TAG_BYTES)],
        frame.byteLength + CHANNEL_TAG_BYTES,
      );
    },
    open(message) {
      if (broken || message.byteLength < CHANNEL_TAG_BYTES || received >= CHANNEL_MESSAGES_MAX) {
        broken = true;
        return undefined;
      }
      const frameBytes = message.byteLength - CHANNEL_TAG_BYTES;
      const frame = message.subarray(0, frameBytes);
      const expected = mac(receiveKey, received, frame).subarray(0, CHANNEL_TAG_BYTES);
      if (!timingSafeEqual(expected, message.subarray(frameBytes))) {
        broken = true;
        return undefined;
      }
      received++;
      return frame;
    },
  };
}

function secretKey(bytes: Uint8Array): KeyObject {
  if (bytes.byteLength !== CHANNEL_KEY_BYTES)
    throw new TransportInvariantError(
      `transport: a channel key is ${CHANNEL_KEY_BYTES} bytes, got ${bytes.byteLength}`,
    );
  return createSecretKey(bytes);
}
