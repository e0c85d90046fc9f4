/**
 * The membership suite's cast (issue 16): scripted agents that change the registry while the
 * cluster runs, and liars that attack it. Genesis: agent-0..2 honest, mallory-0..1 lying; the
 * council is agent-0, agent-1 and mallory-1, threshold 2. `newcomer` is not in genesis.
 *
 * Honest (every answer must be `ok`, and every step must be answered):
 * - agent-0 writes, proposes registering `newcomer` (its own join statement), approves, proposes
 *   removing mallory-1, approves, writes, and writes once more when the liars have sent every
 *   attack (liars leave the run with the honest agents);
 * - agent-1 writes, approves both actions, opens a third action proposal nobody approves, writes;
 * - agent-2 writes, rotates its own key (`rotate_key`) and writes on under the new key;
 * - newcomer, once registered, writes.
 *
 * Attacks (allowed outcomes in brackets; `refused:*` is core's refusal):
 * - mallory-1 (on the council) proposes registering `sybil` with agent-0's public key and a join
 *   statement signed by its own key: someone else's key without its proof [INVALID_JOIN];
 * - mallory-0 (not on the council) proposes registering itself a second key and removing agent-0
 *   [NOT_COUNCIL], and rotates its key to agent-1's, signed by its own key [INVALID_JOIN];
 * - mallory-1 votes on the open action proposal and proposes an action after its removal, with
 *   its removed key [refused:UNKNOWN_AGENT, or never ordered]; its vote against its removal
 *   races it [ok, CLOSED, NOT_COUNCIL, refused:UNKNOWN_AGENT];
 * - once agent-2 rotated, mallory-0 replays agent-2's frames signed by the old key, and signs
 *   new requests as agent-2 with the rotated-out key (stolen) [refused:REVOKED_KEY, or never
 *   ordered];
 * - mallory-0 races its own rotation: `rotate_key` and, in the same tick, writes signed by the
 *   old key [ok, or refused:REVOKED_KEY once the rotation took effect]; then writes under the
 *   new key once the rotation is answered [ok].
 *
 * No request may execute under a key outside its validity interval (`keyValidity`), whatever
 * the interleaving.
 */
import { actions, ops, signBallot } from '@conclave/coordination';
import { type CryptoBackend, encodeJoinStatement, type KeyPair, signJoinStatement } from '@conclave/core';
import type { Prng } from './prng.ts';
import type { ExpectedOutcomeRecord } from './record.ts';
import {
  type Answer,
  ReplyRouter,
  ScriptedAgent,
  type ScriptedAgentOptions,
  type ScriptStep,
} from './scripted-agent.ts';

export const COUNCIL = Object.freeze({ members: ['agent-0', 'agent-1', 'mallory-1'], threshold: 2 });
export const NEWCOMER = 'newcomer';
/** Requests an attacker signs as another agent number from here, clear of that agent's own. */
const FORGED_REQUEST_ID_BASE = 1_000_000;
/** A liar waits this many retry periods for an answer before its next step. */
const LIAR_PATIENCE_RETRIES = 2;
/** Action proposals stay open this long (agreed-time ticks). */
const DEADLINE_TICKS = 100_000;

/** What the cast is made from: genesis keys by id, fresh keys, and the agents' settings. */
export interface CastContext {
  readonly crypto: CryptoBackend;
  readonly keys: ReadonlyMap<string, KeyPair>;
  readonly keyStream: Prng;
  readonly prng: Prng;
  /** Ordinary writes per honest agent, before and after its membership steps. */
  readonly writes: number;
  readonly agent: Omit<
    ScriptedAgentOptions,
    'id' | 'honest' | 'secretKey' | 'steps' | 'router' | 'startTick'
  >;
  readonly startTicksMax: number;
}

