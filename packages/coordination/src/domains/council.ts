/**
 * The council: the agents who may propose governance actions and vote on them, and how many of
 * their approvals an action needs. From genesis (`CoordinationOptions.council`, or every genesis
 * agent with threshold floor(n/2)+1); changed only by an approved `set_council` action, and
 * shrunk when a member is removed (a removal that would leave fewer members than the threshold
 * is refused, so the council can always still act).
 */
import type { ReadOperation } from '../operations.ts';
import { compareStrings } from '../record.ts';
import type { CoordinationResult, ErrorResult } from '../results.ts';
import { type DomainContext, fail } from './shared.ts';

/** Members (sorted) and the approvals an action needs. */
export interface CouncilState {
  readonly members: readonly string[];
  readonly threshold: number;
}

/** The council's part of the snapshot record. */
export interface CouncilSnapshot {
  readonly council: CouncilState;
}

/** Who is registered, and who only observes, as the council checks members. */
interface Registered {
  has(agent: string): boolean;
  isObserver(agent: string): boolean;
}

/**
 * Why `members` with `threshold` cannot be the council: none, a duplicate, one not registered,
 * a threshold outside 1..members, or more members than a proposal may have voters.
 */
export function checkCouncil(state: CouncilState, agents: Registered, votersMax: number): string | undefined {
  const { members, threshold } = state;
  if (members.length === 0) return 'the council may not be empty';
  if (members.length > votersMax) return `the council has at most ${votersMax} members (votersMax)`;
  if (new Set(members).size !== members.length) return 'council members must be distinct';
  const unknown = members.find((m) => !agents.has(m));
  if (unknown !== undefined) return `council member ${unknown} is not a registered agent`;
  const observer = members.find((m) => agents.isObserver(m));
  if (observer !== undefined) return `council member ${observer} is an observer, which may not vote`;
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > members.length)
    return `the council threshold must be in 1..${members.length}, got ${threshold}`;
  return undefined;
}

/** The default council: every genesis agent, threshold a majority. */
export function defaultCouncil(agents: readonly string[]): CouncilState {
  return { members: [...agents].sort(compareStrings), threshold: Math.floor(agents.length / 2) + 1 };
}

/** The council in force. */
export class Council {
  readonly #context: Pick<DomainContext, 'position'>;
  #state: CouncilState;

  constructor(context: Pick<DomainContext, 'position'>, state: CouncilState) {
    this.#context = context;
    this.#state = { members: [...state.members].sort(compareStrings), threshold: state.threshold };
  }

  get state(): CouncilState {
    return this.#state;
  }

  has(agent: string): boolean {
    return this.#state.members.includes(agent);
  }

  /** `INVALID_ACTION` if removing `agent` would leave fewer members than the threshold. */
  checkRemoval(agent: string, what: string): ErrorResult | undefined {
    if (!this.has(agent)) return undefined;
    const left = this.#state.members.length - 1;
    if (left >= this.#state.threshold) return undefined;
    return fail(
      'INVALID_ACTION',
      `${what}: ${agent} is a council member, and the ${left} left could not reach the threshold ${this.#state.threshold}`,
    );
  }

  /** Replaces the council (checked by the caller). */
  set(state: CouncilState): void {
    this.#state = { members: [...state.members].sort(compareStrings), threshold: state.threshold };
  }

  /** Drops a removed agent from the council (`checkRemoval` passed). */
  drop(agent: string): void {
    if (!this.has(agent)) return;
    this.set({ ...this.#state, members: this.#state.members.filter((m) => m !== agent) });
  }

  /** The `get_council` read. */
  read(_op: Extract<ReadOperation, { op: 'get_council' }>): CoordinationResult {
    return { ok: true, kind: 'council', at: this.#context.position(), council: this.#state };
  }

  snapshot(): CouncilSnapshot {
    return { council: this.#state };
  }

  restore(record: CouncilSnapshot): void {
    this.#state = record.council;
  }
}
