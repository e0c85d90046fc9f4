/**
 * A KV store whose agent registry is part of its state: a put to `registry/<agent>` with a hex
 * public key registers the agent or rotates its key, an empty value removes it. Anyone may do
 * it (this is a test of core, not of governance: the coordination state machine decides who may).
 */
import {
  type AgentIdentity,
  type AgentKeys,
  decodeCanonical,
  fromHex,
  KvStateMachine,
} from '../../src/index.ts';

export const REGISTRY_PREFIX = 'registry/';

export class RegistryKvStateMachine extends KvStateMachine {
  readonly #genesis: readonly AgentIdentity[];
  #keys = new Map<string, Uint8Array>();
  #version = 0;

  constructor(hash: (data: Uint8Array) => Uint8Array, genesis: readonly AgentIdentity[]) {
    super(hash);
    this.#genesis = genesis;
    this.#rebuild();
  }

  override apply(operation: Uint8Array): Uint8Array {
    const result = super.apply(operation);
    const decoded = decodeCanonical(operation);
    const key = decoded.ok && Array.isArray(decoded.value) ? decoded.value[1] : undefined;
    if (typeof key === 'string' && key.startsWith(REGISTRY_PREFIX)) this.#rebuild();
    return result;
  }

  override restore(snapshot: Uint8Array): void {
    super.restore(snapshot);
    this.#rebuild();
  }

  agentKeys(): AgentKeys {
    return { version: this.#version, keys: this.#keys };
  }

  /** Genesis, then every registry entry in key order. */
  #rebuild(): void {
    const keys = new Map(this.#genesis.map((a) => [a.id, a.publicKey]));
    const entries = decodeCanonical(this.snapshot());
    for (const [key, value] of (entries.ok ? entries.value : []) as [string, string, number][]) {
      if (!key.startsWith(REGISTRY_PREFIX)) continue;
      const agent = key.slice(REGISTRY_PREFIX.length);
      if (value === '') keys.delete(agent);
      else keys.set(agent, fromHex(value));
    }
    this.#keys = keys;
    this.#version++;
  }
}
