/**
 * Checkers of sealed ballots (issue 17), pure functions of a run's record (see sealed-record.ts):
 *
 * - `sealedTally`: replays the sealed rules on the ordered log itself — the honest replicas'
 *   executed batches, sequence by sequence, with the operations each carried — and recomputes
 *   every sealed proposal's tally and outcome: a ballot counts when its signature verifies
 *   against its voter's key in force, it reproduces the voter's commitment (made before the
 *   commit deadline), it was revealed at agreed time in [commitDeadline, deadline), and the
 *   voter is not excluded (two commitments, two ballots, a reveal that does not reproduce its
 *   commitment); a counted commitment never revealed counts as the proposal's missingReveal.
 *   Every decision an honest replica reported must be that one: status, sequence, counts and
 *   weights, counted ballots, exclusions and their reasons, missing reveals, scores and winner;
 *   each exclusion and missing reveal must point at an evidence item of its kind that verifies
 *   offline. Nothing here calls the state machine's tally code: the rules are written out again.
 * - `sealedSecrecy`: no ballot content (ballot bytes, or a distinctive reason) was found in an
 *   honest replica's state or in a result it sent while its agreed time was before the
 *   proposal's commit deadline (as the ordered log sets it), or before the proposal existed.
 * - `sealedOutcomes`: every scripted request of the sealed suite got an outcome its script allows.
 *
 * A proposal whose log has a gap the record cannot fill (a sequence no honest replica reported,
 * a batch not seen on the wire) is not replayed: nothing is claimed of it.
 */

import { createHash } from 'node:crypto';
import {
  type Choice,
  DEFAULT_COORDINATION_LIMITS,
  decodeBallot,
  decodeCommitment,
  decodeOperation,
  decodeResult,
  type Rule,
  type SealedTerms,
  type Tally,
  type Voter,
} from '@conclave/coordination';
import { encodeCanonical, fromHex, nodeCrypto, toHex } from '@conclave/core';
import type { ExecutedRecord, ExpectedOutcomeRecord, RunRecord } from './record.ts';
import { CommonRegistry } from './registry-checkers.ts';

export interface SealedViolation {
  readonly checker: 'sealedTally' | 'sealedSecrecy' | 'sealedOutcomes';
  readonly message: string;
  readonly tick?: number;
}

export const SEALED_VIOLATIONS_MAX = 20;

/** The seal domain tag, written out here rather than imported: the checker re-derives seals itself. */
const SEAL_TAG = 'conclave/seal/v1';
const verifier = nodeCrypto();

/** A seal: the first 32 bytes of SHA-512 over the canonical tuple (see coordination's seal.ts). */
function sealOf(proposalId: string, agent: string, ballotBytes: Uint8Array, salt: Uint8Array): string {
  const bytes = encodeCanonical([SEAL_TAG, proposalId, agent, ballotBytes, salt]);
  return createHash('sha512').update(bytes).digest().subarray(0, 32).toString('hex');
}

/** A sealed proposal as the replay keeps it. */
interface Model {
  readonly proposalId: string;
  readonly rule: Rule;
  readonly voters: readonly Voter[];
  readonly candidates: readonly string[];
  readonly deadline: number;
  readonly terms: SealedTerms;
  readonly createdAt: number;
  opened: boolean;
  status: string;
  decidedAt?: { sequence: number; timestamp: number };
  tally?: ExpectedTally;
  /** Voter → seal (hex) of its commitment, until revealed. */
  readonly commitments: Map<string, string>;
  /** Voter → its revealed ballot. */
  readonly ballots: Map<string, { bytes: string; choice: Choice }>;
  readonly excluded: Map<string, 'equivocation' | 'reveal_mismatch'>;
  readonly unrevealed: Set<string>;
}

