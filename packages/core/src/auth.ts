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
  /**
   * `channelReplica` is the replica the transport authenticated as the sender of this frame
   * (every delivered frame's sender is authenticated: a mutual handshake, then a MAC on every
   * frame), or undefined when the frame did not arrive on a replica's channel.
   */
  verify(
    replyBytes: Uint8Array,
    authenticator: Uint8Array,
    replica: number,
    channelReplica?: number,
  ): boolean;
}

/** How replies are authenticated: `signature` (Ed25519, transferable) or `channel` (the transport's MAC). */
export type ReplyAuth = 'signature' | 'channel';
export const REPLY_AUTH_SCHEMES: readonly ReplyAuth[] = ['signature', 'channel'];

/**
 * The authenticator field of a channel-authenticated reply: 64 zero bytes. The reply's
 * authenticity is the channel's, so there is nothing to compute per reply (PBFT's MACs, done
 * once per frame by the transport). Replies authenticated this way convince only the agent that
 * received them; anything that must convince a third party is a receipt (`fetchReceipt`), which
 * is always built from replica signatures.
 */
export const CHANNEL_AUTHENTICATOR: Uint8Array = new Uint8Array(64);

export function signedReplies(crypto: CryptoBackend, secretKey: Uint8Array): ReplyAuthenticator {
  return { scheme: 'ed25519', authenticate: (bytes) => crypto.sign(bytes, secretKey) };
}

/** Replica side of `channel`: replies carry `CHANNEL_AUTHENTICATOR`; the transport authenticates them. */
export function channelReplies(): ReplyAuthenticator {
  return { scheme: 'channel', authenticate: () => CHANNEL_AUTHENTICATOR };
}

/**
 * Agent side of `channel`: a reply is accepted as replica r's only if the transport delivered it
 * on replica r's authenticated channel. Use only with a transport that authenticates every frame
 * (`channelAuthenticated`: both of @conclave/transport's do).
 */
export function channelReplyVerifier(): ReplyVerifier {
  return {
    scheme: 'channel',
    verify: (_bytes, _authenticator, replica, channelReplica) => channelReplica === replica,
  };
}

/**
 * Agent side, for either scheme: a reply carrying `CHANNEL_AUTHENTICATOR` is accepted as replica
 * r's only if it arrived on replica r's authenticated channel; any other reply must carry replica
 * r's signature. Both are sound over a transport that authenticates every frame, so an agent
 * need not know how the cluster is configured. (An all-zero authenticator is never tried as a
 * signature.)
 */
export function eitherReplyVerifier(crypto: CryptoBackend, cluster: ClusterConfig): ReplyVerifier {
  const signed = signedReplyVerifier(crypto, cluster);
  return {
    scheme: 'either',
    verify: (bytes, authenticator, replica, channelReplica) =>
      isChannelAuthenticator(authenticator)
        ? channelReplica === replica
        : signed.verify(bytes, authenticator, replica),
  };
}

/** True for the authenticator field of a channel-authenticated reply (64 zero bytes). */
export function isChannelAuthenticator(authenticator: Uint8Array): boolean {
  if (authenticator.byteLength !== CHANNEL_AUTHENTICATOR.byteLength) return false;
  for (const byte of authenticator) if (byte !== 0) return false;
  return true;
}

/** The authenticator a replica uses for `auth`. */
export function replyAuthenticatorFor(
  auth: ReplyAuth,
  crypto: CryptoBackend,
  secretKey: Uint8Array,
): ReplyAuthenticator {
  return auth === 'channel' ? channelReplies() : signedReplies(crypto, secretKey);
}

/** The verifier an agent uses for `auth` (`either`: whichever scheme the reply carries). */
export function replyVerifierFor(
  auth: ReplyAuth | 'either',
  crypto: CryptoBackend,
  cluster: ClusterConfig,
): ReplyVerifier {
  if (auth === 'either') return eitherReplyVerifier(crypto, cluster);
  return auth === 'channel' ? channelReplyVerifier() : signedReplyVerifier(crypto, cluster);
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
