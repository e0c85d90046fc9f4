/** The header walk that runs before a stranger's handshake message is unpacked. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clientProof,
  parseClientProof,
  parseServerHello,
  parseServerProof,
  type Session,
  serverHello,
  serverProof,
  serverRefusal,
} from '../src/handshake.ts';
import { hasHandshakeShape } from '../src/handshake-shape.ts';
import { crypto, testCluster } from './support.ts';

const cluster = testCluster(4);
const keys = { crypto, secretKey: cluster.agents[0]!.secretKey };

function sessionFor(client: string): Session {
  return {
    server: cluster.replicas[0]!.peer,
    client: client as Session['client'],
    serverNonce: new Uint8Array(32).fill(1),
    clientNonce: new Uint8Array(32).fill(2),
    serverEphemeral: new Uint8Array(32).fill(3),
    clientEphemeral: new Uint8Array(32).fill(4),
  };
}

/** Headers that declare far more than they hold: each would make msgpackr preallocate. */
const HOSTILE: readonly [string, Uint8Array][] = [
  ['array32 of 2^24', new Uint8Array([0xdd, 0x01, 0x00, 0x00, 0x00])],
  ['array32 of 2^32 − 1', new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff])],
  ['array16 of 65,535', new Uint8Array([0xdc, 0xff, 0xff])],
  ['map32 of 2^24', new Uint8Array([0xdf, 0x01, 0x00, 0x00, 0x00])],
  ['str32 of 2^30', new Uint8Array([0xdb, 0x40, 0x00, 0x00, 0x00])],
  ['bin32 of 2^30', new Uint8Array([0xc6, 0x40, 0x00, 0x00, 0x00])],
  ['a fixarray holding an array32 of 2^24', new Uint8Array([0x95, 0x02, 0xdd, 0x01, 0x00, 0x00, 0x00])],
  ['a fixarray holding a bin16 longer than the message', new Uint8Array([0x92, 0x03, 0xc5, 0xff, 0xff])],
  ['a fixarray holding a str8 longer than the message', new Uint8Array([0x95, 0x02, 0xd9, 0xff, 0x61])],
];

describe('hasHandshakeShape', () => {
  it('accepts every message the handshake writes, peer ids of every length that fits', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 300 }), (name) => {
        const session = sessionFor(`agent:${name}`);
        expect(hasHandshakeShape(clientProof(keys, session), 5)).toBe(true);
        expect(hasHandshakeShape(serverProof(keys, session), 2)).toBe(true);
        expect(hasHandshakeShape(serverRefusal(keys, session, 'REVOKED_KEY'), 3)).toBe(true);
        expect(
          hasHandshakeShape(serverHello(session.server, session.serverNonce, session.serverEphemeral), 4),
        ).toBe(true);
      }),
      { numRuns: 200, seed: 11 },
    );
  });

  it('refuses a header that declares more than the bytes hold, or any nested or wide header', () => {
    for (const [what, bytes] of HOSTILE) {
      for (const length of [2, 4, 5]) expect(hasHandshakeShape(bytes, length), what).toBe(false);
    }
    const proof = serverProof(keys, sessionFor('agent:alice'));
    expect(hasHandshakeShape(proof, 3), 'another element count').toBe(false);
    expect(hasHandshakeShape(proof.subarray(0, proof.byteLength - 1), 2), 'one byte short').toBe(false);
    expect(hasHandshakeShape(new Uint8Array([...proof, 0]), 2), 'one byte after').toBe(false);
    expect(hasHandshakeShape(new Uint8Array(0), 2), 'nothing').toBe(false);
  });

  it('never reads past the message, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 16 }), (bytes, length) => {
        expect(typeof hasHandshakeShape(bytes, length)).toBe('boolean');
      }),
      { numRuns: 1000, seed: 12 },
    );
  });
});

describe('the handshake parsers against hostile headers', () => {
  it('refuse each without unpacking it: 100 attempts of each parser take well under a second', () => {
    // Before the header walk, one 5-byte array32 header cost ~80 ms and 128 MiB in msgpackr, so
    // these 300 attempts took ~24 s; now each is a few byte comparisons.
    const started = performance.now();
    for (let attempt = 0; attempt < 100; attempt++) {
      for (const [what, bytes] of HOSTILE) {
        expect(parseClientProof(bytes), what).toBeUndefined();
        expect(parseServerHello(bytes), what).toBeUndefined();
        expect(parseServerProof(bytes), what).toBeUndefined();
      }
    }
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
