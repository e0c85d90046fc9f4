/**
 * The membership suite's scripts, one method per agent of the cast (what each does, and what
 * each attack must produce, is told in membership-agents.ts), and the board they share: facts
 * the scripts wait for, such as a proposal made or a rotation done.
 */
import { actions, ops, signBallot } from '@conclave/coordination';
import { type CryptoBackend, encodeJoinStatement, type KeyPair, signJoinStatement } from '@conclave/core';
import type { Prng } from './prng.ts';
import type { Answer, ScriptedAgent, ScriptedAgentOptions, ScriptStep } from './scripted-agent.ts';

/** Requests an attacker signs as another agent number from here, clear of that agent's own. */
const FORGED_REQUEST_ID_BASE = 1_000_000;
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
  /** Whether `newcomer` is registered as an observer: its writes and votes must then be READ_ONLY. */
  readonly newcomerObserver?: boolean;
  readonly agent: Omit<
    ScriptedAgentOptions,
    'id' | 'honest' | 'secretKey' | 'steps' | 'router' | 'startTick'
  >;
  readonly startTicksMax: number;
}

/** Keys the cast makes during the run (never in genesis). */
export interface NewKeys {
  readonly newcomer: KeyPair;
  readonly agent2: KeyPair;
  readonly mallory0: KeyPair;
}

/** The board the cast shares: facts the scripts wait for. */
export class Board {
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

const OK = ['ok'] as const;

/** The scripts, one method per agent (see membership-agents.ts). */
export class Scripts {
  #forged = FORGED_REQUEST_ID_BASE;

  constructor(
    readonly context: CastContext,
    readonly board: Board,
    readonly newKeys: NewKeys,
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
          observer: this.context.newcomerObserver === true,
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

  /** A full newcomer writes; an observer's writes and its vote are refused, its read answered. */
  newcomer(self: () => ScriptedAgent): ScriptStep[] {
    const registered = this.board.has('registered:newcomer');
    const writes = this.writes(self, 'newcomer').map((step) => ({ ...step, when: registered }));
    if (this.context.newcomerObserver !== true) return writes;
    return [
      ...writes.map((step) => ({ ...step, allowed: ['READ_ONLY'] })),
      {
        label: 'observer votes on the open action proposal',
        when: () => registered() && this.board.facts.has('proposed:p-open'),
        operation: () => this.vote(self, 'p-open', 'approve'),
        allowed: ['READ_ONLY'],
      },
      {
        label: 'observer reads',
        when: registered,
        operation: () => ops.kvGet({ key: 'agent-0/k0' }),
        allowed: ['ok', 'NOT_FOUND'],
      },
    ];
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
