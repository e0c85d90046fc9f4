/**
 * The client side of the handshake, on a connection we dialled to a replica: we check that the
 * replica answering is the one we dialled, send our signed proof, and open the connection once
 * the replica's own proof verifies. See `handshake.ts` for the messages and what each signature
 * covers.
 */
import { randomBytes } from 'node:crypto';
import { channel } from '../channel.ts';
import {
  clientProof,
  deriveChannelKeys,
  ephemeralKeyPair,
  type HandshakeKeys,
  NONCE_BYTES,
  parseServerHello,
  parseServerProof,
  parseServerRefusal,
  type Session,
  verifyServerProof,
  verifyServerRefusal,
} from '../handshake.ts';
import type { PeerId } from '../transport.ts';
import type { Connection, HandshakeContext, HandshakeStep } from './connection.ts';

/** Takes the server's next message: its hello first, then its proof. */
export function answerServer(
  connection: Connection,
  bytes: Uint8Array,
  context: HandshakeContext,
): HandshakeStep {
  const session = connection.session;
  return session === undefined
    ? answerServerHello(connection, bytes, context)
    : checkServerProof(connection, bytes, session, context);
}

/** Checks the hello names the replica we dialled, then sends our proof over the session it proposes. */
function answerServerHello(
  connection: Connection,
  bytes: Uint8Array,
  { self, keys }: HandshakeContext,
): HandshakeStep {
  const expected = connection.peer as PeerId;
  const hello = parseServerHello(bytes);
  if (hello === undefined) return { next: 'fail', reason: 'HANDSHAKE_FAILED' };
  if (hello.server !== expected) return { next: 'fail', reason: 'WRONG_PEER' };
  const ephemeral = ephemeralKeyPair();
  const proposed: Session = {
    server: expected,
    client: self,
    serverNonce: hello.serverNonce,
    clientNonce: randomBytes(NONCE_BYTES),
    serverEphemeral: hello.serverEphemeral,
    clientEphemeral: ephemeral.publicKey,
  };
  // Derived now, so a bad ephemeral fails before we sign anything; trusted only after the server's proof.
  const channelKeys = deriveChannelKeys(ephemeral, 'client', proposed);
  if (channelKeys === undefined) return { next: 'fail', reason: 'HANDSHAKE_FAILED' };
  connection.session = proposed;
  connection.channel = channel('client', channelKeys);
  connection.socket.send(clientProof(keys, proposed));
  return { next: 'continue' };
}

/** Checks the server signed the session with the key the directory holds for the replica we dialled. */
function checkServerProof(
  connection: Connection,
  bytes: Uint8Array,
  session: Session,
  { keys, index }: HandshakeContext,
): HandshakeStep {
  const expected = connection.peer as PeerId;
  const publicKey = index.publicKeyOf(expected) as Uint8Array;
  const signature = parseServerProof(bytes);
  if (signature === undefined) return checkServerRefusal(bytes, session, publicKey, keys);
  if (!verifyServerProof(keys.crypto, session, signature, publicKey))
    return { next: 'fail', reason: 'BAD_SIGNATURE' };
  connection.session = undefined;
  return { next: 'open', peer: expected };
}

/** The replica refused us: believed only when it signed the refusal over this very handshake. */
function checkServerRefusal(
  bytes: Uint8Array,
  session: Session,
  publicKey: Uint8Array,
  keys: HandshakeKeys,
): HandshakeStep {
  const refusal = parseServerRefusal(bytes);
  if (refusal === undefined) return { next: 'fail', reason: 'HANDSHAKE_FAILED' };
  if (!verifyServerRefusal(keys.crypto, session, refusal, publicKey))
    return { next: 'fail', reason: 'BAD_SIGNATURE' };
  return { next: 'refused', reason: refusal.reason };
}
