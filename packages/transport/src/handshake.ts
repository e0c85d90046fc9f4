/**
 * The connection handshake (v2): both ends prove they hold the key the directory names for them,
 * and agree on two channel keys that authenticate every frame after it (see `channel.ts`).
 *
 * ```
 * server → client  [1, serverPeer, serverNonce, serverEphemeral]
 * client → server  [2, clientPeer, clientNonce, clientEphemeral, sign_client(transcript('conclave/handshake/v2/client'))]
 * server → client  [3, sign_server(transcript('conclave/handshake/v2/server'))]
 *   or, refusing an agent:  [4, reason, sign_server(transcript('conclave/handshake/v2/refusal') + reason)]
 *
 * transcript(context) = [context, serverPeer, clientPeer, serverNonce, clientNonce, serverEphemeral, clientEphemeral]
 * ```
 *
 * Every message is a msgpack array written by one fixed packer (`encode` below), and so is what
 * each signature covers and the HKDF info. These bytes are read only by the other end's
 * transport, so the format is transport's own: it does not follow the protocol's frame codec.
 * Nonces are 32 fresh random bytes; ephemerals are fresh X25519 public keys (32 bytes), one pair
 * per connection and side. Each side's signature covers the other side's nonce (a recorded
 * handshake cannot be replayed), both peer ids (a proof made for one server is worthless at
 * another) and both ephemeral keys (an attacker cannot swap in a key of its own, so only the two
 * peers know the shared secret). The two contexts differ, so a client proof never passes as a
 * server proof.
 *
 * Channel keys: `shared = X25519(own ephemeral secret, other's ephemeral)`, refused when X25519
 * fails or yields zeros (a low-order point); then, one key per direction,
 * `HKDF-SHA256(shared, salt = serverNonce ‖ clientNonce, info = [label, serverPeer, clientPeer,
 * serverEphemeral, clientEphemeral], 32)` with the labels `conclave/channel/v2/client-to-server`
 * and `conclave/channel/v2/server-to-client`.
 *
 * Parsers and key derivation never throw: anything that is not exactly the expected shape is
 * `undefined`.
 */
import { createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto';
import { Packr } from 'msgpackr';
import { bytesEqual, ED25519_SIGNATURE_BYTES, type TransportCrypto } from './crypto.ts';
import { hasHandshakeShape } from './handshake-shape.ts';
import {
  type PeerId,
  parsePeer,
  REFUSAL_REASONS,
  type RefusalReason,
  TransportInvariantError,
} from './transport.ts';

export const NONCE_BYTES = 32;
/** Bytes of an X25519 public key, and of the shared secret. */
export const EPHEMERAL_KEY_BYTES = 32;
/** Bytes of each channel key. */
export const CHANNEL_KEY_BYTES = 32;
/**
 * Bytes of one handshake message at most. The largest, a client proof, is about 140 bytes plus
 * the client's peer id, so agent ids of up to about 880 bytes fit.
 */
export const HANDSHAKE_BYTES_MAX = 1024;

const CLIENT_CONTEXT = 'conclave/handshake/v2/client';
const SERVER_CONTEXT = 'conclave/handshake/v2/server';
const REFUSAL_CONTEXT = 'conclave/handshake/v2/refusal';
const CLIENT_TO_SERVER_LABEL = 'conclave/channel/v2/client-to-server';
const SERVER_TO_CLIENT_LABEL = 'conclave/channel/v2/server-to-client';

const SERVER_HELLO = 1;
const CLIENT_PROOF = 2;
const SERVER_PROOF = 3;
const SERVER_REFUSAL = 4;

export interface HandshakeKeys {
  readonly crypto: TransportCrypto;
  readonly secretKey: Uint8Array;
}

/** Everything both signatures cover: who is talking, and the fresh values of this connection. */
export interface Session {
  readonly server: PeerId;
  readonly client: PeerId;
  readonly serverNonce: Uint8Array;
  readonly clientNonce: Uint8Array;
  readonly serverEphemeral: Uint8Array;
  readonly clientEphemeral: Uint8Array;
}

export interface ServerHello {
  readonly server: PeerId;
  readonly serverNonce: Uint8Array;
  readonly serverEphemeral: Uint8Array;
}

export interface ClientProof {
  readonly client: PeerId;
  readonly clientNonce: Uint8Array;
  readonly clientEphemeral: Uint8Array;
  readonly signature: Uint8Array;
}

/** One side's X25519 key pair for one connection; the secret half never leaves the process. */
export interface EphemeralKeyPair {
  readonly secretKey: KeyObject;
  /** The raw 32-byte public key, as sent in the handshake. */
  readonly publicKey: Uint8Array;
}

/** The two keys of a connection's channel, one per direction. */
export interface ChannelKeys {
  readonly clientToServer: Uint8Array;
  readonly serverToClient: Uint8Array;
}

/**
 * Positional arrays (never maps), minimal-width integers, byte strings as `bin`, no extensions or
 * records: the same value always packs to the same bytes. Every string and byte string carries its
 * length and the first element names the message or context, so a transcript has one reading.
 */
const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  bundleStrings: false,
  encodeUndefinedAsNil: false,
});

