/**
 * A Byzantine agent: a registered agent that signs whatever it likes with its own key. It
 * equivocates (two different requests under one requestId, to different replicas), replays its
 * old requests, skips ahead and goes back in requestIds, bursts past the pending-request limit,
 * claims to be an honest agent (with its own signature, so it fails), and sends garbage.
 *
 * What it signs is recorded as created (it did sign it, so executing it is valid); what it
 * forges is not (so executing it is a validity violation). Its replies are ignored, and no
 * promise is checked on its behalf except the replicas' own: exactly once, one order.
 */
import {
  type CryptoBackend,
  createRequest,
  encodeCanonical,
  encodeFrame,
  encodeKvOperation,
  MessageType,
  signBody,
  toHex,
} from '@conclave/core';
import type { AgentSend } from './agent.ts';
import type { Prng } from './prng.ts';
import type { AgentRecord } from './record.ts';

export const BYZANTINE_AGENT_LIMITS = Object.freeze({
  /** Frames one Byzantine agent sends over a run. */
  framesMax: 150,
  /** Requests sent at once by a burst. */
  burstRequests: 12,
  /** Frames remembered for replay. */
  rememberedMax: 32,
});

/** Probability of one misdeed per tick: frequent enough to matter, rare enough to keep runs small. */
const ACTION_PER_TICK = 0.05;

export interface ByzantineAgentOptions {
  readonly id: string;
  readonly secretKey: Uint8Array;
  readonly crypto: CryptoBackend;
  readonly prng: Prng;
  readonly replicaCount: number;
  readonly keyCount: number;
  /** Honest agents it may pretend to be. */
  readonly victims: readonly string[];
  readonly created: Map<string, { readonly agent: string; readonly requestId: number }>;
}

export class ByzantineAgent {
  readonly id: string;
  readonly #options: ByzantineAgentOptions;
  readonly #remembered: Uint8Array[] = [];
  #nextRequestId = 1;
  #sent = 0;
  /** Misdeeds done, by kind, for verbose output and tests. */
  readonly counts: Record<string, number> = {};

  constructor(options: ByzantineAgentOptions) {
    this.id = options.id;
    this.#options = options;
  }

  /** A Byzantine agent has no answers to wait for. */
  get done(): boolean {
    return true;
  }

  record(): AgentRecord {
    return { id: this.id, honest: false, requestsPlanned: 0, issued: [], accepted: [] };
  }

  onReply(): void {}

  tick(_now: number): AgentSend[] {
    const prng = this.#options.prng;
    if (this.#sent >= BYZANTINE_AGENT_LIMITS.framesMax || !prng.chance(ACTION_PER_TICK)) return [];
    const action = prng.pick([
      'equivocate',
      'replay',
      'skipAhead',
      'goBack',
      'burst',
      'impersonate',
      'garbage',
    ] as const);
    this.counts[action] = (this.counts[action] ?? 0) + 1;
    const sends = this.#act(action);
    const allowed = sends.slice(0, BYZANTINE_AGENT_LIMITS.framesMax - this.#sent);
    this.#sent += allowed.length;
    return allowed;
  }

  #act(
    action: 'equivocate' | 'replay' | 'skipAhead' | 'goBack' | 'burst' | 'impersonate' | 'garbage',
  ): AgentSend[] {
    const prng = this.#options.prng;
    switch (action) {
      case 'equivocate': {
        const requestId = this.#nextRequestId++;
        const a = this.#request(requestId);
        const b = this.#request(requestId);
        const replicas = prng.shuffle(this.#replicas());
        const half = prng.range(1, replicas.length - 1);
        return replicas.map((id, index) => ({ to: { kind: 'replica', id }, frame: index < half ? a : b }));
      }
      case 'replay': {
        if (this.#remembered.length === 0) return [];
        return [{ to: this.#somewhere(), frame: prng.pick(this.#remembered) }];
      }
      case 'skipAhead': {
        this.#nextRequestId += prng.range(2, 20);
        return [{ to: this.#somewhere(), frame: this.#request(this.#nextRequestId++) }];
      }
      case 'goBack': {
        const requestId = prng.range(1, Math.max(1, this.#nextRequestId - 1));
        return [{ to: this.#somewhere(), frame: this.#request(requestId) }];
      }
      case 'burst': {
        const sends: AgentSend[] = [];
        for (let i = 0; i < BYZANTINE_AGENT_LIMITS.burstRequests; i++) {
          sends.push({ to: { kind: 'replicas' }, frame: this.#request(this.#nextRequestId++) });
        }
        return sends;
      }
      case 'impersonate': {
        // A victim's id signed with our key: must fail verification and never run.
        const victim = prng.pick(this.#options.victims);
        const operation = encodeKvOperation({ op: 'put', key: 'k0', value: `forged-by-${this.id}` });
        const forged = signBody(
          { type: MessageType.request, agent: victim, requestId: 1_000_000 + prng.int(1000), operation },
          this.#options.crypto,
          this.#options.secretKey,
        );
        return [{ to: { kind: 'replicas' }, frame: encodeFrame(forged) }];
      }
      case 'garbage':
        return [
          {
            to: this.#somewhere(),
            frame: prng.chance(0.5)
              ? prng.bytes(prng.range(1, 512))
              : encodeCanonical([prng.bytes(40), prng.bytes(64), [[1, [[prng.bytes(8), prng.bytes(64)]]]]]),
          },
        ];
    }
  }

  /** A request we sign (so it is valid, and recorded as created). */
  #request(requestId: number): Uint8Array {
    const options = this.#options;
    const prng = options.prng;
    const operation = encodeKvOperation({
      op: 'put',
      key: `k${prng.int(options.keyCount)}`,
      value: `${this.id}.${requestId}.${prng.int(1_000_000)}`,
    });
    const { request, frame } = createRequest(
      { agent: this.id, requestId, operation },
      options.crypto,
      options.secretKey,
    );
    options.created.set(toHex(options.crypto.hash(request.bytes)), { agent: this.id, requestId });
    if (this.#remembered.length < BYZANTINE_AGENT_LIMITS.rememberedMax) this.#remembered.push(frame);
    else this.#remembered[prng.int(BYZANTINE_AGENT_LIMITS.rememberedMax)] = frame;
    return frame;
  }

  #replicas(): number[] {
    return Array.from({ length: this.#options.replicaCount }, (_, id) => id);
  }

  #somewhere(): AgentSend['to'] {
    const prng = this.#options.prng;
    return prng.chance(0.3)
      ? { kind: 'replicas' }
      : { kind: 'replica', id: prng.int(this.#options.replicaCount) };
  }
}
