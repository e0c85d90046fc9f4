/** Handshake v2, message by message: what each signature binds, and the keys both sides derive. */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesEqual } from '../src/crypto.ts';
import {
  type ChannelKeys,
  clientProof,
  deriveChannelKeys,
  type EphemeralKeyPair,
  ephemeralKeyPair,
  HANDSHAKE_BYTES_MAX,
  parseClientProof,
  parseServerHello,
  parseServerProof,
  parseServerRefusal,
  type Session,
  serverHello,
  serverProof,
  serverRefusal,
  sessionOf,
  verifyClientProof,
  verifyServerProof,
  verifyServerRefusal,
} from '../src/handshake.ts';
import { crypto, packTuple, testCluster, testKey } from './support.ts';

const cluster = testCluster(4);
const server = cluster.replicas[0]!;
const client = cluster.agents[0]!;
const serverPublicKey = testKey(1).publicKey;
const clientPublicKey = testKey(100).publicKey;
const serverKeys = { crypto, secretKey: server.secretKey };
const clientKeys = { crypto, secretKey: client.secretKey };

/** An X25519 key pair from a fixed secret, so tests do not depend on randomness. */
function fixedEphemeral(secretByte: number): EphemeralKeyPair {
  const pkcs8Prefix = Buffer.from('302e020100300506032b656e04220420', 'hex');
  const secretKey = createPrivateKey({
    key: Buffer.concat([pkcs8Prefix, Buffer.alloc(32, secretByte)]),
    format: 'der',
    type: 'pkcs8',
  });
  const x = createPublicKey(secretKey).export({ format: 'jwk' }).x as string;
  return { secretKey, publicKey: new Uint8Array(Buffer.from(x, 'base64url')) };
}

const serverEphemeral = fixedEphemeral(1);
const clientEphemeral = fixedEphemeral(2);
const attackerEphemeral = fixedEphemeral(3);

const session: Session = {
  server: server.peer,
  client: client.peer,
  serverNonce: new Uint8Array(32).fill(0xa1),
  clientNonce: new Uint8Array(32).fill(0xb2),
  serverEphemeral: serverEphemeral.publicKey,
  clientEphemeral: clientEphemeral.publicKey,
};

/** Every field of the session, changed one at a time. */
const variants: readonly [string, Session][] = [
  ['server', { ...session, server: cluster.replicas[1]!.peer }],
  ['client', { ...session, client: cluster.agents[1]!.peer }],
  ['serverNonce', { ...session, serverNonce: new Uint8Array(32).fill(0xa2) }],
  ['clientNonce', { ...session, clientNonce: new Uint8Array(32).fill(0xb3) }],
  ['serverEphemeral', { ...session, serverEphemeral: attackerEphemeral.publicKey }],
  ['clientEphemeral', { ...session, clientEphemeral: attackerEphemeral.publicKey }],
];

const keysEqual = (a: ChannelKeys, b: ChannelKeys) =>
  bytesEqual(a.clientToServer, b.clientToServer) && bytesEqual(a.serverToClient, b.serverToClient);