/** What a handshake array holds: a message tag, a peer id or a context, or fixed-size bytes. */
type Field = number | string | Uint8Array;

const isField = (value: unknown): value is Field =>
  typeof value === 'number' || typeof value === 'string' || value instanceof Uint8Array;

function encode(fields: readonly Field[]): Uint8Array {
  // A copy: the packer reuses its buffer on the next call, and messages outlive it in socket queues.
  return new Uint8Array(packr.pack(fields));
}

/**
 * The array in `bytes` when it is exactly what `encode` writes for an array of `length` fields
 * starting with `type`; else `undefined`, never an exception. Decoding, then re-encoding and
 * comparing, accepts one byte form per message: no wider integer or length, no float for an
 * integer, no map, extension or record, no malformed UTF-8, nothing after the array. (A message is
 * at most HANDSHAKE_BYTES_MAX bytes and a connection sends three, so the second pass costs nothing
 * that matters.) The unpack comes only after `hasHandshakeShape` has checked every header, so
 * nothing a header declares is allocated unless the bytes are really there.
 */
function decodeTuple(bytes: Uint8Array, type: number, length: number): readonly Field[] | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength > HANDSHAKE_BYTES_MAX) return undefined;
  // Headers first: msgpackr would allocate whatever a stranger's header declares.
  if (!hasHandshakeShape(bytes, length)) return undefined;
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== length || value[0] !== type || !value.every(isField))
    return undefined;
  return bytesEqual(encode(value), bytes) ? value : undefined;
}

/** What a signature covers; a refusal adds its reason after the session's fields. */
function transcript(context: string, session: Session, ...more: string[]): Uint8Array {
  return encode([
    context,
    session.server,
    session.client,
    session.serverNonce,
    session.clientNonce,
    session.serverEphemeral,
    session.clientEphemeral,
    ...more,
  ]);
}

const isBytes = (value: unknown, length: number): value is Uint8Array =>
  value instanceof Uint8Array && value.byteLength === length;

const isPeer = (value: unknown): value is PeerId =>
  typeof value === 'string' && parsePeer(value) !== undefined;

export function serverHello(
  server: PeerId,
  serverNonce: Uint8Array,
  serverEphemeral: Uint8Array,
): Uint8Array {
  return encode([SERVER_HELLO, server, serverNonce, serverEphemeral]);
}

export function parseServerHello(bytes: Uint8Array): ServerHello | undefined {
  const tuple = decodeTuple(bytes, SERVER_HELLO, 4);
  if (
    tuple === undefined ||
    !isPeer(tuple[1]) ||
    !isBytes(tuple[2], NONCE_BYTES) ||
    !isBytes(tuple[3], EPHEMERAL_KEY_BYTES)
  ) {
    return undefined;
  }
  return { server: tuple[1], serverNonce: tuple[2], serverEphemeral: tuple[3] };
}

export function clientProof(keys: HandshakeKeys, session: Session): Uint8Array {
  const signature = keys.crypto.sign(transcript(CLIENT_CONTEXT, session), keys.secretKey);
  return encode([CLIENT_PROOF, session.client, session.clientNonce, session.clientEphemeral, signature]);
}

export function parseClientProof(bytes: Uint8Array): ClientProof | undefined {
  const tuple = decodeTuple(bytes, CLIENT_PROOF, 5);
  if (
    tuple === undefined ||
    !isPeer(tuple[1]) ||
    !isBytes(tuple[2], NONCE_BYTES) ||
    !isBytes(tuple[3], EPHEMERAL_KEY_BYTES) ||
    !isBytes(tuple[4], ED25519_SIGNATURE_BYTES)
  ) {
    return undefined;
  }
  return { client: tuple[1], clientNonce: tuple[2], clientEphemeral: tuple[3], signature: tuple[4] };
}

/** The session a client proof claims, given what the server sent in its hello. */
export function sessionOf(hello: ServerHello, proof: ClientProof): Session {
  return {
    server: hello.server,
    client: proof.client,
    serverNonce: hello.serverNonce,
    clientNonce: proof.clientNonce,
    serverEphemeral: hello.serverEphemeral,
    clientEphemeral: proof.clientEphemeral,
  };
}

