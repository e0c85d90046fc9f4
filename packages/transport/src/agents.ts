/**
 * The agents of a directory, which change while the transport runs (`Transport.setAgents`): each
 * agent's current key, and the keys it held before (retired), so that an agent still using an
 * old key is told `REVOKED_KEY` instead of being taken for an impostor. Replicas never change.
 *
 * A new list is checked whole before anything changes: a bad one throws `INVALID_DIRECTORY` and
 * leaves the book as it was.
 */
import { bytesEqual, ED25519_PUBLIC_KEY_BYTES } from './crypto.ts';
import { type AgentEntry, agentPeer, type PeerId, TransportError } from './transport.ts';

/**
 * Retired keys remembered per agent, newest kept. Each is one more signature check for a
 * handshake that fails with the agent's current key, so the bound is also a bound on that work.
 */
export const RETIRED_KEYS_PER_AGENT_MAX = 4;

type Keys = ReadonlyMap<PeerId, Uint8Array>;
type RetiredKeys = ReadonlyMap<PeerId, readonly Uint8Array[]>;

export class AgentBook {
  /** Replicas' keys, which no agent may share. */
  readonly #replicaKeys: Keys;
  #current: Keys;
  #retired: RetiredKeys = new Map();

  constructor(agents: readonly AgentEntry[], replicaKeys: Keys) {
    this.#replicaKeys = replicaKeys;
    this.#current = indexAgents(agents, replicaKeys);
  }

  keyOf(peer: PeerId): Uint8Array | undefined {
    return this.#current.get(peer);
  }

  retiredKeysOf(peer: PeerId): readonly Uint8Array[] {
    return this.#retired.get(peer) ?? [];
  }

  /** Replaces every agent; the keys they lose, and `retired`, become retired keys. All or nothing. */
  replace(agents: readonly AgentEntry[], retired: readonly AgentEntry[] = []): void {
    const next = indexAgents(agents, this.#replicaKeys);
    for (const entry of retired) checkEntry(entry);
    this.#retired = retiredAfter(this.#current, this.#retired, next, retired);
    this.#current = next;
  }
}

/** The agents by peer id; throws `INVALID_DIRECTORY` on a bad entry, a repeated id, or a key used twice. */
function indexAgents(agents: readonly AgentEntry[], replicaKeys: Keys): Map<PeerId, Uint8Array> {
  if (!Array.isArray(agents)) throw new TransportError('INVALID_DIRECTORY', 'agents must be an array');
  const keys = new Map<PeerId, Uint8Array>();
  const keysSeen = new Set([...replicaKeys.values()].map(hex));
  for (const entry of agents) {
    const peer = checkEntry(entry);
    if (keys.has(peer))
      throw new TransportError('INVALID_DIRECTORY', `${peer} appears twice in the directory`);
    // One key, one peer: a shared key would let one peer's proof pass as another's.
    if (keysSeen.has(hex(entry.publicKey)))
      throw new TransportError('INVALID_DIRECTORY', `${peer}: its public key is already another peer's`);
    keysSeen.add(hex(entry.publicKey));
    keys.set(peer, entry.publicKey);
  }
  return keys;
}

/** The agent's peer id, once its id is a non-empty string and its key 32 bytes; else `INVALID_DIRECTORY`. */
function checkEntry(entry: AgentEntry): PeerId {
  if (typeof entry?.id !== 'string' || entry.id.length === 0)
    throw new TransportError('INVALID_DIRECTORY', 'agent id must be a non-empty string');
  const peer = agentPeer(entry.id);
  if (!(entry.publicKey instanceof Uint8Array) || entry.publicKey.byteLength !== ED25519_PUBLIC_KEY_BYTES)
    throw new TransportError(
      'INVALID_DIRECTORY',
      `${peer}: public key must be ${ED25519_PUBLIC_KEY_BYTES} bytes`,
    );
  return peer;
}

/**
 * Retired keys after an update: those before, the keys agents just lost, then `extra`; only for
 * agents still listed (an id not listed is `UNKNOWN_AGENT` whatever key it holds), never an
 * agent's current key, each once, the newest `RETIRED_KEYS_PER_AGENT_MAX` kept.
 */
function retiredAfter(
  current: Keys,
  retired: RetiredKeys,
  next: Keys,
  extra: readonly AgentEntry[],
): RetiredKeys {
  const result = new Map<PeerId, Uint8Array[]>();
  const add = (peer: PeerId, key: Uint8Array) => {
    const now = next.get(peer);
    if (now === undefined || bytesEqual(now, key)) return;
    const keys = result.get(peer) ?? [];
    if (keys.some((held) => bytesEqual(held, key))) return;
    keys.push(key);
    if (keys.length > RETIRED_KEYS_PER_AGENT_MAX) keys.shift();
    result.set(peer, keys);
  };
  for (const [peer, keys] of retired) for (const key of keys) add(peer, key);
  for (const [peer, key] of current) add(peer, key);
  for (const entry of extra) add(agentPeer(entry.id), entry.publicKey);
  return result;
}

const hex = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
