/**
 * Signing, and the swappable reply authentication.
 *
 * Replica-to-replica messages are always Ed25519-signed: view changes, checkpoints and receipts
 * need proofs a third party can check. Replies to agents only need to convince that agent, so
 * their authentication is a port: signatures by default; a MAC keyed by a session key from the
 * transport's mutually authenticated handshake can replace it (as PBFT does with MACs).
 * Whatever the authenticator produces must be 64 bytes (an Ed25519 signature, or e.g. HMAC-SHA-512).
 */
import type { ClusterConfig } from './config.ts';
import type { CryptoBackend } from './crypto.ts';
import { type Body, encodeBody, type Signed } from './messages.ts';

export function signBody<B extends Body>(body: B, crypto: CryptoBackend, secretKey: Uint8Array): Signed<B> {
  const bytes = encodeBody(body);
  return { body, bytes, signature: crypto.sign(bytes, secretKey) };
}

/** Replica side: authenticates a reply's body bytes for one agent. */
export interface ReplyAuthenticator {
  readonly scheme: string;
  authenticate(replyBytes: Uint8Array, agent: string): Uint8Array;
}

/** Agent side: checks a reply's authenticator as coming from `replica`. */
export interface ReplyVerifier {
  readonly scheme: string;
  verify(replyBytes: Uint8Array, authenticator: Uint8Array, replica: number): boolean;
}

export function signedReplies(crypto: CryptoBackend, secretKey: Uint8Array): ReplyAuthenticator {
  return { scheme: 'ed25519', authenticate: (bytes) => crypto.sign(bytes, secretKey) };
}

export function signedReplyVerifier(crypto: CryptoBackend, cluster: ClusterConfig): ReplyVerifier {
  return {
    scheme: 'ed25519',
    verify: (bytes, authenticator, replica) => {
      const identity = cluster.replicas[replica];
      return identity !== undefined && crypto.verify(bytes, authenticator, identity.publicKey);
    },
  };
}
