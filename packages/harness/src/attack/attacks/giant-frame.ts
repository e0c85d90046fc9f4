/**
 * giant-frame: over an authenticated agent connection (no signature needed), a frame that
 * declares a msgpack array of ~16.7M entries, padded with zero bytes to nearly the transport's
 * 16 MiB frame limit, every GIANT_FRAME_EVERY_MS to each replica.
 */
import { FRAME_LIMITS_DEFAULT } from '@conclave/transport';
import { type Attack, sleep } from './context.ts';
import { openRawLink, sendCounted } from './raw-link.ts';

export const GIANT_FRAME_EVERY_MS = 400;
/** Room for the transport's own framing under frameBytesMax. */
const FRAME_HEADROOM_BYTES = 1024;
/** msgpack array32 header (0xdd) declaring 0x00ffffff entries. */
const ARRAY_HEADER = [0xdd, 0x00, 0xff, 0xff, 0xff];

/** The frame: the header, then zeros (each a msgpack 0, so a decoder keeps going). */
export function giantFrame(bytes = FRAME_LIMITS_DEFAULT.frameBytesMax - FRAME_HEADROOM_BYTES): Uint8Array {
  const frame = new Uint8Array(bytes);
  frame.set(ARRAY_HEADER, 0);
  return frame;
}

export const giantFrameAttack: Attack = async (context) => {
  const link = await openRawLink(context);
  const frame = giantFrame();
  while (!context.signal.aborted) {
    for (const replica of link.replicas) sendCounted(context, link, replica, frame);
    await sleep(GIANT_FRAME_EVERY_MS, context.signal);
  }
};
