/**
 * Byzantine replicas for demonstrations, as decorators around a replica's transport: the daemon
 * (`ReplicaDaemon.start({ decorateTransport })`, or `byzantine-replica.ts` as a process) and the
 * in-process cluster (`startInProcessCluster({ decorate })`) run honest code, and these wrap what
 * goes in and out. No production code path has a misbehaving mode.
 *
 * - `silent`: takes part in nothing, as a crashed or cut-off replica.
 * - `lyingReplies`: runs the protocol but tells agents a wrong result, validly authenticated —
 *   what an agent's f+1 matching replies are there to out-vote.
 */
import { fileURLToPath } from 'node:url';
import {
  CHANNEL_AUTHENTICATOR,
  type CryptoBackend,
  DEFAULT_DECODE_LIMITS,
  decodeFrame,
  encodeBody,
  encodeFrame,
  isChannelAuthenticator,
  MessageType,
} from '@conclave/core';
import { parsePeer, type Transport } from '@conclave/transport';

/** The Byzantine replica launcher, for `startReplica(…, { script })` (cli/byzantine-replica.ts). */
export const BYZANTINE_REPLICA_SCRIPT = fileURLToPath(new URL('./cli/byzantine-replica.ts', import.meta.url));

/** Who the decorated transport belongs to: what a lie needs to be signed as that replica. */
export interface DecoratedReplica {
  readonly replica: number;
  readonly secretKey: Uint8Array;
  readonly crypto: CryptoBackend;
}

export type TransportDecorator = (transport: Transport, self: DecoratedReplica) => Transport;

export const MISBEHAVIOURS = ['silent', 'lying-replies'] as const;
export type Misbehaviour = (typeof MISBEHAVIOURS)[number];

/** The decorator for a misbehaviour's name (as the launcher's `--misbehave` flag takes it). */
export function misbehaviour(name: Misbehaviour): TransportDecorator {
  return name === 'silent' ? silent : lyingReplies;
}

/** Drops every frame both ways; the transport still connects, so peers see it up and mute. */
export const silent: TransportDecorator = (transport) => ({
  ...delegate(transport),
  send: () => 'queued',
  onFrame: () => {},
});

/** Replaces the result of every reply to an agent by a lie, authenticated as the replica. */
export const lyingReplies: TransportDecorator = (transport, self) => ({
  ...delegate(transport),
  send: (to, frame) =>
    transport.send(
      to,
      parsePeer(to)?.kind === 'agent' ? lyingReply(frame, self.secretKey, self.crypto) : frame,
    ),
});

/**
 * Answers the first `count` quorum reads it serves with a lie (then honestly): two such replicas
 * make a quorum read disagree for a while, as replicas a batch apart do under load.
 */
export function lyingQueryReplies(count: number): TransportDecorator {
  let lies = 0;
  const lie = () => new TextEncoder().encode('a lie');
  return rewrittenQueryReplies((result) => (lies++ < count ? lie() : result));
}

/**
 * Rewrites the result of every quorum-read reply it sends (`rewrite` may return the result as
 * it is), signed as this replica: a Byzantine replica's own, validly authenticated answers.
 */
export function rewrittenQueryReplies(rewrite: (result: Uint8Array) => Uint8Array): TransportDecorator {
  return (transport, self) => ({
    ...delegate(transport),
    send: (to, frame) => {
      if (parsePeer(to)?.kind !== 'agent') return transport.send(to, frame);
      return transport.send(to, rewrittenReply(frame, self, MessageType.queryReply, rewrite));
    },
  });
}

/** A Byzantine replica's reply: same request, another result, signed with its own (valid) key. */
function lyingReply(
  frame: Uint8Array,
  secretKey: Uint8Array,
  crypto: CryptoBackend,
  type: MessageType = MessageType.reply,
): Uint8Array {
  return rewrittenReply(frame, { secretKey, crypto }, type, () => new TextEncoder().encode('a lie'));
}

/** A reply of `type` with its result rewritten, authenticated as the original was; other frames as they are. */
function rewrittenReply(
  frame: Uint8Array,
  self: Pick<DecoratedReplica, 'secretKey' | 'crypto'>,
  type: MessageType,
  rewrite: (result: Uint8Array) => Uint8Array,
): Uint8Array {
  const decoded = decodeFrame(frame, DEFAULT_DECODE_LIMITS, self.crypto.hash);
  if (!decoded.ok || decoded.value.body.type !== type) return frame;
  const original = (decoded.value.body as { readonly result: Uint8Array }).result;
  const result = rewrite(original);
  if (result === original) return frame;
  const body = { ...decoded.value.body, result };
  const bytes = encodeBody(body);
  // Authenticated as the honest reply was: signed with the liar's key, or by its (real) channel.
  const channel = isChannelAuthenticator(decoded.value.signature);
  return encodeFrame({
    body,
    bytes,
    signature: channel ? CHANNEL_AUTHENTICATOR : self.crypto.sign(bytes, self.secretKey),
  });
}

/** Every member of `transport`, bound to it, for a decorator to override some of. */
function delegate(transport: Transport): Transport {
  return {
    self: transport.self,
    channelAuthenticated: transport.channelAuthenticated,
    start: () => transport.start(),
    send: (to, frame) => transport.send(to, frame),
    onFrame: (handler) => transport.onFrame(handler),
    ...(transport.onPeer === undefined ? {} : { onPeer: (handler) => transport.onPeer?.(handler) }),
    connected: () => transport.connected(),
    stats: () => transport.stats(),
    close: () => transport.close(),
  };
}
