/**
 * The connection handshake: both ends prove they hold the key the directory names for them.
 *
 * ```
 * server → client  [1, serverPeer, serverNonce]
 * client → server  [2, clientPeer, clientNonce, sign_client(['conclave/handshake/v1/client', serverPeer, clientPeer, serverNonce, clientNonce])]
 * server → client  [3, sign_server(['conclave/handshake/v1/server', serverPeer, clientPeer, serverNonce, clientNonce])]
 * ```
 *
 * Every message is canonical msgpack (`encodeCanonical`), and so is what each signature covers.
 * Each side's signature covers the other side's fresh 32-byte nonce, so a recorded handshake
 * cannot be replayed, and both peer ids, so a proof made for one server is worthless at another.
 * The two contexts differ, so a client proof can never pass as a server proof.
 *
 * Parsers never throw: anything that is not exactly the expected shape is `undefined`.
 */
import {
  type Canonical,
  type CryptoBackend,
  decodeCanonical,
  encodeCanonical,
  SIGNATURE_BYTES,
} from '@conclave/core';
import { type PeerId, parsePeer } from './transport.ts';

export const NONCE_BYTES = 32;
/** Bytes of one handshake message at most (the largest, a client proof, is under 250). */
export const HANDSHAKE_BYTES_MAX = 1024;

const CLIENT_CONTEXT = 'conclave/handshake/v1/client';
const SERVER_CONTEXT = 'conclave/handshake/v1/server';

const SERVER_HELLO = 1;
const CLIENT_PROOF = 2;
const SERVER_PROOF = 3;

export interface HandshakeKeys {
  readonly crypto: CryptoBackend;
  readonly secretKey: Uint8Array;
}

export interface ClientProof {
  readonly client: PeerId;
  readonly clientNonce: Uint8Array;
  readonly signature: Uint8Array;
}

function transcript(
  context: string,
  server: PeerId,
  client: PeerId,
  serverNonce: Uint8Array,
  clientNonce: Uint8Array,
): Uint8Array {
  return encodeCanonical([context, server, client, serverNonce, clientNonce]);
}

function decodeTuple(bytes: Uint8Array, type: number, length: number): readonly unknown[] | undefined {
  const decoded = decodeCanonical(bytes);
  if (!decoded.ok || !Array.isArray(decoded.value)) return undefined;
  const tuple = decoded.value as readonly unknown[];
  return tuple.length === length && tuple[0] === type ? tuple : undefined;
}

const isBytes = (value: unknown, length: number): value is Uint8Array =>
  value instanceof Uint8Array && value.byteLength === length;

const isPeer = (value: unknown): value is PeerId =>
  typeof value === 'string' && parsePeer(value) !== undefined;

export function serverHello(server: PeerId, serverNonce: Uint8Array): Uint8Array {
  return encodeCanonical([SERVER_HELLO, server, serverNonce] as Canonical);
}

export function parseServerHello(bytes: Uint8Array): { server: PeerId; serverNonce: Uint8Array } | undefined {
  const tuple = decodeTuple(bytes, SERVER_HELLO, 3);
  if (tuple === undefined || !isPeer(tuple[1]) || !isBytes(tuple[2], NONCE_BYTES)) return undefined;
  return { server: tuple[1], serverNonce: tuple[2] };
}

export function clientProof(
  keys: HandshakeKeys,
  server: PeerId,
  client: PeerId,
  serverNonce: Uint8Array,
  clientNonce: Uint8Array,
): Uint8Array {
  const signature = keys.crypto.sign(
    transcript(CLIENT_CONTEXT, server, client, serverNonce, clientNonce),
    keys.secretKey,
  );
  return encodeCanonical([CLIENT_PROOF, client, clientNonce, signature]);
}

export function parseClientProof(bytes: Uint8Array): ClientProof | undefined {
  const tuple = decodeTuple(bytes, CLIENT_PROOF, 4);
  if (
    tuple === undefined ||
    !isPeer(tuple[1]) ||
    !isBytes(tuple[2], NONCE_BYTES) ||
    !isBytes(tuple[3], SIGNATURE_BYTES)
  ) {
    return undefined;
  }
  return { client: tuple[1], clientNonce: tuple[2], signature: tuple[3] };
}

export function verifyClientProof(
  crypto: CryptoBackend,
  server: PeerId,
  serverNonce: Uint8Array,
  proof: ClientProof,
  publicKey: Uint8Array,
): boolean {
  const signed = transcript(CLIENT_CONTEXT, server, proof.client, serverNonce, proof.clientNonce);
  return crypto.verify(signed, proof.signature, publicKey);
}

export function serverProof(
  keys: HandshakeKeys,
  server: PeerId,
  client: PeerId,
  serverNonce: Uint8Array,
  clientNonce: Uint8Array,
): Uint8Array {
  const signature = keys.crypto.sign(
    transcript(SERVER_CONTEXT, server, client, serverNonce, clientNonce),
    keys.secretKey,
  );
  return encodeCanonical([SERVER_PROOF, signature]);
}

export function parseServerProof(bytes: Uint8Array): Uint8Array | undefined {
  const tuple = decodeTuple(bytes, SERVER_PROOF, 2);
  return tuple !== undefined && isBytes(tuple[1], SIGNATURE_BYTES) ? tuple[1] : undefined;
}

export function verifyServerProof(
  crypto: CryptoBackend,
  proof: {
    readonly server: PeerId;
    readonly client: PeerId;
    readonly serverNonce: Uint8Array;
    readonly clientNonce: Uint8Array;
    readonly signature: Uint8Array;
    readonly publicKey: Uint8Array;
  },
): boolean {
  const signed = transcript(SERVER_CONTEXT, proof.server, proof.client, proof.serverNonce, proof.clientNonce);
  return crypto.verify(signed, proof.signature, proof.publicKey);
}