/** The board the cast shares: facts the scripts wait for. */
class Board {
  readonly facts = new Set<string>();
  /** Agent-2's frames signed by its first key, for mallory-0 to replay. */
  readonly oldFrames: Uint8Array[] = [];
  /** Whether the liars sent all their attacks: agent-0 stays (and so the run) until then. */
  liarsDone: () => boolean = () => true;
  has = (fact: string) => () => this.facts.has(fact);
  note = (fact: string) => (answer: Answer) => {
    if (answer.outcome === 'ok') this.facts.add(fact);
  };
}

export interface Cast {
  readonly honest: readonly ScriptedAgent[];
  readonly liars: readonly ScriptedAgent[];
  outcomes(): ExpectedOutcomeRecord[];
}

export function membershipCast(context: CastContext): Cast {
  const board = new Board();
  const router = new ReplyRouter();
  const fresh = () => context.crypto.keyPairFromSeed(context.keyStream.bytes(32));
  const newKeys = { newcomer: fresh(), agent2: fresh(), mallory0: fresh() };
  const key = (id: string) => context.keys.get(id) as KeyPair;
  const make = (
    id: string,
    honest: boolean,
    secretKey: Uint8Array,
    steps: (self: () => ScriptedAgent) => ScriptStep[],
  ) => {
    let agent: ScriptedAgent | undefined;
    agent = new ScriptedAgent({
      ...context.agent,
      patienceTicks: LIAR_PATIENCE_RETRIES * context.agent.retryTicks,
      id,
      honest,
      secretKey,
      router,
      startTick: context.prng.int(context.startTicksMax + 1),
      steps: steps(() => agent as ScriptedAgent),
    });
    return agent;
  };
  const scripts = new Scripts(context, board, newKeys, key);
  const liars: ScriptedAgent[] = [];
  const honest = [
    make('agent-0', true, key('agent-0').secretKey, (self) => scripts.agent0(self)),
    make('agent-1', true, key('agent-1').secretKey, (self) => scripts.agent1(self)),
    make('agent-2', true, key('agent-2').secretKey, (self) => scripts.agent2(self)),
    make(NEWCOMER, true, newKeys.newcomer.secretKey, (self) => scripts.newcomer(self)),
  ];
  liars.push(
    make('mallory-0', false, key('mallory-0').secretKey, (self) => scripts.mallory0(self)),
    make('mallory-1', false, key('mallory-1').secretKey, (self) => scripts.mallory1(self)),
  );
  board.liarsDone = () => liars.every((liar) => liar.issuedAll);
  return { honest, liars, outcomes: () => [...honest, ...liars].flatMap((agent) => agent.outcomes()) };
}

const OK = ['ok'] as const;

/** The scripts, one method per agent (see the file comment). */
class Scripts {
  #forged = FORGED_REQUEST_ID_BASE;

  constructor(
    readonly context: CastContext,
    readonly board: Board,
    readonly newKeys: { readonly newcomer: KeyPair; readonly agent2: KeyPair; readonly mallory0: KeyPair },
    readonly key: (id: string) => KeyPair,
  ) {}

  writes(self: () => ScriptedAgent, label: string, count = this.context.writes): ScriptStep[] {
    return Array.from({ length: count }, (_, i) => ({
      label: `${label} write ${i + 1}`,
      operation: () =>
        ops.kvPut({ key: `${self().id}/k${i % 3}`, value: new TextEncoder().encode(`${label}.${i}`) }),
      allowed: OK,
    }));
  }

  join(id: string, publicKey: Uint8Array, signedWith: Uint8Array): Uint8Array {
    const claim = { role: 'agent' as const, id, publicKey, host: '', port: 0 };
    return encodeJoinStatement(signJoinStatement(claim, signedWith, this.context.crypto));
  }

  vote(self: () => ScriptedAgent, proposalId: string, choice: 'approve' | 'reject'): Uint8Array {
    const ballot = {
      proposalId,
      agent: self().id,
      choice,
      reason: `${self().id} on ${proposalId}`,
      confidencePermille: 900,
    };
    return ops.vote(signBallot(ballot, self().secretKey, this.context.crypto));
  }

