/**
 * Looking peers up in the directory, checking this process's identity against it, and checking
 * limits against each other. Shared by both implementations so they refuse the same things.
 */
import { AgentBook } from './agents.ts';
import {
  bytesEqual,
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SECRET_KEY_BYTES,
  ED25519_SEED_BYTES,
  type TransportCrypto,
} from './crypto.ts';
import {
  type AgentEntry,
  type Directory,
  type FrameLimits,
  type Identity,
  type PeerId,
  parsePeer,
  REJECT_REASONS,
  type RefusalReason,
  type RejectReason,
  replicaPeer,
  TransportError,
} from './transport.ts';

export interface ReplicaEntry {
  readonly id: number;
  readonly peer: PeerId;
  readonly publicKey: Uint8Array;
  readonly host: string;
  readonly port: number;
}

/**
 * The directory indexed by peer id, so a handshake looks a key up in constant time. Its agents
 * change with `replaceAgents`; its replicas never do.
 */
export interface DirectoryIndex {
  readonly replicas: readonly ReplicaEntry[];
  /** The public key of a replica or agent, or undefined when the peer is not in the directory. */
  publicKeyOf(peer: PeerId): Uint8Array | undefined;
  /** Keys an agent held before its current one (see `agents.ts`); none for replicas. */
  retiredKeysOf(peer: PeerId): readonly Uint8Array[];
  isReplica(peer: PeerId): boolean;
  /** See `Transport.setAgents`: all or nothing, `INVALID_DIRECTORY` on a bad list. */
  replaceAgents(agents: readonly AgentEntry[], retired?: readonly AgentEntry[]): void;
}

export function indexDirectory(directory: Directory): DirectoryIndex {
  const keys = new Map<PeerId, Uint8Array>();
  const replicas: ReplicaEntry[] = [];
  for (const replica of directory.replicas) {
    const peer = replicaPeer(replica.id);
    if (!Number.isSafeInteger(replica.id) || replica.id < 0)
      throw new TransportError(
        'INVALID_DIRECTORY',
        `replica id must be a non-negative integer, got ${replica.id}`,
      );
    checkKey(peer, replica.publicKey, keys);
    keys.set(peer, replica.publicKey);
    replicas.push({
      id: replica.id,
      peer,
      publicKey: replica.publicKey,
      host: replica.host,
      port: replica.port,
    });
  }
  // Agent ids are `agent:…` and replica ids `replica:…`: an agent can never take a replica's place.
  const agents = new AgentBook(directory.agents, keys);
  return {
    replicas,
    publicKeyOf: (peer) => keys.get(peer) ?? agents.keyOf(peer),
    retiredKeysOf: (peer) => agents.retiredKeysOf(peer),
    isReplica: (peer) => parsePeer(peer)?.kind === 'replica' && keys.has(peer),
    replaceAgents: (list, retired) => agents.replace(list, retired),
  };
}

/**
 * Whether `peer` may connect, given a test of the key it proves it holds (a handshake signature,
 * or in memory the key itself): the key it holds, or why not. Both implementations decide by this,
 * so they refuse the same peers for the same reasons.
 */
export type Admission =
  | { readonly ok: true; readonly publicKey: Uint8Array }
  | { readonly ok: false; readonly reason: RejectReason };

export function admit(
  index: DirectoryIndex,
  peer: PeerId,
  holds: (publicKey: Uint8Array) => boolean,
): Admission {
  const publicKey = index.publicKeyOf(peer);
  if (publicKey === undefined)
    return { ok: false, reason: parsePeer(peer)?.kind === 'agent' ? 'UNKNOWN_AGENT' : 'UNKNOWN_PEER' };
  if (holds(publicKey)) return { ok: true, publicKey };
  return { ok: false, reason: index.retiredKeysOf(peer).some(holds) ? 'REVOKED_KEY' : 'BAD_SIGNATURE' };
}

/** Why an agent holding `publicKey` may no longer stay connected, if it may not. */
export function revocationOf(
  index: DirectoryIndex,
  peer: PeerId,
  publicKey: Uint8Array,
): RefusalReason | undefined {
  const current = index.publicKeyOf(peer);
  if (current === undefined) return 'UNKNOWN_AGENT';
  return bytesEqual(current, publicKey) ? undefined : 'REVOKED_KEY';
}

function checkKey(peer: PeerId, publicKey: Uint8Array, seen: Map<PeerId, Uint8Array>): void {
  if (seen.has(peer)) throw new TransportError('INVALID_DIRECTORY', `${peer} appears twice in the directory`);
  if (!(publicKey instanceof Uint8Array) || publicKey.byteLength !== ED25519_PUBLIC_KEY_BYTES)
    throw new TransportError(
      'INVALID_DIRECTORY',
      `${peer}: public key must be ${ED25519_PUBLIC_KEY_BYTES} bytes`,
    );
}

/**
 * Throws `INVALID_IDENTITY` unless the identity is a peer in the directory and its secret key
 * belongs to the directory's public key for it (a transport that would fail every handshake is a
 * configuration mistake to report at once, not a reconnect loop).
 */
export function checkIdentity(identity: Identity, index: DirectoryIndex, crypto: TransportCrypto): void {
  const publicKey = index.publicKeyOf(identity.peer);
  if (parsePeer(identity.peer) === undefined || publicKey === undefined)
    throw new TransportError('INVALID_IDENTITY', `${identity.peer} is not in the directory`);
  const secretKey = identity.secretKey;
  if (!(secretKey instanceof Uint8Array) || secretKey.byteLength !== ED25519_SECRET_KEY_BYTES)
    throw new TransportError(
      'INVALID_IDENTITY',
      `${identity.peer}: secret key must be ${ED25519_SECRET_KEY_BYTES} bytes`,
    );
  const derived = crypto.keyPairFromSeed(secretKey.subarray(0, ED25519_SEED_BYTES));
  if (
    !bytesEqual(derived.publicKey, publicKey) ||
    !bytesEqual(secretKey.subarray(ED25519_SEED_BYTES), publicKey)
  ) {
    throw new TransportError(
      'INVALID_IDENTITY',
      `${identity.peer}: the secret key does not match the directory's public key for this peer`,
    );
  }
}

/** Throws `INVALID_OPTIONS` unless `value` is a positive safe integer. */
export function checkPositive(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new TransportError('INVALID_OPTIONS', `${name} must be a positive integer, got ${value}`);
}

export function checkFrameLimits(limits: FrameLimits): void {
  checkPositive('frameBytesMax', limits.frameBytesMax);
  checkPositive('sendQueueFramesMax', limits.sendQueueFramesMax);
  checkPositive('sendQueueBytesMax', limits.sendQueueBytesMax);
  checkPositive('agentFrameBytesMax', limits.agentFrameBytesMax);
  checkPositive('agentSendQueueFramesMax', limits.agentSendQueueFramesMax);
  checkPositive('agentSendQueueBytesMax', limits.agentSendQueueBytesMax);
  checkPositive('agentSendQueueTotalBytesMax', limits.agentSendQueueTotalBytesMax);
  // Otherwise a frame that `send` accepts by size could never fit in the queue.
  if (limits.frameBytesMax > limits.sendQueueBytesMax)
    throw new TransportError('INVALID_OPTIONS', 'frameBytesMax must not exceed sendQueueBytesMax');
}

export function zeroRejections(): Record<RejectReason, number> {
  const counts = {} as Record<RejectReason, number>;
  for (const reason of REJECT_REASONS) counts[reason] = 0;
  return counts;
}
