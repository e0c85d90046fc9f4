/**
 * A scripted agent: runs a fixed list of steps, each one signed request, in order. A step may
 * wait for a fact on a shared board (a proposal made, a rotation done), may be signed with any
 * key under any agent id (an attacker with a stolen or rotated-out key), and says which outcomes
 * it allows (see membership-outcomes.ts). Honest scripts wait for each answer (f+1 matching
 * replies) before the next step, re-sending; lying ones wait `patienceTicks` at most, and keep
 * listening. A step marked `race` goes out with the one before it, without waiting.
 *
 * Replies go to the agent id a request names. A request one agent signed as another is answered
 * to that other one, which hands the reply on through the board (`ReplyRouter`).
 */

import { decodeResult } from '@conclave/coordination';
import {
  type CryptoBackend,
  type DecodeLimits,
  decodeRefusal,
  openReply,
  type ReplyVerifier,
  toHex,
} from '@conclave/core';
import type { AgentSend } from './agent.ts';
import type { AcceptedRecord, AgentRecord, ExpectedOutcomeRecord, IssuedRequestRecord } from './record.ts';
import { signAndRecord } from './workload.ts';

/** Who signs a step's request: under which agent id, with which secret key, with which requestId. */
export interface Signer {
  readonly agent: string;
  readonly secretKey: Uint8Array;
  readonly requestId: number;
}

/** The answer f+1 replicas vouched for. */
export interface Answer {
  /** `ok`, a coordination error code, or `refused:<core code>`. */
  readonly outcome: string;
  readonly sequence: number;
  readonly result: Uint8Array;
}

export interface ScriptStep {
  readonly label: string;
  /** Issued once this holds (checked every tick). */
  readonly when?: () => boolean;
  /** The operation's bytes, built when the step is issued. */
  readonly operation: () => Uint8Array;
  /** Who signs; the agent itself with its current key by default. */
  readonly signer?: () => Signer;
  /** Outcomes allowed (empty: anything). */
  readonly allowed: readonly string[];
  /** Called once with the answer. */
  readonly onAnswer?: (answer: Answer) => void;
  /** Called with the signed frame when it is first sent. */
  readonly onFrame?: (frame: Uint8Array) => void;
  /** Skipped when `when` does not hold once the step before is settled (e.g. a rotation never answered). */
  readonly skippable?: boolean;
  /** Issued in the same tick as the step before, without waiting for its answer (a race). */
  readonly race?: boolean;
  /** Raw frames to send instead of signing one (a replay); no outcome is expected of them. */
  readonly replay?: () => readonly Uint8Array[];
  /**
   * A polling step: issued again (a fresh request) `pollTicks` after each answer, or after a
   * liar gave up waiting, for as long as this holds when it would be issued.
   */
  readonly again?: () => boolean;
  readonly pollTicks?: number;
}

/** Hands a reply to the agent that signed the request, whoever it was addressed to. */
export class ReplyRouter {
  readonly #issuers = new Map<string, ScriptedAgent>();

  claim(agent: string, requestId: number, issuer: ScriptedAgent): void {
    this.#issuers.set(`${agent}#${requestId}`, issuer);
  }

  issuerOf(agent: string, requestId: number): ScriptedAgent | undefined {
    return this.#issuers.get(`${agent}#${requestId}`);
  }
}

export interface ScriptedAgentOptions {
  readonly id: string;
  readonly honest: boolean;
  /** Its key in force; `setKey` changes it after a rotation. */
  readonly secretKey: Uint8Array;
  readonly steps: readonly ScriptStep[];
  readonly crypto: CryptoBackend;
  readonly verifier: ReplyVerifier;
  readonly decodeLimits: DecodeLimits;
  readonly faultsMax: number;
  readonly startTick: number;
  readonly thinkTicks: number;
  readonly retryTicks: number;
  readonly retryTicksMax: number;
  readonly created: Map<string, { readonly agent: string; readonly requestId: number }>;
  readonly router: ReplyRouter;
  /** A liar waits this long for an answer (re-sending) before its next step; honest agents wait for ever. */
  readonly patienceTicks?: number;
}

interface InFlight {
  readonly signer: string;
  readonly requestId: number;
  readonly step: ScriptStep;
  readonly outcome: ExpectedOutcomeRecord;
  readonly frame: Uint8Array;
  nextRetryTick: number;
  retryTicks: number;
  /** No more re-sends, and the next step may go, from this tick on. */
  readonly giveUpTick: number;
  /** `${sequence}:${resultHex}` → replicas that sent it. */
  readonly tally: Map<string, Set<number>>;
  answered: boolean;
}