  proposeStep(
    label: string,
    proposalId: string,
    action: Parameters<typeof ops.proposeAction>[0]['action'],
    allowed: readonly string[],
  ): ScriptStep {
    return {
      label,
      operation: () => ops.proposeAction({ proposalId, deadline: DEADLINE_TICKS, action }),
      allowed,
      onAnswer: this.board.note(`proposed:${proposalId}`),
    };
  }

  approveStep(self: () => ScriptedAgent, proposalId: string, fact: string): ScriptStep {
    return {
      label: `approve ${proposalId}`,
      when: this.board.has(`proposed:${proposalId}`),
      operation: () => this.vote(self, proposalId, 'approve'),
      allowed: OK,
      onAnswer: (answer) => {
        if (answer.outcome !== 'ok') return;
        // The action executes with the approval that reaches the threshold (2 of the council).
        const count = `${fact}#${self().id}`;
        this.board.facts.add(count);
        if (['agent-0', 'agent-1'].every((id) => this.board.facts.has(`${fact}#${id}`)))
          this.board.facts.add(fact);
      },
    };
  }

  agent0(self: () => ScriptedAgent): ScriptStep[] {
    const newcomer = this.newKeys.newcomer;
    return [
      ...this.writes(self, 'agent-0 before'),
      this.proposeStep(
        'register newcomer',
        'p-register',
        actions.registerAgent({
          joinStatement: this.join('newcomer', newcomer.publicKey, newcomer.secretKey),
        }),
        OK,
      ),
      this.approveStep(self, 'p-register', 'registered:newcomer'),
      this.proposeStep('remove mallory-1', 'p-remove', actions.removeAgent('mallory-1'), OK),
      this.approveStep(self, 'p-remove', 'removed:mallory-1'),
      ...this.writes(self, 'agent-0 after'),
      {
        label: "agent-0 write after the liars' attacks",
        when: () => this.board.liarsDone(),
        operation: () => ops.kvPut({ key: 'agent-0/last', value: new TextEncoder().encode('last') }),
        allowed: OK,
      },
    ];
  }

  agent1(self: () => ScriptedAgent): ScriptStep[] {
    return [
      ...this.writes(self, 'agent-1 before'),
      this.approveStep(self, 'p-register', 'registered:newcomer'),
      this.approveStep(self, 'p-remove', 'removed:mallory-1'),
      // Open for good: nobody approves it (agent-0 holds its two proposals' quota).
      this.proposeStep('open proposal', 'p-open', actions.setAgentWeight('agent-2', 2), OK),
      ...this.writes(self, 'agent-1 after'),
    ];
  }

  agent2(self: () => ScriptedAgent): ScriptStep[] {
    const next = this.newKeys.agent2;
    const before = this.writes(self, 'agent-2 old key').map((step) => ({
      ...step,
      // Its frames under the first key, for mallory-0 to replay once it rotated.
      onFrame: (frame: Uint8Array) => this.board.oldFrames.push(frame),
    }));
    return [
      ...before,
      {
        label: 'rotate own key',
        operation: () =>
          ops.rotateKey({ joinStatement: this.join('agent-2', next.publicKey, next.secretKey) }),
        allowed: OK,
        onAnswer: (answer) => {
          if (answer.outcome !== 'ok') return;
          self().setKey(next.secretKey);
          this.board.facts.add('rotated:agent-2');
        },
      },
      ...this.writes(self, 'agent-2 new key'),
    ];
  }

  newcomer(self: () => ScriptedAgent): ScriptStep[] {
    return this.writes(self, 'newcomer').map((step) => ({
      ...step,
      when: this.board.has('registered:newcomer'),
    }));
  }

