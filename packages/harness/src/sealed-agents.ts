/**
 * The sealed suite's cast (issue 17): scripted agents that open sealed proposals, commit, wait
 * until a certified answer shows agreed time at or past the commit deadline, and reveal; and two
 * liars that attack the commit-reveal rules. Genesis: agent-0..2 honest, mallory-0..1 lying;
 * every one of them votes on every proposal.
 *
 * Proposals (the seed draws the rules' parameters and the honest choices):
 * - `s-threshold` (agent-0): threshold k of 2 or 3, a missing reveal counts as abstain or reject;
 * - `s-score` (agent-1): score over alpha/beta/gamma by median or trimmed mean, 2 ballots at least;
 * - `s-weighted` (agent-2): weighted (agent-0 and mallory-1 weigh 2), approve weight 3.
 * Each proposer reads agreed time with an ordered read and sets the commit deadline
 * `commitTicks` after it, the deadline `revealTicks` after that.
 *
 * Honest agents (every answer must be `ok`): commit on each proposal once it is open, then per
 * proposal poll it (an ordered read, answered by f+1) until agreed time >= its commit deadline
 * and reveal, then poll until it is decided. Their ballots carry a distinctive reason, which
 * `sealedSecrecy` looks for in the replicas' state before the commit deadline.
 *
 * Attacks (allowed outcomes in brackets):
 * - mallory-0 on s-threshold: commits to X; reveals X at once [REVEAL_TOO_EARLY]; casts X as a
 *   plain vote [SEALED]; after the commit deadline reveals Y with X's salt [REVEAL_MISMATCH:
 *   evidence `reveal_mismatch`, excluded], then X itself [REVEAL_MISMATCH: still excluded];
 * - mallory-1 on s-threshold: commits twice with different seals [EQUIVOCATION: evidence
 *   `commitment`, excluded]; reveals the first after the deadline [EQUIVOCATION];
 * - mallory-0 on s-score: commits, then from shortly before the commit deadline (by agreed time
 *   seen) reveals again and again by wall time until one is taken [REVEAL_TOO_EARLY until `ok`]:
 *   with the `earlyReveals` primary, agreed time lags and those reveals land before the deadline;
 * - mallory-1 on s-score: reads a victim's commitment (`get_commitment`), commits to the victim's
 *   seal under its own name [ok], sends the victim's signed commitment as its own
 *   [FORGED_BALLOT]; once the victim revealed, reveals the victim's signed ballot [FORGED_BALLOT]
 *   and its own ballot with the victim's choice, reason and salt [REVEAL_MISMATCH] — never counted;
 * - mallory-0 on s-weighted: commits, reveals only once agreed time >= the deadline [EXPIRED]:
 *   a `no_reveal` evidence item, counted as the proposal's missingReveal;
 * - mallory-1 on s-weighted: commits and never reveals (the same); replays a victim's revealed
 *   ballot [FORGED_BALLOT].
 * A liar's commit that comes too late may get COMMIT_CLOSED, a reveal EXPIRED.
 */
import {
  type Ballot,
  type Choice,
  DEFAULT_COORDINATION_LIMITS,
  decodeCommitment,
  decodeResult,
  deriveSealSalt,
  type MissingReveal,
  ops,
  type Rule,
  sealOf,
  signBallot,
  signCommitment,
} from '@conclave/coordination';
import { type KeyPair, toHex } from '@conclave/core';
import type { CastContext } from './membership-scripts.ts';
import type { Prng } from './prng.ts';
import type { ExpectedOutcomeRecord } from './record.ts';
import { type Answer, ReplyRouter, ScriptedAgent, type ScriptStep } from './scripted-agent.ts';

export const SEALED_VOTERS = ['agent-0', 'agent-1', 'agent-2', 'mallory-0', 'mallory-1'] as const;
export const SEALED_PROPOSALS = ['s-threshold', 's-score', 's-weighted'] as const;
export type SealedProposalId = (typeof SEALED_PROPOSALS)[number];
const CANDIDATES = ['alpha', 'beta', 'gamma'] as const;
/** Ticks between two polls of an honest agent waiting for agreed time. */
export const SEALED_POLL_TICKS = 30;
/** Ticks between two of mallory-0's racing reveals. */
const RACE_TICKS = 7;
/** mallory-0 starts racing once it has seen agreed time this close to the commit deadline. */
const RACE_LEAD_TICKS = 150;
/**
 * A liar waits this many retry periods for an answer before its next step: long enough that its
 * attacks on one proposal are ordered in the order it sends them (a commit, then a second one).
 */