export class ScriptedAgent {
  readonly id: string;
  repliesIgnored = 0;
  readonly #options: ScriptedAgentOptions;
  #secretKey: Uint8Array;
  #next = 0;
  #nextRequestId = 1;
  #nextIssueTick: number;
  /** Requests sent and not yet answered; an honest script has at most one. */
  readonly #inFlight = new Map<string, InFlight>();
  /** The step the next one waits for. */
  #waitingFor: InFlight | undefined;
  /** A polling step issued at least once, to issue again while its `again` holds. */
  #polling: ScriptStep | undefined;
  #agreedTimeSeen = 0;
  readonly #outcomes: ExpectedOutcomeRecord[] = [];
  readonly #issued: IssuedRequestRecord[] = [];
  readonly #accepted: AcceptedRecord[] = [];

  constructor(options: ScriptedAgentOptions) {
    this.id = options.id;
    this.#options = options;
    this.#secretKey = options.secretKey;
    this.#nextIssueTick = options.startTick;
  }

  get done(): boolean {
    return this.issuedAll && this.#inFlight.size === 0;
  }

  /** Every step sent (or skipped). */
  get issuedAll(): boolean {
    return this.#next >= this.#options.steps.length && this.#polling?.again?.() !== true;
  }

  /** The highest agreed time an answer f+1 replicas vouched for carried (0 before any). */
  get agreedTimeSeen(): number {
    return this.#agreedTimeSeen;
  }

  get secretKey(): Uint8Array {
    return this.#secretKey;
  }

  /** Signs from now on with this key (after its rotation took effect). */
  setKey(secretKey: Uint8Array): void {
    this.#secretKey = secretKey;
  }

  /** The next requestId under its own id (for a step that signs its own id with another key). */
  takeRequestId(): number {
    return this.#nextRequestId++;
  }

  /** What each of its steps had to produce and what it got. */
  outcomes(): readonly ExpectedOutcomeRecord[] {
    return this.#outcomes.map((outcome) => ({ ...outcome }));
  }

