/**
 * The server side of the handshake, on a connection a client opened to our listener: we send a
 * hello with fresh values, check the client's signed proof against the directory, and answer with
 * our own proof. See `handshake.ts` for the messages and what each signature covers.
 */
import { randomBytes } from 'node:crypto';
import { channel } from '../channel.ts';
import { admit } from '../directory.ts';
import {
  deriveChannelKeys,
  ephemeralKeyPair,
  HANDSHAKE_BYTES_MAX,
  type HandshakeKeys,
  NONCE_BYTES,
  parseClientProof,
  type Session,
  serverHello,
  serverProof,
  serverRefusal,
  sessionOf,
  verifyClientProof,
} from '../handshake.ts';
import type { PeerId, RejectReason } from '../transport.ts';
import {
  type Connection,
  type HandshakeContext,
  type HandshakeStep,
  limitMessageBytes,
  type ServerHelloSecrets,
} from './connection.ts';

/** A nonce and an ephemeral key pair for one inbound connection, never reused. */
export function freshServerHello(): ServerHelloSecrets {
  return { nonce: randomBytes(NONCE_BYTES), ephemeral: ephemeralKeyPair() };
}

/** Sends our hello; until the client's proof, it may send no message larger than a handshake message. */
export function sendServerHello(connection: Connection, self: PeerId): void {
  const hello = connection.hello as ServerHelloSecrets;
  limitMessageBytes(connection.socket, HANDSHAKE_BYTES_MAX);
  connection.socket.send(serverHello(self, hello.nonce, hello.ephemeral.publicKey));
}

/**
 * Checks the client's proof. When it holds, derives the channel, sends our proof and opens the
 * connection as the client it proved to be.
 */
export function answerClientProof(
  connection: Connection,
  bytes: Uint8Array,
  { self, keys, index }: HandshakeContext,
): HandshakeStep {
  const proof = parseClientProof(bytes);
  if (proof === undefined) return { next: 'fail', reason: 'HANDSHAKE_FAILED' };
  // Replicas accept replicas and registered agents; an agent never listens.
  if (proof.client === self) return { next: 'fail', reason: 'UNKNOWN_PEER' };
  const hello = connection.hello as ServerHelloSecrets;
  const session = sessionOf(
    { server: self, serverNonce: hello.nonce, serverEphemeral: hello.ephemeral.publicKey },
    proof,
  );
  // Read now, as the proof arrives: a `setAgents` that returned before decides this handshake.
  const admission = admit(index, proof.client, (publicKey) =>
    verifyClientProof(keys.crypto, session, proof.signature, publicKey),
  );
  if (!admission.ok) return refuseOrFail(connection, admission.reason, { keys, session });
  // Only after the signature: an unauthenticated client cannot make us do the key exchange.
  const channelKeys = deriveChannelKeys(hello.ephemeral, 'server', session);
  if (channelKeys === undefined) return { next: 'fail', reason: 'HANDSHAKE_FAILED' };
  connection.hello = undefined;
  connection.peerKey = admission.publicKey;
  connection.channel = channel('server', channelKeys);
  connection.socket.send(serverProof(keys, session));
  return { next: 'open', peer: proof.client };
}

/**
 * An agent refused for a reason it should know (removed, or its key rotated) is told so in a
 * signed refusal; any other failure is only counted, as before.
 */
function refuseOrFail(
  connection: Connection,
  reason: RejectReason,
  { keys, session }: { keys: HandshakeKeys; session: Session },
): HandshakeStep {
  if (reason !== 'UNKNOWN_AGENT' && reason !== 'REVOKED_KEY') return { next: 'fail', reason };
  connection.socket.send(serverRefusal(keys, session, reason));
  return { next: 'refuse', reason };
}
