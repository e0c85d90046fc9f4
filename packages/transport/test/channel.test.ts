/** The channel MAC: seal and open, and every way a message on the wire may have been tampered with. */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CHANNEL_TAG_BYTES, type Channel, channel } from '../src/channel.ts';
import type { ChannelKeys } from '../src/handshake.ts';
import { numberedFrame } from './support.ts';

const keys: ChannelKeys = {
  clientToServer: new Uint8Array(32).fill(0x11),
  serverToClient: new Uint8Array(32).fill(0x22),
};
const otherKeys: ChannelKeys = {
  clientToServer: new Uint8Array(32).fill(0x33),
  serverToClient: new Uint8Array(32).fill(0x44),
};

const pair = (channelKeys = keys) => ({
  client: channel('client', channelKeys),
  server: channel('server', channelKeys),
});

const flipBit = (message: Uint8Array, index: number, bit = 0) => {
  const copy = new Uint8Array(message);
  copy[index] = (copy[index] as number) ^ (1 << bit);
  return copy;
};

/** The bytes of `view`, as a plain array: open() may return a Buffer view when handed a Buffer. */
const bytesOf = (view: Uint8Array | undefined) => (view === undefined ? undefined : [...view]);

/** The tag as the wire format defines it, computed independently of `channel.ts`. */
function expectedTag(key: Uint8Array, counter: bigint, frame: Uint8Array): Buffer {
  const counterBytes = Buffer.alloc(8);
  counterBytes.writeBigUInt64BE(counter);
  return createHmac('sha256', key).update(counterBytes).update(frame).digest().subarray(0, 16);
}

describe('channel MAC', () => {
  it('round-trips frames both ways, empty and large ones included, delivering views without copies', () => {
    const { client, server } = pair();
    const frames = [
      new Uint8Array(0),
      numberedFrame(1, 200),
      numberedFrame(2, 20 * 1024),
      numberedFrame(3, 5),
    ];
    for (const frame of frames) {
      const message = client.seal(frame);
      expect(message.byteLength).toBe(frame.byteLength + CHANNEL_TAG_BYTES);
      const opened = server.open(message);
      expect(bytesOf(opened)).toEqual(bytesOf(frame));
      expect(opened?.buffer).toBe(message.buffer);
      expect(opened?.byteOffset).toBe(message.byteOffset);
      const reply = server.seal(frame);
      expect(bytesOf(client.open(reply))).toEqual(bytesOf(frame));
    }
  });

  it('seals exactly frame ‖ HMAC-SHA256(key, u64be(counter) ‖ frame)[0, 16), counting from 0', () => {
    const { client, server } = pair();
    const frame = new TextEncoder().encode('conclave');
    for (const counter of [0n, 1n, 2n]) {
      const message = client.seal(frame);
      expect(Buffer.from(message.subarray(0, frame.byteLength))).toEqual(Buffer.from(frame));
      expect(Buffer.from(message.subarray(frame.byteLength))).toEqual(
        expectedTag(keys.clientToServer, counter, frame),
      );
    }
    expect(Buffer.from(server.seal(frame).subarray(frame.byteLength))).toEqual(
      expectedTag(keys.serverToClient, 0n, frame),
    );
  });

  it('refuses a message with any bit flipped, in the frame or in the tag', () => {
    const frame = numberedFrame(9, 40);
    const message = pair().client.seal(frame);
    for (let index = 0; index < message.byteLength; index++) {
      for (const bit of [0, 7]) {
        // A fresh receiver each time: a refusal breaks the channel for good.
        expect(pair().server.open(flipBit(message, index, bit)), `byte ${index} bit ${bit}`).toBeUndefined();
      }
    }
    expect(bytesOf(pair().server.open(message))).toEqual(bytesOf(frame));
  });

  it('refuses a missing, short or truncated tag, and a frame with bytes added or cut', () => {
    const frame = numberedFrame(4, 64);
    const message = pair().client.seal(frame);
    const refused = [
      frame,
      new Uint8Array(0),
      new Uint8Array(CHANNEL_TAG_BYTES - 1),
      message.subarray(0, message.byteLength - 1),
      message.subarray(1),
      Buffer.concat([message, new Uint8Array(1)]),
      Buffer.concat([new Uint8Array(1), message]),
    ];
    for (const candidate of refused) expect(pair().server.open(candidate)).toBeUndefined();
  });

  it('refuses a replayed message, and reordered ones', () => {
    const { client, server } = pair();
    const first = client.seal(numberedFrame(0, 32));
    const second = client.seal(numberedFrame(1, 32));
    expect(server.open(first)).toBeDefined();
    expect(server.open(first)).toBeUndefined();

    const reordered = pair();
    const a = reordered.client.seal(numberedFrame(0, 32));
    const b = reordered.client.seal(numberedFrame(1, 32));
    expect(reordered.server.open(b)).toBeUndefined();
    // Broken for good: not even the genuine next message opens, nor the one after.
    expect(reordered.server.open(a)).toBeUndefined();
    expect(reordered.server.open(second)).toBeUndefined();
  });

  it('refuses a message whose predecessor was dropped (the counters no longer match)', () => {
    const { client, server } = pair();
    client.seal(numberedFrame(0, 32));
    expect(server.open(client.seal(numberedFrame(1, 32)))).toBeUndefined();
  });

  it('keeps one counter per direction', () => {
    const { client, server } = pair();
    const fromClient = [0, 1, 2].map((index) => client.seal(numberedFrame(index, 16)));
    const fromServer = server.seal(numberedFrame(100, 16));
    // Interleaved both ways: each direction counts only its own messages.
    expect(client.open(fromServer)).toBeDefined();
    for (const message of fromClient) expect(server.open(message)).toBeDefined();
    expect(client.open(server.seal(numberedFrame(101, 16)))).toBeDefined();
  });

  it('refuses a message reflected back to its sender, or moved to another connection', () => {
    const { client } = pair();
    const message = client.seal(numberedFrame(0, 32));
    // Same counter (0) both ways, so only the direction key tells them apart.
    expect(client.open(message)).toBeUndefined();
    expect(pair(otherKeys).server.open(message)).toBeUndefined();
    // A message from a different connection, even at the right position, does not open either.
    const elsewhere: Channel = pair(otherKeys).client;
    expect(pair().server.open(elsewhere.seal(numberedFrame(0, 32)))).toBeUndefined();
  });
});