/** The tally as the checker recomputes it (the parts it compares). */
export interface ExpectedTally {
  readonly approve: { count: number; weight: number };
  readonly reject: { count: number; weight: number };
  readonly abstain: { count: number; weight: number };
  readonly pending: { count: number; weight: number };
  readonly committed: { count: number; weight: number };
  readonly counted: readonly { agent: string; choice: string }[];
  readonly excluded: readonly { agent: string; reason: string }[];
  readonly unrevealed: readonly string[];
  readonly candidates: readonly { candidate: string; ballots: number; aggregateMilli: number | null }[];
  readonly winner: string | null;
}

/** What the replay of the ordered log found: each sealed proposal, or why it could not be replayed. */
export interface SealedReplay {
  readonly proposals: ReadonlyMap<string, Model>;
  /** Proposals whose log had a gap, with the first one. */
  readonly unknown: ReadonlyMap<string, string>;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const choiceText = (choice: Choice) => JSON.stringify(choice);

/** Replays the sealed rules over the honest replicas' common ordered log. */
export function replaySealed(record: RunRecord): SealedReplay {
  const proposals = new Map<string, Model>();
  const unknown = new Map<string, string>();
  const sealed = record.sealed;
  if (sealed === undefined) return { proposals, unknown };
  const honest = record.replicas.filter((replica) => replica.honest);
  const bySequence = new Map<number, ExecutedRecord>();
  for (const replica of honest)
    for (const entry of replica.executed)
      if (!bySequence.has(entry.sequence)) bySequence.set(entry.sequence, entry);
  const last = Math.max(0, ...bySequence.keys());
  const registry =
    record.genesisAgentKeys === undefined ? undefined : new CommonRegistry(honest, record.genesisAgentKeys);
  const verify = (agent: string, sequence: number, bytes: Uint8Array, signature: Uint8Array) => {
    const key = registry?.inForceAt(sequence)[agent];
    return key !== undefined && verifier.verify(bytes, signature, fromHex(key));
  };
  let gap: string | undefined;
  for (let sequence = 1; sequence <= last; sequence++) {
    const entry = bySequence.get(sequence);
    if (entry === undefined) {
      gap ??= `sequence ${sequence} reported by no honest replica`;
      for (const id of proposals.keys()) if (!unknown.has(id)) unknown.set(id, gap);
      continue;
    }
    const t = entry.timestamp;
    for (const model of proposals.values()) timers(model, entry.sequence, t);
    const operations = sealed.operations.get(entry.digest);
    const batch = record.batches.get(entry.digest);
    if (batch === undefined && entry.requests.length > 0) {
      gap ??= `batch ${entry.digest.slice(0, 12)} at sequence ${sequence} not seen on the wire`;
      for (const id of proposals.keys()) if (!unknown.has(id)) unknown.set(id, gap);
      continue;
    }
    for (const executed of entry.requests) {
      const index = batch?.requests.findIndex(
        (r) => r.agent === executed.agent && r.requestId === executed.requestId,
      );
      const found = operations?.find((o) => o.index === index);
      if (found === undefined) continue;
      const decoded = decodeOperation(found.operation, DEFAULT_COORDINATION_LIMITS);
      if (!decoded.ok) continue;
      const op = decoded.operation;
      const at = { sequence, timestamp: t };
      const agent = executed.agent;
      if ((op.op === 'propose' || op.op === 'propose_action') && op.sealed !== null) {
        const result = decodeResult(fromHex(executed.result));
        if (!result.ok || proposals.has(op.proposalId)) continue;
        // Sealed action proposals (council votes) are not replayed: the sealed suite opens none.
        if (op.op === 'propose_action') {
          unknown.set(op.proposalId, 'a sealed action proposal, not replayed');
          continue;
        }
        proposals.set(op.proposalId, {
          proposalId: op.proposalId,
          rule: op.rule,
          voters: [...op.voters].sort((a, b) => compare(a.agent, b.agent)),
          candidates: [...op.candidates].sort(compare),
          deadline: op.deadline,
          terms: op.sealed,
          createdAt: sequence,
          opened: false,
          status: 'open',
          commitments: new Map(),
          ballots: new Map(),
          excluded: new Map(),
          unrevealed: new Set(),
        });
        if (gap !== undefined) unknown.set(op.proposalId, gap);
      } else if (op.op === 'commit') {
        const commitment = decodeCommitment(op.commitmentBytes);
        if (!commitment.ok) continue;
        const model = proposals.get(commitment.commitment.proposalId);
        if (model === undefined || commitment.commitment.agent !== agent) continue;
        if (!verify(agent, sequence, op.commitmentBytes, op.signature) || !isVoter(model, agent)) continue;
        commit(model, agent, toHex(commitment.commitment.seal), at);
      } else if (op.op === 'reveal') {
        const ballot = decodeBallot(op.ballotBytes, DEFAULT_COORDINATION_LIMITS);
        if (!ballot.ok) continue;
        const model = proposals.get(ballot.ballot.proposalId);
        if (model === undefined || ballot.ballot.agent !== agent) continue;
        if (!verify(agent, sequence, op.ballotBytes, op.signature) || !isVoter(model, agent)) continue;
        const seal = sealOf(model.proposalId, agent, op.ballotBytes, op.salt);
        reveal(model, agent, { bytes: toHex(op.ballotBytes), choice: ballot.ballot.choice, seal }, at);
      }
    }
  }
  return { proposals, unknown };
}

function isVoter(model: Model, agent: string): boolean {
  return model.voters.some((voter) => voter.agent === agent);
}

/** Agreed time reached `t`: the reveal phase opens at the commit deadline, the deadline decides. */
function timers(model: Model, sequence: number, t: number): void {
  if (model.status !== 'open') return;
  if (!model.opened && t >= model.terms.commitDeadline) {
    model.opened = true;
    evaluate(model, { sequence, timestamp: t }, false);
  }
  if (model.status === 'open' && t >= model.deadline) evaluate(model, { sequence, timestamp: t }, true);
}

function commit(
  model: Model,
  agent: string,
  seal: string,
  at: { sequence: number; timestamp: number },
): void {
  const previous = model.commitments.get(agent);
  if (previous !== undefined) {
    // Another seal is equivocation: the voter is excluded while the proposal is open.
    if (previous !== seal && !model.excluded.has(agent) && model.status === 'open')
      exclude(model, agent, 'equivocation', at);
    return;
  }
  if (model.ballots.has(agent)) return;
  if (at.timestamp >= model.terms.commitDeadline || at.timestamp >= model.deadline || model.status !== 'open')
    return;
  model.commitments.set(agent, seal);
}

function reveal(
  model: Model,
  agent: string,
  revealed: { bytes: string; choice: Choice; seal: string },
  at: { sequence: number; timestamp: number },
): void {
  // Before the commit deadline nothing of a reveal is taken.
  if (at.timestamp < model.terms.commitDeadline) return;
  const previous = model.ballots.get(agent);
  if (previous !== undefined) {
    if (previous.bytes !== revealed.bytes && model.status === 'open' && !model.excluded.has(agent))
      exclude(model, agent, 'equivocation', at);
    return;
  }
  if (model.excluded.has(agent)) return;
  const committed = model.commitments.get(agent);
  if (committed === undefined) return;
  if (at.timestamp >= model.deadline || model.status !== 'open') return;
  if (committed !== revealed.seal) {
    exclude(model, agent, 'reveal_mismatch', at);
    return;
  }
  if (!choiceFits(model, revealed.choice)) return;
  model.commitments.delete(agent);
  model.ballots.set(agent, { bytes: revealed.bytes, choice: revealed.choice });
  evaluate(model, at, false);
}

function exclude(
  model: Model,
  agent: string,
  reason: 'equivocation' | 'reveal_mismatch',
  at: { sequence: number; timestamp: number },
): void {
  model.excluded.set(agent, reason);
  evaluate(model, at, false);
}

function choiceFits(model: Model, choice: Choice): boolean {
  if (model.rule.kind !== 'score') return typeof choice === 'string';
  if (typeof choice === 'string') return false;
  const scored = choice.map(([candidate]) => candidate).sort(compare);
  return scored.length === model.candidates.length && scored.every((c, i) => c === model.candidates[i]);
}

/** Decided after the commit deadline once every counted commitment is revealed, or at the deadline. */
function evaluate(model: Model, at: { sequence: number; timestamp: number }, atDeadline: boolean): void {
  if (model.status !== 'open' || at.timestamp < model.terms.commitDeadline) return;
  if (atDeadline) {
    for (const agent of model.commitments.keys()) if (!model.excluded.has(agent)) model.unrevealed.add(agent);
  } else {
    for (const agent of model.commitments.keys()) if (!model.excluded.has(agent)) return;
  }
  const tally = tallyOf(model);
  model.tally = tally;
  model.status = outcomeOf(model.rule, tally);
  model.decidedAt = at;
}

function tallyOf(model: Model): ExpectedTally {
  const bucket = () => ({ count: 0, weight: 0 });
  const add = (b: { count: number; weight: number }, weight: number) => {
    b.count += 1;
    b.weight += weight;
  };
  const approve = bucket();
  const reject = bucket();
  const abstain = bucket();
  const pending = bucket();
  const committed = bucket();
  const counted: { agent: string; choice: Choice }[] = [];
  const excluded: { agent: string; reason: string }[] = [];
  const unrevealed: string[] = [];
  const buckets = { approve, reject, abstain };
  for (const { agent, weight } of model.voters) {
    const reason = model.excluded.get(agent);
    if (reason !== undefined) {
      excluded.push({ agent, reason });
      continue;
    }
    if (model.commitments.has(agent) || model.ballots.has(agent)) add(committed, weight);
    if (model.unrevealed.has(agent)) {
      unrevealed.push(agent);
      if (model.rule.kind !== 'score') add(buckets[model.terms.missingReveal], weight);
      continue;
    }
    const ballot = model.ballots.get(agent);
    if (ballot === undefined) {
      add(pending, weight);
      continue;
    }
    counted.push({ agent, choice: ballot.choice });
    if (typeof ballot.choice === 'string') add(buckets[ballot.choice], weight);
  }
  const candidates: { candidate: string; ballots: number; aggregateMilli: number | null }[] = [];
  let winner: string | null = null;
  if (model.rule.kind === 'score') {
    let best: number | null = null;
    for (const candidate of model.candidates) {
      const scores = counted
        .flatMap(({ choice }) => (typeof choice === 'string' ? [] : choice.filter(([c]) => c === candidate)))
        .map(([, score]) => score)
        .sort((a, b) => a - b);
      const value = aggregate(scores, model.rule.aggregate, model.rule.trimPermille);
      candidates.push({ candidate, ballots: scores.length, aggregateMilli: value });
      if (value !== null && (best === null || value > best)) {
        best = value;
        winner = candidate;
      }
    }
  }
  return {
    approve,
    reject,
    abstain,
    pending,
    committed,
    counted: counted.map(({ agent, choice }) => ({ agent, choice: choiceText(choice) })),
    excluded,
    unrevealed,
    candidates,
    winner,
  };
}

/** Median (×1000, halves kept) or trimmed mean (×1000, rounded down) of sorted scores. */
function aggregate(
  scores: readonly number[],
  kind: 'median' | 'trimmed_mean',
  trimPermille: number,
): number | null {
  const n = scores.length;
  if (n === 0) return null;
  if (kind === 'median') {
    const mid = Math.floor(n / 2);
    return n % 2 === 1
      ? (scores[mid] as number) * 1000
      : ((scores[mid - 1] as number) + (scores[mid] as number)) * 500;
  }
  const trim = Math.floor((n * trimPermille) / 1000);
  const kept = scores.slice(trim, n - trim);
  return Math.floor((kept.reduce((a, b) => a + b, 0) * 1000) / kept.length);
}

/** The outcome of a final tally (sealed proposals are decided with no ballots left to come). */
function outcomeOf(rule: Rule, tally: ExpectedTally): string {
  const cast = (of: 'count' | 'weight') => tally.approve[of] + tally.reject[of] + tally.abstain[of];
  switch (rule.kind) {
    case 'threshold':
      if (tally.approve.count >= rule.k) return 'approved';
      if (tally.approve.count + tally.pending.count < rule.k) return 'rejected';
      return cast('count') < rule.k ? 'no_quorum' : 'expired';
    case 'weighted':
      if (tally.approve.weight >= rule.approveWeight) return 'approved';
      if (tally.approve.weight + tally.pending.weight < rule.approveWeight) return 'rejected';
      return cast('weight') < rule.approveWeight ? 'no_quorum' : 'expired';
    case 'score': {
      const ballots = tally.counted.length;
      if (ballots + tally.pending.count < rule.minBallots) return 'rejected';
      if (tally.pending.count === 0) return 'approved';
      return ballots >= rule.minBallots ? 'approved' : 'no_quorum';
    }
  }
}

/** The reported tally in the checker's terms, to compare field by field. */
function reportedOf(tally: Tally): ExpectedTally {
  const count = (c: { count: number; weight: number }) => ({ count: c.count, weight: c.weight });
  return {
    approve: count(tally.approve),
    reject: count(tally.reject),
    abstain: count(tally.abstain),
    pending: count(tally.pending),
    committed: count(tally.committed),
    counted: tally.counted.map(({ agent, choice }) => ({ agent, choice: choiceText(choice) })),
    excluded: tally.excluded.map(({ agent, reason }) => ({ agent, reason })),
    unrevealed: tally.unrevealed.map(({ agent }) => agent),
    candidates: tally.candidates.map(({ candidate, ballots, aggregateMilli }) => ({
      candidate,
      ballots,
      aggregateMilli,
    })),
    winner: tally.winner,
  };
}

class Found<C extends SealedViolation['checker']> {
  readonly violations: SealedViolation[] = [];
  constructor(readonly checker: C) {}
  add(message: string, tick?: number): void {
    if (this.violations.length < SEALED_VIOLATIONS_MAX)
      this.violations.push(
        tick === undefined ? { checker: this.checker, message } : { checker: this.checker, message, tick },
      );
  }
}

const EVIDENCE_KIND = {
  equivocation: ['commitment', 'ballot'],
  reveal_mismatch: ['reveal_mismatch'],
} as const;

/** Every decided sealed proposal's reported tally is the one the ordered log implies. */
export function checkSealedTally(
  record: RunRecord,
  replay: SealedReplay = replaySealed(record),
): SealedViolation[] {
  const found = new Found('sealedTally');
  const sealed = record.sealed;
  if (sealed === undefined) return [];
  for (const decision of sealed.decisions) {
    const what = `replica ${decision.replica}, ${decision.proposalId}`;
    if (replay.unknown.has(decision.proposalId)) continue;
    const model = replay.proposals.get(decision.proposalId);
    if (model === undefined) {
      found.add(
        `${what}: reported ${decision.status}, but no sealed proposal of that id was created in the ordered log`,
      );
      continue;
    }
    if (model.status === 'open' || model.tally === undefined || model.decidedAt === undefined) {
      // The replica may have executed past what the record's log holds only if a gap hides it.
      found.add(
        `${what}: reported ${decision.status} at sequence ${decision.decidedAt.sequence}, but the ordered log leaves it open`,
      );
      continue;
    }
    if (decision.status !== model.status || decision.decidedAt.sequence !== model.decidedAt.sequence)
      found.add(
        `${what}: reported ${decision.status} at sequence ${decision.decidedAt.sequence}, the ordered log implies ${model.status} at sequence ${model.decidedAt.sequence}`,
      );
    const reported = reportedOf(decision.tally);
    for (const key of Object.keys(model.tally) as (keyof ExpectedTally)[]) {
      const want = JSON.stringify(model.tally[key]);
      const got = JSON.stringify(reported[key]);
      if (want !== got) found.add(`${what}: tally.${key} is ${got}, the ordered log implies ${want}`);
    }
    checkEvidence(found, what, decision);
  }
  return found.violations;
}

/** Each exclusion and missing reveal names an evidence item of its kind, on that voter, that verifies. */
function checkEvidence(
  found: Found<'sealedTally'>,
  what: string,
  decision: NonNullable<RunRecord['sealed']>['decisions'][number],
): void {
  const byId = new Map(decision.evidence.map((item) => [item.id, item]));
  const expect = (agent: string, evidenceId: number | null, kinds: readonly string[], why: string) => {
    const item = evidenceId === null ? undefined : byId.get(evidenceId);
    if (item === undefined || item.agent !== agent || !kinds.includes(item.kind) || !item.verified)
      found.add(
        `${what}: ${agent} is ${why} but its evidence ${evidenceId ?? 'null'} is ${item === undefined ? 'not held' : `${item.kind} of ${item.agent}${item.verified ? '' : ', not verifying'}`}`,
      );
  };
  for (const excluded of decision.tally.excluded)
    expect(
      excluded.agent,
      excluded.evidenceId,
      EVIDENCE_KIND[excluded.reason],
      `excluded (${excluded.reason})`,
    );
  for (const missing of decision.tally.unrevealed)
    expect(missing.agent, missing.evidenceId, ['no_reveal'], 'unrevealed');
}

/** No ballot content readable from an honest replica before its proposal's commit deadline. */
export function checkSealedSecrecy(
  record: RunRecord,
  replay: SealedReplay = replaySealed(record),
): SealedViolation[] {
  const found = new Found('sealedSecrecy');
  for (const leak of record.sealed?.leaks ?? []) {
    const model = replay.proposals.get(leak.proposalId);
    const commitDeadline = model?.terms.commitDeadline;
    if (commitDeadline !== undefined && leak.agreedTime >= commitDeadline) continue;
    found.add(
      `replica ${leak.replica} held ${leak.agent}'s ${leak.what === 'ballot' ? 'ballot bytes' : 'ballot reason'} on ${leak.proposalId} in its ${leak.where === 'snapshot' ? 'state' : 'reply'} at agreed time ${leak.agreedTime}, ${commitDeadline === undefined ? 'a proposal the ordered log never opened' : `before the commit deadline ${commitDeadline}`} (tick ${leak.tick})`,
      leak.tick,
    );
  }
  return found.violations;
}

/** Every scripted request that got an answer got one its script allows. */
export function checkScriptedOutcomes<C extends string>(
  checker: C,
  outcomes: readonly ExpectedOutcomeRecord[],
  max = SEALED_VIOLATIONS_MAX,
): { checker: C; message: string; tick?: number }[] {
  const violations: { checker: C; message: string; tick?: number }[] = [];
  for (const expected of outcomes) {
    const { outcome } = expected;
    if (outcome === undefined || expected.allowed.length === 0 || expected.allowed.includes(outcome))
      continue;
    if (violations.length >= max) break;
    const who =
      expected.signedAs === expected.agent ? expected.agent : `${expected.agent} (as ${expected.signedAs})`;
    violations.push({
      checker,
      message: `${expected.honest ? 'honest' : 'lying'} ${who} "${expected.label}" (request ${expected.requestId}) got ${outcome} at sequence ${expected.sequence ?? '?'}, allowed: ${expected.allowed.join(' | ')}`,
      ...(expected.tick === undefined ? {} : { tick: expected.tick }),
    });
  }
  return violations;
}

export function checkSealedOutcomes(record: RunRecord): SealedViolation[] {
  return checkScriptedOutcomes('sealedOutcomes', record.sealed?.outcomes ?? []);
}

/** The three sealed checkers over one replay. */
export function checkSealed(record: RunRecord): SealedViolation[] {
  if (record.sealed === undefined) return [];
  const replay = replaySealed(record);
  return [
    ...checkSealedTally(record, replay),
    ...checkSealedSecrecy(record, replay),
    ...checkSealedOutcomes(record),
  ];
}