export function verifyClientProof(
  crypto: TransportCrypto,
  session: Session,
  signature: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  return crypto.verify(transcript(CLIENT_CONTEXT, session), signature, publicKey);
}

export function serverProof(keys: HandshakeKeys, session: Session): Uint8Array {
  const signature = keys.crypto.sign(transcript(SERVER_CONTEXT, session), keys.secretKey);
  return encode([SERVER_PROOF, signature]);
}

export function parseServerProof(bytes: Uint8Array): Uint8Array | undefined {
  const tuple = decodeTuple(bytes, SERVER_PROOF, 2);
  return tuple !== undefined && isBytes(tuple[1], ED25519_SIGNATURE_BYTES) ? tuple[1] : undefined;
}

export function verifyServerProof(
  crypto: TransportCrypto,
  session: Session,
  signature: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  return crypto.verify(transcript(SERVER_CONTEXT, session), signature, publicKey);
}

/**
 * The server's answer to a client proof it refuses for a reason the client should know
 * (`[4, reason, sig_server(transcript('conclave/handshake/v2/refusal', reason))]`): signed over the
 * session, so it names this handshake (the client's fresh nonce) and cannot be forged or replayed.
 */
export function serverRefusal(keys: HandshakeKeys, session: Session, reason: RefusalReason): Uint8Array {
  const signature = keys.crypto.sign(transcript(REFUSAL_CONTEXT, session, reason), keys.secretKey);
  return encode([SERVER_REFUSAL, reason, signature]);
}

export interface ServerRefusal {
  readonly reason: RefusalReason;
  readonly signature: Uint8Array;
}

export function parseServerRefusal(bytes: Uint8Array): ServerRefusal | undefined {
  const tuple = decodeTuple(bytes, SERVER_REFUSAL, 3);
  if (tuple === undefined || !isBytes(tuple[2], ED25519_SIGNATURE_BYTES)) return undefined;
  const reason = REFUSAL_REASONS.find((known) => known === tuple[1]);
  return reason === undefined ? undefined : { reason, signature: tuple[2] };
}

export function verifyServerRefusal(
  crypto: TransportCrypto,
  session: Session,
  refusal: ServerRefusal,
  publicKey: Uint8Array,
): boolean {
  return crypto.verify(transcript(REFUSAL_CONTEXT, session, refusal.reason), refusal.signature, publicKey);
}

/** A fresh X25519 key pair for one side of one connection. */
export function ephemeralKeyPair(): EphemeralKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const jwk = publicKey.export({ format: 'jwk' });
  const raw = Buffer.from(jwk.x as string, 'base64url');
  assert(raw.byteLength === EPHEMERAL_KEY_BYTES, 'an X25519 public key is 32 bytes');
  return { secretKey: privateKey, publicKey: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) };
}

/**
 * Derives the channel keys of `session` from this side's ephemeral secret and the other side's
 * ephemeral public key (`session.serverEphemeral` for a client, `session.clientEphemeral` for a
 * server). `undefined` when the other key is not a usable X25519 point (the shared secret would
 * be zero, known to anyone): the handshake fails.
 */
export function deriveChannelKeys(
  own: EphemeralKeyPair,
  side: 'client' | 'server',
  session: Session,
): ChannelKeys | undefined {
  const ownPublic = side === 'client' ? session.clientEphemeral : session.serverEphemeral;
  const otherPublic = side === 'client' ? session.serverEphemeral : session.clientEphemeral;
  assert(bytesEqual(own.publicKey, ownPublic), 'the session names this side’s own ephemeral key');
  let shared: Buffer;
  try {
    const publicKey = createPublicKey({
      key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(otherPublic).toString('base64url') },
      format: 'jwk',
    });
    shared = diffieHellman({ privateKey: own.secretKey, publicKey });
  } catch {
    // OpenSSL refuses low-order points itself ("failed during derivation").
    return undefined;
  }
  if (shared.byteLength !== EPHEMERAL_KEY_BYTES || isAllZero(shared)) return undefined;
  const salt = Buffer.concat([session.serverNonce, session.clientNonce]);
  const derive = (label: string) =>
    new Uint8Array(
      hkdfSync(
        'sha256',
        shared,
        salt,
        encode([label, session.server, session.client, session.serverEphemeral, session.clientEphemeral]),
        CHANNEL_KEY_BYTES,
      ),
    );
  return { clientToServer: derive(CLIENT_TO_SERVER_LABEL), serverToClient: derive(SERVER_TO_CLIENT_LABEL) };
}

function isAllZero(bytes: Uint8Array): boolean {
  let bits = 0;
  for (const byte of bytes) bits |= byte;
  return bits === 0;
}

function assert(condition: boolean, invariant: string): asserts condition {
  if (!condition) throw new TransportInvariantError(`transport: ${invariant}`);
}