const LIAR_PATIENCE_RETRIES = 50;

export interface SealedCastContext extends CastContext {
  /** Agreed-time ticks from the proposer's read to the commit deadline, and from there to the deadline. */
  readonly commitTicks: number;
  readonly revealTicks: number;
}

export interface SealedCast {
  readonly honest: readonly ScriptedAgent[];
  readonly liars: readonly ScriptedAgent[];
  outcomes(): ExpectedOutcomeRecord[];
}

/** What the proposer's answer fixed: the terms every voter waits on. */
interface Terms {
  readonly commitDeadline: number;
  readonly deadline: number;
}

/** A ballot sealed for one voter on one proposal: what it commits and what it reveals. */
interface SealedBallot {
  readonly ballot: Ballot;
  readonly ballotBytes: Uint8Array;
  readonly signature: Uint8Array;
  readonly salt: Uint8Array;
  readonly seal: Uint8Array;
  readonly commitmentBytes: Uint8Array;
  readonly commitmentSignature: Uint8Array;
}

/** Facts the cast shares: proposals' terms, commitments and reveals made. */
class Board {
  readonly terms = new Map<string, Terms>();
  readonly facts = new Set<string>();
  /** `proposalId:agent` → the honest voter's sealed ballot, once its reveal was answered `ok`. */
  readonly revealed = new Map<string, SealedBallot>();
  liarsDone: () => boolean = () => true;
}

const OK = ['ok'] as const;

class SealedScripts {
  readonly #board = new Board();
  readonly #context: SealedCastContext;
  readonly #prng: Prng;
  readonly #rules: Record<SealedProposalId, { rule: Rule; missingReveal: MissingReveal }>;