  mallory0(self: () => ScriptedAgent): ScriptStep[] {
    const own = this.key('mallory-0');
    const next = this.newKeys.mallory0;
    const oldAgent2 = this.key('agent-2');
    const stolen = (): { agent: string; secretKey: Uint8Array; requestId: number } => ({
      agent: 'agent-2',
      secretKey: oldAgent2.secretKey,
      requestId: this.#forged++,
    });
    const afterRotation = this.board.has('rotated:agent-2');
    return [
      this.proposeStep(
        'propose without the council: register a second key',
        'm0-register',
        actions.registerAgent({ joinStatement: this.join('mallory-0b', next.publicKey, next.secretKey) }),
        ['NOT_COUNCIL'],
      ),
      this.proposeStep(
        'propose without the council: remove agent-0',
        'm0-remove',
        actions.removeAgent('agent-0'),
        ['NOT_COUNCIL'],
      ),
      {
        label: "rotate to agent-1's key without its proof",
        operation: () =>
          ops.rotateKey({
            joinStatement: this.join('mallory-0', this.key('agent-1').publicKey, own.secretKey),
          }),
        allowed: ['INVALID_JOIN'],
      },
      {
        label: "replay agent-2's frames signed by its rotated-out key",
        when: afterRotation,
        operation: () => new Uint8Array(),
        replay: () => [...this.board.oldFrames],
        allowed: [],
      },
      ...[1, 2].map((i) => ({
        label: `write as agent-2 with its rotated-out key (${i})`,
        when: afterRotation,
        signer: stolen,
        operation: () => ops.kvPut({ key: 'agent-2/k0', value: new TextEncoder().encode(`forged ${i}`) }),
        allowed: ['refused:REVOKED_KEY'],
      })),
      ...this.raceOwnRotation(self, next),
    ];
  }

  /** rotate_key and writes signed by the old key in one tick; then a write under the new key. */
  raceOwnRotation(self: () => ScriptedAgent, next: KeyPair): ScriptStep[] {
    const racing = [1, 2, 3].map((i) => ({
      label: `write under the old key racing the rotation (${i})`,
      race: true,
      operation: () => ops.kvPut({ key: 'mallory-0/k0', value: new TextEncoder().encode(`race ${i}`) }),
      allowed: ['ok', 'refused:REVOKED_KEY'],
    }));
    return [
      {
        label: 'rotate own key (racing its own writes)',
        operation: () =>
          ops.rotateKey({ joinStatement: this.join('mallory-0', next.publicKey, next.secretKey) }),
        // Ordered after one of its racing writes (a higher requestId), it is a stale duplicate: no answer.
        allowed: OK,
        onAnswer: (answer) => {
          if (answer.outcome !== 'ok') return;
          self().setKey(next.secretKey);
          this.board.facts.add('rotated:mallory-0');
        },
      },
      ...racing,
      {
        label: 'write under the new key',
        when: this.board.has('rotated:mallory-0'),
        skippable: true,
        operation: () => ops.kvPut({ key: 'mallory-0/k1', value: new TextEncoder().encode('new key') }),
        allowed: OK,
      },
    ];
  }

  mallory1(self: () => ScriptedAgent): ScriptStep[] {
    const removed = this.board.has('removed:mallory-1');
    return [
      this.proposeStep(
        "register someone else's key without its proof",
        'm1-sybil',
        actions.registerAgent({
          joinStatement: this.join('sybil', this.key('agent-0').publicKey, this.key('mallory-1').secretKey),
        }),
        ['INVALID_JOIN'],
      ),
      {
        label: 'vote against its own removal (races it)',
        when: this.board.has('proposed:p-remove'),
        operation: () => this.vote(self, 'p-remove', 'reject'),
        allowed: ['ok', 'CLOSED', 'NOT_COUNCIL', 'refused:UNKNOWN_AGENT'],
      },
      {
        label: 'vote with its removed key',
        when: () => removed() && this.board.facts.has('proposed:p-open'),
        operation: () => this.vote(self, 'p-open', 'approve'),
        allowed: ['refused:UNKNOWN_AGENT'],
      },
      {
        ...this.proposeStep('propose with its removed key', 'm1-after', actions.removeAgent('agent-1'), [
          'refused:UNKNOWN_AGENT',
        ]),
        when: removed,
      },
    ];
  }
}