describe('handshake v2', () => {
  it('runs end to end: each side verifies the other, and both derive the same two keys', () => {
    const hello = parseServerHello(serverHello(server.peer, session.serverNonce, serverEphemeral.publicKey));
    expect(hello).toEqual({
      server: server.peer,
      serverNonce: session.serverNonce,
      serverEphemeral: serverEphemeral.publicKey,
    });
    const proof = parseClientProof(clientProof(clientKeys, session));
    expect(proof).toBeDefined();
    const seenByServer = sessionOf(hello!, proof!);
    expect(seenByServer).toEqual(session);
    expect(verifyClientProof(crypto, seenByServer, proof!.signature, clientPublicKey)).toBe(true);
    const signature = parseServerProof(serverProof(serverKeys, seenByServer));
    expect(verifyServerProof(crypto, session, signature!, serverPublicKey)).toBe(true);

    const atClient = deriveChannelKeys(clientEphemeral, 'client', session);
    const atServer = deriveChannelKeys(serverEphemeral, 'server', seenByServer);
    expect(atClient).toBeDefined();
    expect(keysEqual(atClient!, atServer!)).toBe(true);
    expect(atClient!.clientToServer.byteLength).toBe(32);
    expect(bytesEqual(atClient!.clientToServer, atClient!.serverToClient)).toBe(false);
  });

  it('binds every field, both nonces, both peers and both ephemeral keys, into both signatures', () => {
    const clientSignature = parseClientProof(clientProof(clientKeys, session))!.signature;
    const serverSignature = parseServerProof(serverProof(serverKeys, session))!;
    for (const [field, changed] of variants) {
      expect(verifyClientProof(crypto, changed, clientSignature, clientPublicKey), field).toBe(false);
      expect(verifyServerProof(crypto, changed, serverSignature, serverPublicKey), field).toBe(false);
    }
  });

  it('refuses a proof made with one ephemeral key when the verifier holds another (a man in the middle)', () => {
    // The attacker relays the server's hello with its own ephemeral key in place of the server's.
    // The client signs what it saw; the server checks against the key it really sent.
    const seenByClient: Session = { ...session, serverEphemeral: attackerEphemeral.publicKey };
    const relayed = parseClientProof(clientProof(clientKeys, seenByClient))!;
    const atServer = sessionOf(
      { server: server.peer, serverNonce: session.serverNonce, serverEphemeral: serverEphemeral.publicKey },
      relayed,
    );
    expect(verifyClientProof(crypto, atServer, relayed.signature, clientPublicKey)).toBe(false);
    // And the other way: it swaps the client's ephemeral key in the proof it forwards.
    const forwarded = { ...relayed, clientEphemeral: attackerEphemeral.publicKey };
    expect(
      verifyClientProof(crypto, sessionOf(atServer, forwarded), forwarded.signature, clientPublicKey),
    ).toBe(false);
    // The server's proof, made for the real session, fails at a client that saw the attacker's key.
    const signature = parseServerProof(serverProof(serverKeys, session))!;
    expect(verifyServerProof(crypto, seenByClient, signature, serverPublicKey)).toBe(false);
  });

  it('never lets a client proof pass as a server proof, or the reverse', () => {
    // Same key on both sides, so only the context can tell them apart.
    const sameKey = { crypto, secretKey: client.secretKey };
    const clientSignature = parseClientProof(clientProof(sameKey, session))!.signature;
    const serverSignature = parseServerProof(serverProof(sameKey, session))!;
    expect(verifyServerProof(crypto, session, clientSignature, clientPublicKey)).toBe(false);
    expect(verifyClientProof(crypto, session, serverSignature, clientPublicKey)).toBe(false);
    expect(verifyClientProof(crypto, session, clientSignature, clientPublicKey)).toBe(true);
    expect(verifyServerProof(crypto, session, serverSignature, clientPublicKey)).toBe(true);
  });

  it('derives keys bound to the whole session: changing any field changes both keys', () => {
    const reference = deriveChannelKeys(clientEphemeral, 'client', session)!;
    for (const [field, changed] of variants) {
      // Derive as the side whose own ephemeral key the changed session still names.
      const derived =
        field === 'clientEphemeral'
          ? deriveChannelKeys(serverEphemeral, 'server', changed)
          : deriveChannelKeys(clientEphemeral, 'client', changed);
      expect(derived, field).toBeDefined();
      expect(bytesEqual(derived!.clientToServer, reference.clientToServer), field).toBe(false);
      expect(bytesEqual(derived!.serverToClient, reference.serverToClient), field).toBe(false);
    }
  });

  it('gives each connection fresh keys', () => {
    const first = ephemeralKeyPair();
    const second = ephemeralKeyPair();
    expect(first.publicKey.byteLength).toBe(32);
    expect(bytesEqual(first.publicKey, second.publicKey)).toBe(false);
    const keysWith = (own: EphemeralKeyPair) =>
      deriveChannelKeys(own, 'client', { ...session, clientEphemeral: own.publicKey })!;
    expect(keysEqual(keysWith(first), keysWith(second))).toBe(false);
  });

  it('refuses low-order and zero ephemeral keys, whose shared secret anyone knows, without throwing', () => {
    const lowOrderPoints = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ];
    for (const hex of lowOrderPoints) {
      const point = new Uint8Array(Buffer.from(hex, 'hex'));
      expect(deriveChannelKeys(clientEphemeral, 'client', { ...session, serverEphemeral: point }), hex).toBe(
        undefined,
      );
      expect(deriveChannelKeys(serverEphemeral, 'server', { ...session, clientEphemeral: point }), hex).toBe(
        undefined,
      );
    }
  });

  it('parses only the v2 shapes, and never throws', () => {
    const nonce = new Uint8Array(32);
    const key = new Uint8Array(32);
    const signature = new Uint8Array(64);
    // v1 shapes (no ephemeral key) are refused.
    expect(parseServerHello(packTuple([1, 'replica:0', nonce]))).toBeUndefined();
    expect(parseClientProof(packTuple([2, 'agent:alice', nonce, signature]))).toBeUndefined();
    // Wrong lengths, wrong types, wrong tags.
    expect(parseServerHello(packTuple([1, 'replica:0', nonce, new Uint8Array(31)]))).toBeUndefined();
    expect(parseServerHello(packTuple([1, 'replica:0', nonce, new Uint8Array(33)]))).toBeUndefined();
    expect(parseServerHello(packTuple([2, 'replica:0', nonce, key]))).toBeUndefined();
    expect(parseServerHello(packTuple([1, 'replica:01', nonce, key]))).toBeUndefined();
    expect(parseClientProof(packTuple([2, 'agent:alice', nonce, new Uint8Array(31), signature]))).toBe(
      undefined,
    );
    expect(parseClientProof(packTuple([2, 'agent:alice', nonce, key, signature, 0]))).toBeUndefined();
    expect(parseServerProof(packTuple([3, new Uint8Array(63)]))).toBeUndefined();
    expect(parseServerHello(packTuple([1, 'replica:0', nonce, key]))).toBeDefined();
    expect(parseClientProof(packTuple([2, 'agent:alice', nonce, key, signature]))).toBeDefined();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        parseServerHello(bytes);
        parseClientProof(bytes);
        parseServerProof(bytes);
      }),
      { numRuns: 500, seed: 7 },
    );
  });

  it('accepts exactly one byte form of each message', () => {
    const hello = serverHello(server.peer, session.serverNonce, serverEphemeral.publicKey);
    const proof = serverProof(serverKeys, session);
    expect(parseServerHello(hello)).toBeDefined();
    expect(parseServerProof(proof)).toBeDefined();
    // The packer writes the tag as a positive fixint, a short peer id as a fixstr, bytes as bin8.
    expect([...hello.subarray(0, 3)]).toEqual([0x94, 0x01, 0xa0 | server.peer.length]);
    expect([...proof.subarray(0, 4)]).toEqual([0x92, 0x03, 0xc4, 64]);
    const float3 = Buffer.alloc(9);
    float3.writeUInt8(0xcb, 0);
    float3.writeDoubleBE(3, 1);
    const variants: readonly [string, Uint8Array, (bytes: Uint8Array) => unknown][] = [
      ['a byte after the message', new Uint8Array([...proof, 0]), parseServerProof],
      ['the tag as a uint8', new Uint8Array([0x92, 0xcc, 0x03, ...proof.subarray(2)]), parseServerProof],
      ['the tag as a float64', new Uint8Array([0x92, ...float3, ...proof.subarray(2)]), parseServerProof],
      [
        'the signature as bin16',
        new Uint8Array([0x92, 0x03, 0xc5, 0, 64, ...proof.subarray(4)]),
        parseServerProof,
      ],
      ['the array as array16', new Uint8Array([0xdc, 0, 2, ...proof.subarray(1)]), parseServerProof],
      [
        'the peer id as str8',
        new Uint8Array([0x94, 0x01, 0xd9, server.peer.length, ...hello.subarray(2 + 1)]),
        parseServerHello,
      ],
      ['a map in place of the array', packTuple([new Map([[0, 3]])]).subarray(1), parseServerProof],
      ['a truncated message', proof.subarray(0, proof.byteLength - 1), parseServerProof],
    ];
    for (const [what, bytes, parse] of variants) expect(parse(bytes), what).toBeUndefined();
    // Over the size bound: refused before decoding, even when well formed.
    const huge = clientProof(clientKeys, { ...session, client: `agent:${'x'.repeat(HANDSHAKE_BYTES_MAX)}` });
    expect(parseClientProof(huge)).toBeUndefined();
  });

  it('binds a refusal to its reason, its session and the server key, and never lets it pass as a proof', () => {
    for (const reason of ['UNKNOWN_AGENT', 'REVOKED_KEY'] as const) {
      const bytes = serverRefusal(serverKeys, session, reason);
      const refusal = parseServerRefusal(bytes)!;
      expect(refusal.reason).toBe(reason);
      expect(verifyServerRefusal(crypto, session, refusal, serverPublicKey)).toBe(true);
      for (const [field, changed] of variants)
        expect(verifyServerRefusal(crypto, changed, refusal, serverPublicKey), field).toBe(false);
      expect(verifyServerRefusal(crypto, session, refusal, clientPublicKey)).toBe(false);
      const other = reason === 'UNKNOWN_AGENT' ? 'REVOKED_KEY' : 'UNKNOWN_AGENT';
      expect(verifyServerRefusal(crypto, session, { ...refusal, reason: other }, serverPublicKey)).toBe(
        false,
      );
      // Neither a server proof nor a refusal passes as the other.
      expect(parseServerProof(bytes)).toBeUndefined();
      expect(verifyServerProof(crypto, session, refusal.signature, serverPublicKey)).toBe(false);
      const proofSignature = parseServerProof(serverProof(serverKeys, session))!;
      expect(
        verifyServerRefusal(crypto, session, { reason, signature: proofSignature }, serverPublicKey),
      ).toBe(false);
    }
    expect(parseServerRefusal(packTuple([4, 'BAD_SIGNATURE', new Uint8Array(64)]))).toBeUndefined();
    expect(parseServerRefusal(packTuple([4, 'REVOKED_KEY', new Uint8Array(63)]))).toBeUndefined();
    expect(parseServerRefusal(serverProof(serverKeys, session))).toBeUndefined();
  });

  it('keeps the largest handshake message under HANDSHAKE_BYTES_MAX', () => {
    const longest: Session = { ...session, client: `agent:${'x'.repeat(200)}` };
    expect(clientProof(clientKeys, longest).byteLength).toBeLessThan(HANDSHAKE_BYTES_MAX);
    expect(clientProof(clientKeys, session).byteLength).toBeLessThan(300);
  });
});
