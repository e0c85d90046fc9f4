/**
 * A small driver for coordination tests: virtual agreed time, one sequence per batch, agents
 * with deterministic keys, and typed results. No real time, no global randomness.
 */
import {
  type AgentIdentity,
  encodeBody,
  encodeJoinStatement,
  type KeyPair,
  MessageType,
  nodeCrypto,
  signJoinStatement,
} from '@conclave/core';
import { expect } from 'vitest';
import {
  type Ballot,
  type CoordinationLimits,
  type CoordinationResult,
  CoordinationStateMachine,
  type CouncilState,
  decodeResult,
  type GenesisAgent,
  ops,
  signBallot,
} from '../src/index.ts';

export const crypto = nodeCrypto();

const keyPairs = new Map<string, KeyPair>();

/** A deterministic key pair per name, cached (derivation is slow, and node:crypto caches key objects by identity). */
export function keyPairOf(name: string): KeyPair {
  const cached = keyPairs.get(name);
  if (cached !== undefined) return cached;
  const seed = new Uint8Array(32);
  const label = new TextEncoder().encode(`coordination-test/${name}`);
  seed.set(crypto.hash(label));
  const pair = crypto.keyPairFromSeed(seed);
  keyPairs.set(name, pair);
  return pair;
}

export const AGENTS = ['alice', 'bob', 'carol', 'dave', 'erin'] as const;

export function identities(names: readonly string[] = AGENTS): AgentIdentity[] {
  return names.map((id) => ({ id, publicKey: keyPairOf(id).publicKey }));
}

export type OkKind = Extract<CoordinationResult, { ok: true }>['kind'];
export type OkOf<K extends OkKind> = Extract<CoordinationResult, { ok: true; kind: K }>;

export class Driver {
  readonly sm: CoordinationStateMachine;
  readonly agents: GenesisAgent[];
  sequence = 0;
  time = 0;
  #requestIds = new Map<string, number>();

  constructor(
    options: {
      names?: readonly string[];
      limits?: Partial<CoordinationLimits>;
      council?: CouncilState;
      weights?: Readonly<Record<string, number>>;
      /** Genesis agents registered as observers (read-only). */
      observers?: readonly string[];
    } = {},
  ) {
    this.agents = identities(options.names ?? AGENTS).map((a) => ({
      ...a,
      ...(options.weights?.[a.id] === undefined ? {} : { weight: options.weights[a.id] }),
      ...(options.observers?.includes(a.id) === true ? { observer: true } : {}),
    }));
    // A small registry bound, so tests may raise per-agent quotas without breaking the snapshot fit.
    const limits = { agentsMax: 16, ...options.limits };
    this.sm = new CoordinationStateMachine({ crypto, agents: this.agents, limits, council: options.council });
  }

  /** Starts the next batch at agreed time `timestamp` (default: unchanged), calling advanceTime. */
  batch(timestamp = this.time): this {
    this.sequence += 1;
    this.time = timestamp;
    this.sm.advanceTime({ sequence: this.sequence, timestamp });
    return this;
  }

  /** Moves agreed time to `timestamp` with an empty heartbeat batch. */
  at(timestamp: number): this {
    return this.batch(timestamp);
  }

  nextRequestId(agent: string): number {
    const id = (this.#requestIds.get(agent) ?? 0) + 1;
    this.#requestIds.set(agent, id);
    return id;
  }

  /** Applies an operation from `agent` in the current batch. */
  apply(agent: string, operation: Uint8Array): CoordinationResult {
    if (this.sequence === 0) this.batch();
    const bytes = this.sm.apply(operation, {
      agent,
      requestId: this.nextRequestId(agent),
      sequence: this.sequence,
      timestamp: this.time,
    });
    return decodeResult(bytes);
  }

  ok<K extends OkKind>(kind: K, agent: string, operation: Uint8Array): OkOf<K> {
    const result = this.apply(agent, operation);
    if (!result.ok) throw new Error(`expected ${kind}, got ${result.code}: ${result.message}`);
    expect(result.kind).toBe(kind);
    return result as OkOf<K>;
  }

  error(agent: string, operation: Uint8Array, code: string): string {
    const result = this.apply(agent, operation);
    if (result.ok) throw new Error(`expected ${code}, got ok ${result.kind}`);
    expect(result.code, result.message).toBe(code);
    return result.message;
  }

  query(operation: Uint8Array): CoordinationResult {
    return decodeResult(this.sm.query(operation));
  }

  queryOk<K extends OkKind>(kind: K, operation: Uint8Array): OkOf<K> {
    const result = this.query(operation);
    if (!result.ok) throw new Error(`expected ${kind}, got ${result.code}: ${result.message}`);
    expect(result.kind).toBe(kind);
    return result as OkOf<K>;
  }

  /** Signs a ballot with `signer`'s key (default: the ballot's agent) and returns the vote operation. */
  voteOp(
    ballot: Partial<Ballot> & Pick<Ballot, 'proposalId' | 'agent' | 'choice'>,
    signer = ballot.agent,
  ): Uint8Array {
    const signed = signBallot(
      { reason: '', confidencePermille: 1000, ...ballot },
      keyPairOf(signer).secretKey,
      crypto,
    );
    return ops.vote(signed);
  }

  /** Casts a ballot from its agent. */
  vote(proposalId: string, agent: string, choice: Ballot['choice'], reason = ''): CoordinationResult {
    return this.apply(agent, this.voteOp({ proposalId, agent, choice, reason }));
  }

  /** A signed request body [1, agent, requestId, operation, publicKey], as the replicas would report it. */
  signedRequest(
    agent: string,
    requestId: number,
    operation: Uint8Array,
  ): { bytes: Uint8Array; signature: Uint8Array } {
    const { publicKey, secretKey } = keyPairOf(agent);
    const bytes = encodeBody({ type: MessageType.request, agent, requestId, operation, publicKey });
    return { bytes, signature: crypto.sign(bytes, secretKey) };
  }
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** An agent's join statement bytes for `id`, with the key of `keyName` (default: `id`), signed by `signer` (default: that key). */
export function joinOf(id: string, keyName = id, signer = keyName): Uint8Array {
  const claim = { role: 'agent' as const, id, publicKey: keyPairOf(keyName).publicKey, host: '', port: 0 };
  return encodeJoinStatement(signJoinStatement(claim, keyPairOf(signer).secretKey, crypto));
}