  constructor(context: SealedCastContext) {
    this.#context = context;
    this.#prng = context.prng;
    const k = this.#prng.range(2, 3);
    this.#rules = {
      's-threshold': {
        rule: { kind: 'threshold', k },
        missingReveal: this.#prng.chance(0.5) ? 'abstain' : 'reject',
      },
      's-score': {
        rule: this.#prng.chance(0.5)
          ? { kind: 'score', aggregate: 'median', trimPermille: 0, minBallots: 2 }
          : { kind: 'score', aggregate: 'trimmed_mean', trimPermille: 200, minBallots: 2 },
        missingReveal: 'abstain',
      },
      's-weighted': {
        rule: { kind: 'weighted', approveWeight: 3 },
        missingReveal: this.#prng.chance(0.5) ? 'abstain' : 'reject',
      },
    };
  }

  get board(): Board {
    return this.#board;
  }

  key(id: string): KeyPair {
    return this.#context.keys.get(id) as KeyPair;
  }

  /** A choice the seed draws for a proposal's rule (honest voters lean to approve). */
  choice(proposalId: SealedProposalId): Choice {
    if (proposalId === 's-score') return CANDIDATES.map((c) => [c, this.#prng.int(11)] as [string, number]);
    const roll = this.#prng.next();
    return roll < 0.6 ? 'approve' : roll < 0.85 ? 'reject' : 'abstain';
  }

  /** `agent`'s ballot on `proposalId`, sealed with the SDK's salt (or `salt`), committed to `seal` if given. */
  seal(
    agent: string,
    proposalId: string,
    choice: Choice,
    reason: string,
    options: { salt?: Uint8Array; seal?: Uint8Array } = {},
  ): SealedBallot {
    const { crypto } = this.#context;
    const secretKey = this.key(agent).secretKey;
    const ballot: Ballot = { proposalId, agent, choice, reason, confidencePermille: 800 };
    const signed = signBallot(ballot, secretKey, crypto);
    const salt = options.salt ?? deriveSealSalt(proposalId, agent, (m) => crypto.sign(m, secretKey), crypto);
    const seal = options.seal ?? sealOf(proposalId, agent, signed.ballotBytes, salt, crypto);
    const commitment = signCommitment({ proposalId, agent, seal }, secretKey, crypto);
    return {
      ballot,
      ballotBytes: signed.ballotBytes,
      signature: signed.signature,
      salt,
      seal,
      commitmentBytes: commitment.commitmentBytes,
      commitmentSignature: commitment.signature,
    };
  }

  /** A reason nobody else writes: what the secrecy checker looks for before the commit deadline. */
  reason(agent: string, proposalId: string): string {
    return `${agent} on ${proposalId}: ${toHex(this.#prng.bytes(8))}`;
  }

  proposed(proposalId: string): () => boolean {
    return () => this.#board.terms.has(proposalId);
  }

  terms(proposalId: string): Terms {
    const terms = this.#board.terms.get(proposalId);
    if (terms === undefined) throw new RangeError(`${proposalId} is not proposed yet`);
    return terms;
  }

  /** Read agreed time (an ordered read), then open the proposal from it. */
  proposeSteps(self: () => ScriptedAgent, proposalId: SealedProposalId): ScriptStep[] {
    const { rule, missingReveal } = this.#rules[proposalId];
    const voters = SEALED_VOTERS.map((agent) => ({
      agent,
      weight: proposalId === 's-weighted' && (agent === 'agent-0' || agent === 'mallory-1') ? 2 : 1,
    }));
    let terms: Terms | undefined;
    return [
      {
        label: `read agreed time before opening ${proposalId}`,
        operation: () => ops.listAgents({ limit: 1 }),
        allowed: OK,
      },
      {
        label: `open ${proposalId}`,
        operation: () => {
          const commitDeadline = self().agreedTimeSeen + this.#context.commitTicks;
          terms = { commitDeadline, deadline: commitDeadline + this.#context.revealTicks };
          return ops.propose({
            proposalId,
            title: `sealed ${rule.kind}`,
            rule,
            voters,
            deadline: terms.deadline,
            candidates: rule.kind === 'score' ? [...CANDIDATES] : [],
            sealed: { commitDeadline, missingReveal },
          });
        },
        allowed: OK,
        onAnswer: (answer) => {
          if (answer.outcome === 'ok' && terms !== undefined) this.#board.terms.set(proposalId, terms);
        },
      },
    ];
  }

  commitStep(
    label: string,
    sealed: () => SealedBallot,
    allowed: readonly string[],
    when?: () => boolean,
  ): ScriptStep {
    return {
      label,
      ...(when === undefined ? {} : { when }),
      operation: () => {
        const s = sealed();
        return ops.commit({ commitmentBytes: s.commitmentBytes, signature: s.commitmentSignature });
      },
      allowed,
    };
  }

  revealStep(
    label: string,
    sealed: () => SealedBallot,
    allowed: readonly string[],
    extra: Partial<ScriptStep> = {},
  ): ScriptStep {
    return {
      label,
      operation: () => {
        const s = sealed();
        return ops.reveal({ ballotBytes: s.ballotBytes, signature: s.signature, salt: s.salt });
      },
      allowed,
      ...extra,
    };
  }

  /** Polls `proposalId` (an ordered read) until the agent has seen agreed time >= `at()`. */
  waitForTime(self: () => ScriptedAgent, proposalId: string, label: string, at: () => number): ScriptStep {
    return {
      label: `poll ${proposalId} until ${label}`,
      operation: () => ops.getProposal({ proposalId }),
      allowed: [],
      again: () => self().agreedTimeSeen < at(),
      pollTicks: SEALED_POLL_TICKS,
    };
  }

  /** Polls `proposalId` until an answer shows it decided. */
  waitForDecision(proposalId: string): ScriptStep {
    let decided = false;
    return {
      label: `poll ${proposalId} until decided`,
      operation: () => ops.getProposal({ proposalId }),
      allowed: OK,
      again: () => !decided,
      pollTicks: SEALED_POLL_TICKS,
      onAnswer: (answer) => {
        const result = decodeResult(answer.result);
        if (result.ok && result.kind === 'proposal' && result.proposal.status !== 'open') decided = true;
      },
    };
  }

  honest(self: () => ScriptedAgent, id: string, opens: SealedProposalId): ScriptStep[] {
    const ballots = new Map(
      SEALED_PROPOSALS.map((p) => [p, this.seal(id, p, this.choice(p), this.reason(id, p))] as const),
    );
    const ballot = (p: SealedProposalId) => () => ballots.get(p) as SealedBallot;
    const steps: ScriptStep[] = [...this.proposeSteps(self, opens)];
    for (const p of SEALED_PROPOSALS)
      steps.push(this.commitStep(`commit on ${p}`, ballot(p), OK, this.proposed(p)));
    for (const p of SEALED_PROPOSALS) {
      steps.push(this.waitForTime(self, p, 'the commit deadline', () => this.terms(p).commitDeadline));
      steps.push(
        this.revealStep(`reveal on ${p}`, ballot(p), OK, {
          onAnswer: (answer: Answer) => {
            if (answer.outcome === 'ok')
              this.#board.revealed.set(`${p}:${id}`, ballots.get(p) as SealedBallot);
          },
        }),
      );
    }
    for (const p of SEALED_PROPOSALS) steps.push(this.waitForDecision(p));
    if (id === 'agent-0')
      steps.push({
        label: "agent-0 write after the liars' attacks",
        when: () => this.#board.liarsDone(),
        operation: () => ops.kvPut({ key: 'agent-0/last', value: new TextEncoder().encode('last') }),
        allowed: OK,
      });
    return steps;
  }

  mallory0(self: () => ScriptedAgent): ScriptStep[] {
    const id = 'mallory-0';
    const x = this.seal(id, 's-threshold', 'approve', this.reason(id, 's-threshold'));
    const y = this.seal(id, 's-threshold', 'reject', 'changed my mind', { salt: x.salt });
    const score = this.seal(id, 's-score', this.choice('s-score'), this.reason(id, 's-score'));
    const late = this.seal(id, 's-weighted', 'approve', this.reason(id, 's-weighted'));
    let raced = false;
    return [
      this.commitStep(
        'commit X on s-threshold',
        () => x,
        ['ok', 'COMMIT_CLOSED'],
        this.proposed('s-threshold'),
      ),
      this.revealStep('reveal X before the commit deadline', () => x, ['REVEAL_TOO_EARLY']),
      {
        label: 'cast X as a plain vote on a sealed proposal',
        operation: () => ops.vote({ ballotBytes: x.ballotBytes, signature: x.signature }),
        allowed: ['SEALED'],
      },
      this.commitStep('commit on s-score', () => score, ['ok', 'COMMIT_CLOSED'], this.proposed('s-score')),
      this.commitStep(
        'commit on s-weighted',
        () => late,
        ['ok', 'COMMIT_CLOSED'],
        this.proposed('s-weighted'),
      ),
      this.waitForTime(self, 's-score', 'just before the commit deadline', () =>
        Math.max(0, this.terms('s-score').commitDeadline - RACE_LEAD_TICKS),
      ),
      this.revealStep(
        'reveal racing the commit deadline',
        () => score,
        ['REVEAL_TOO_EARLY', 'ok', 'EXPIRED'],
        {
          again: () => !raced,
          pollTicks: RACE_TICKS,
          onAnswer: (answer: Answer) => {
            if (answer.outcome !== 'REVEAL_TOO_EARLY') raced = true;
          },
        },
      ),
      this.waitForTime(
        self,
        's-threshold',
        'the commit deadline',
        () => this.terms('s-threshold').commitDeadline,
      ),
      this.revealStep('reveal Y against the commitment to X', () => y, ['REVEAL_MISMATCH', 'EXPIRED']),
      this.revealStep('reveal X once excluded', () => x, ['REVEAL_MISMATCH', 'EXPIRED']),
      this.waitForTime(self, 's-weighted', 'the deadline', () => this.terms('s-weighted').deadline),
      this.revealStep('reveal after the deadline', () => late, ['EXPIRED']),
    ];
  }

  mallory1(self: () => ScriptedAgent): ScriptStep[] {
    const id = 'mallory-1';
    const victim = this.#prng.pick(['agent-0', 'agent-1', 'agent-2']);
    const first = this.seal(id, 's-threshold', 'approve', this.reason(id, 's-threshold'));
    const second = this.seal(id, 's-threshold', 'reject', this.reason(id, 's-threshold'));
    const silent = this.seal(id, 's-weighted', 'reject', this.reason(id, 's-weighted'));
    let victimSeal: Uint8Array | undefined;
    let victimCommitment: { bytes: Uint8Array; signature: Uint8Array } | undefined;
    const copied = () =>
      this.seal(id, 's-score', [['alpha', 0]], 'copied', { seal: victimSeal ?? new Uint8Array(32) });
    const victimBallot = (p: string) => () => this.#board.revealed.get(`${p}:${victim}`) as SealedBallot;
    const victimRevealed = (p: string) => () => this.#board.revealed.has(`${p}:${victim}`);
    // Its own ballot with the victim's choice and reason, under the victim's salt: the seal binds the voter.
    const lookalike = () => {
      const theirs = victimBallot('s-score')();
      return this.seal(id, 's-score', theirs.ballot.choice, theirs.ballot.reason, { salt: theirs.salt });
    };
    return [
      this.commitStep(
        'commit A on s-threshold',
        () => first,
        ['ok', 'COMMIT_CLOSED'],
        this.proposed('s-threshold'),
      ),
      this.commitStep('commit B on s-threshold (equivocation)', () => second, ['EQUIVOCATION']),
      {
        label: `read ${victim}'s commitment on s-score`,
        when: this.proposed('s-score'),
        operation: () => ops.getCommitment({ proposalId: 's-score', agent: victim }),
        allowed: [],
        again: () => victimSeal === undefined && self().agreedTimeSeen < this.terms('s-score').commitDeadline,
        pollTicks: SEALED_POLL_TICKS,
        onAnswer: (answer: Answer) => {
          const result = decodeResult(answer.result);
          if (!result.ok || result.kind !== 'commitment') return;
          const decoded = decodeCommitment(result.commitmentBytes, DEFAULT_COORDINATION_LIMITS);
          if (!decoded.ok) return;
          victimSeal = decoded.commitment.seal;
          victimCommitment = { bytes: result.commitmentBytes, signature: result.signature };
        },
      },
      {
        ...this.commitStep(`commit to ${victim}'s seal on s-score`, copied, ['ok', 'COMMIT_CLOSED']),
        when: () => victimSeal !== undefined,
        skippable: true,
      },
      {
        label: `send ${victim}'s signed commitment as its own`,
        when: () => victimCommitment !== undefined,
        skippable: true,
        operation: () => {
          const c = victimCommitment as { bytes: Uint8Array; signature: Uint8Array };
          return ops.commit({ commitmentBytes: c.bytes, signature: c.signature });
        },
        allowed: ['FORGED_BALLOT'],
      },
      this.commitStep(
        'commit on s-weighted (never revealed)',
        () => silent,
        ['ok', 'COMMIT_CLOSED'],
        this.proposed('s-weighted'),
      ),
      this.waitForTime(
        self,
        's-threshold',
        'the commit deadline',
        () => this.terms('s-threshold').commitDeadline,
      ),
      this.revealStep('reveal A once excluded', () => first, ['EQUIVOCATION', 'EXPIRED']),
      {
        ...this.revealStep(`reveal ${victim}'s revealed ballot on s-score`, victimBallot('s-score'), [
          'FORGED_BALLOT',
        ]),
        when: victimRevealed('s-score'),
      },
      {
        ...this.revealStep(`reveal its own look-alike of ${victim}'s ballot with its salt`, lookalike, [
          'REVEAL_MISMATCH',
          'NO_COMMITMENT',
          'EXPIRED',
        ]),
        when: victimRevealed('s-score'),
      },
      {
        ...this.revealStep(`reveal ${victim}'s revealed ballot on s-weighted`, victimBallot('s-weighted'), [
          'FORGED_BALLOT',
        ]),
        when: victimRevealed('s-weighted'),
      },
    ];
  }
}

export function sealedCast(context: SealedCastContext): SealedCast {
  const scripts = new SealedScripts(context);
  const router = new ReplyRouter();
  const make = (id: string, honest: boolean, steps: (self: () => ScriptedAgent) => ScriptStep[]) => {
    const agent: ScriptedAgent = new ScriptedAgent({
      ...context.agent,
      patienceTicks: LIAR_PATIENCE_RETRIES * context.agent.retryTicks,
      id,
      honest,
      secretKey: scripts.key(id).secretKey,
      router,
      startTick: context.prng.int(context.startTicksMax + 1),
      steps: steps(() => agent),
    });
    return agent;
  };
  const honest = [
    make('agent-0', true, (self) => scripts.honest(self, 'agent-0', 's-threshold')),
    make('agent-1', true, (self) => scripts.honest(self, 'agent-1', 's-score')),
    make('agent-2', true, (self) => scripts.honest(self, 'agent-2', 's-weighted')),
  ];
  const liars = [
    make('mallory-0', false, (self) => scripts.mallory0(self)),
    make('mallory-1', false, (self) => scripts.mallory1(self)),
  ];
  scripts.board.liarsDone = () => liars.every((liar) => liar.issuedAll);
  return { honest, liars, outcomes: () => [...honest, ...liars].flatMap((agent) => agent.outcomes()) };
}