  record(): AgentRecord {
    return {
      id: this.id,
      honest: this.#options.honest,
      requestsPlanned: this.#options.honest ? this.#options.steps.length : 0,
      issued: [...this.#issued],
      accepted: [...this.#accepted],
    };
  }

  tick(now: number): AgentSend[] {
    const sends = this.#retries(now);
    const waiting = this.#waitingFor;
    if (waiting !== undefined && !waiting.answered && now < waiting.giveUpTick) return sends;
    if (now < this.#nextIssueTick) return sends;
    const polling = this.#polling;
    if (polling !== undefined) {
      if (polling.again?.() === true) {
        sends.push(...this.#issue(polling, now));
        return sends;
      }
      this.#polling = undefined;
    }
    if (this.#next >= this.#options.steps.length) return sends;
    let first = this.#options.steps[this.#next];
    while (first?.skippable === true && first.when?.() === false) first = this.#options.steps[++this.#next];
    if (first === undefined || (first.when !== undefined && !first.when())) return sends;
    this.#next++;
    sends.push(...this.#issue(first, now));
    // Steps that race the one before go out in the same tick.
    for (
      let step = this.#options.steps[this.#next];
      step?.race === true;
      step = this.#options.steps[this.#next]
    ) {
      this.#next++;
      sends.push(...this.#issue(step, now));
    }
    return sends;
  }

  /** Sends again what is unanswered: an honest agent until answered, a liar while it is patient. */
  #retries(now: number): AgentSend[] {
    const sends: AgentSend[] = [];
    for (const flight of this.#inFlight.values()) {
      if (flight.answered || now < flight.nextRetryTick || now >= flight.giveUpTick) continue;
      flight.nextRetryTick = now + flight.retryTicks;
      flight.retryTicks = Math.min(2 * flight.retryTicks, this.#options.retryTicksMax);
      sends.push({ to: { kind: 'replicas' }, frame: flight.frame });
    }
    return sends;
  }

  #issue(step: ScriptStep, now: number): AgentSend[] {
    this.#nextIssueTick = now + (step.pollTicks ?? this.#options.thinkTicks);
    if (step.again !== undefined) this.#polling = step;
    if (step.replay !== undefined)
      return step.replay().map((frame) => ({ to: { kind: 'replicas' as const }, frame }));
    const signer = step.signer?.() ?? {
      agent: this.id,
      secretKey: this.#secretKey,
      requestId: this.takeRequestId(),
    };
    const { frame, digest } = signAndRecord(
      signer.agent,
      signer.requestId,
      { bytes: step.operation() },
      { crypto: this.#options.crypto, secretKey: signer.secretKey, created: this.#options.created },
      this.#options.honest,
    );
    const outcome: ExpectedOutcomeRecord = {
      agent: this.id,
      signedAs: signer.agent,
      requestId: signer.requestId,
      label: step.label,
      honest: this.#options.honest,
      allowed: step.allowed,
    };
    this.#outcomes.push(outcome);
    if (signer.agent === this.id) this.#issued.push({ requestId: signer.requestId, digest, issuedTick: now });
    this.#options.router.claim(signer.agent, signer.requestId, this);
    step.onFrame?.(frame);
    const patience = this.#options.honest ? Number.POSITIVE_INFINITY : (this.#options.patienceTicks ?? 0);
    const flight: InFlight = {
      signer: signer.agent,
      requestId: signer.requestId,
      step,
      outcome,
      frame,
      nextRetryTick: now + this.#options.retryTicks,
      retryTicks: 2 * this.#options.retryTicks,
      giveUpTick: now + patience,
      tally: new Map(),
      answered: false,
    };
    this.#inFlight.set(`${signer.agent}#${signer.requestId}`, flight);
    this.#waitingFor = flight;
    return [{ to: { kind: 'replicas' }, frame }];
  }

  /** Takes one reply addressed to this agent; hands it on when another agent signed the request. */
  onReply(frame: Uint8Array, now: number): AcceptedRecord | undefined {
    const opened = openReply(frame, this.#options.verifier, this.#options.crypto, this.#options.decodeLimits);
    if (!opened.ok) {
      this.repliesIgnored++;
      return undefined;
    }
    const { reply } = opened;
    const issuer = this.#options.router.issuerOf(reply.agent, reply.requestId);
    if (issuer === undefined) {
      this.repliesIgnored++;
      return undefined;
    }
    return issuer.#take(reply, now);
  }

  #take(
    reply: { replica: number; agent: string; requestId: number; sequence: number; result: Uint8Array },
    now: number,
  ): AcceptedRecord | undefined {
    const flight = this.#inFlight.get(`${reply.agent}#${reply.requestId}`);
    if (flight === undefined || flight.answered) return undefined;
    const key = `${reply.sequence}:${toHex(reply.result)}`;
    const voters = flight.tally.get(key) ?? new Set<number>();
    flight.tally.set(key, voters);
    voters.add(reply.replica);
    if (voters.size !== this.#options.faultsMax + 1) return undefined;
    return this.#answered(flight, reply, now);
  }

  #answered(flight: InFlight, reply: { sequence: number; result: Uint8Array }, now: number): AcceptedRecord {
    flight.answered = true;
    this.#inFlight.delete(`${flight.signer}#${flight.requestId}`);
    const answer: Answer = {
      outcome: outcomeOf(reply.result),
      sequence: reply.sequence,
      result: reply.result,
    };
    const index = this.#outcomes.indexOf(flight.outcome);
    this.#outcomes[index] = {
      ...flight.outcome,
      outcome: answer.outcome,
      sequence: reply.sequence,
      tick: now,
    };
    const accepted = {
      requestId: flight.requestId,
      sequence: reply.sequence,
      result: toHex(reply.result),
      tick: now,
    };
    if (flight.signer === this.id) this.#accepted.push(accepted);
    const decoded = decodeResult(reply.result);
    if (decoded.ok) this.#agreedTimeSeen = Math.max(this.#agreedTimeSeen, decoded.at.timestamp);
    const pause = flight.step.pollTicks ?? this.#options.thinkTicks;
    if (this.#options.honest || flight.step.again !== undefined)
      this.#nextIssueTick = Math.max(this.#nextIssueTick, now + pause);
    flight.step.onAnswer?.(answer);
    return accepted;
  }
}

/** `ok`, the coordination error code, or `refused:<core code>`. */
export function outcomeOf(result: Uint8Array): string {
  const refusal = decodeRefusal(result);
  if (refusal !== undefined) return `refused:${refusal.code}`;
  const decoded = decodeResult(result);
  return decoded.ok ? 'ok' : decoded.code;
}
