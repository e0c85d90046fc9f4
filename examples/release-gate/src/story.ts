/**
 * The release gate: five agents decide whether to ship a release, on a cluster where one
 * replica lies to agents, one agent equivocates and one forges another's ballot. The story is
 * written once against a `Stage` (how to reach the replicas as an agent), and told twice: inside
 * one process (`main.ts`) and against real daemons on 127.0.0.1 (`demo.ts`).
 *
 * Every claim the story makes is checked, and the run fails if one does not hold.
 */
import {
  type Ballot,
  type Choice,
  DEFAULT_COORDINATION_LIMITS,
  decodeBallot,
  decodeOperation,
  decodeRequestBody,
  decodeResult,
  type Evidence,
  encodeBallot,
  ops,
  type ProposalView,
} from '@conclave/coordination';
import {
  type ClusterConfig,
  type CryptoBackend,
  createRequest,
  eitherReplyVerifier,
  MessageType,
  openAnswer,
  quorumsOf,
  toHex,
} from '@conclave/core';
import {
  type ConclaveClient,
  ConclaveError,
  type Coordination,
  connect,
  coordination,
  RejectedError,
  verifyEvidence,
  verifyReceipt,
} from '@conclave/sdk';
import { parsePeer, replicaPeer, type Transport } from '@conclave/transport';

/** How the story reaches a cluster: the in-process network, or WebSockets to daemons. */
export interface Stage {
  /** One line saying what runs where. */
  readonly description: string;
  readonly cluster: ClusterConfig;
  readonly crypto: CryptoBackend;
  /** Replicas started Byzantine (`lying-replies`), to check that every lie came from them. */
  readonly byzantineReplicas: readonly number[];
  /** A new, not yet started transport that authenticates as `agent`. */
  transport(agent: string): Transport;
  secretKey(agent: string): Uint8Array;
}

/** How the equivocating agent splits the cluster. */
export type EquivocationVariant =
  /** Two requests with one requestId, an approve to replicas 0 and 1, a reject to 2 and 3. */
  | 'same-request-id'
  /** The approve (requestId r) to replicas 0 and 1; once it has executed, the reject (r+1) to 2 and 3. */
  | 'different-request-ids';

export interface ReleaseGateOptions {
  readonly print?: (line: string) => void;
  readonly variant?: EquivocationVariant;
  /** Bound on each call and wait. */
  readonly timeoutMs?: number;
}

export interface Claim {
  readonly claim: string;
  readonly held: boolean;
}

export interface ReleaseGateSummary {
  /** Every claim held. */
  readonly ok: boolean;
  readonly claims: readonly Claim[];
  readonly outcome: ProposalView['status'];
  readonly approvedBy: readonly string[];
  readonly rejectedBy: readonly string[];
  readonly excluded: readonly string[];
  /** The state machine's code for the forged ballot. */
  readonly forgery: string | undefined;
  readonly evidence: readonly {
    readonly agent: string;
    readonly kind: Evidence['kind'];
    readonly source: Evidence['source'];
    readonly choices: readonly string[];
    readonly verified: boolean;
  }[];
  readonly receiptsVerified: readonly string[];
  /** Per replica: signed replies whose result contradicted the f+1 matching ones. */
  readonly contradictedReplies: Readonly<Record<number, number>>;
  readonly elapsedMs: number;
}

export const AGENTS = ['agent-0', 'agent-1', 'agent-2', 'agent-3', 'agent-4'] as const;
const EQUIVOCATOR = 'agent-3';
const FORGER = 'agent-4';
const PROPOSAL_ID = 'ship-2.0';
const APPROVALS_NEEDED = 3;
/** Far enough ahead that no step of the story reaches the deadline (daemons tick every 10 ms). */
const VOTING_TICKS = 60_000;
const POLL_MS = 50;

/** The honest votes (and the forger's own, legitimate one), in the order they are cast. */
const VOTES: readonly { agent: string; choice: 'approve' | 'reject'; reason: string }[] = [
  { agent: 'agent-2', choice: 'approve', reason: 'all integration tests pass' },
  { agent: FORGER, choice: 'approve', reason: 'ship it' },
  { agent: 'agent-0', choice: 'reject', reason: 'p99 latency regressed 40% on the canary' },
  { agent: 'agent-1', choice: 'reject', reason: 'the schema migration cannot be rolled back' },
];

/**
 * Every reply any agent of the story received, by request: to tell which replicas' signed
 * answers contradicted the result that f+1 replicas agreed on.
 */
class ReplyLedger {
  readonly #replies = new Map<string, Map<string, Set<number>>>();
  readonly #verifier;
  readonly #crypto: CryptoBackend;

  constructor(cluster: ClusterConfig, crypto: CryptoBackend) {
    this.#verifier = eitherReplyVerifier(crypto, cluster);
    this.#crypto = crypto;
  }

  /** `from` is the transport's authenticated sender (replies may be authenticated by the channel). */
  observe(from: string, frame: Uint8Array): void {
    const peer = parsePeer(from);
    const channelReplica = peer?.kind === 'replica' ? peer.id : undefined;
    const opened = openAnswer(frame, this.#verifier, this.#crypto, undefined, channelReplica);
    if (!opened.ok || opened.answer.type !== MessageType.reply) return;
    const reply = opened.answer;
    const request = `${reply.agent}/${reply.requestId}`;
    const answers = this.#replies.get(request) ?? new Map<string, Set<number>>();
    const answer = `${reply.sequence}:${toHex(reply.result)}`;
    const replicas = answers.get(answer) ?? new Set<number>();
    replicas.add(reply.replica);
    answers.set(answer, replicas);
    this.#replies.set(request, answers);
  }

  /** Whether f+1 replicas sent the same answer to this request. */
  settled(agent: string, requestId: number, f: number): boolean {
    const answers = this.#replies.get(`${agent}/${requestId}`);
    return answers !== undefined && [...answers.values()].some((r) => r.size >= f + 1);
  }

  /** Per replica, how many of its replies differ from an answer f+1 replicas agreed on. */
  contradicted(f: number): Record<number, number> {
    const counts: Record<number, number> = {};
    for (const answers of this.#replies.values()) {
      if (![...answers.values()].some((r) => r.size >= f + 1)) continue;
      for (const replicas of answers.values()) {
        if (replicas.size >= f + 1) continue;
        for (const replica of replicas) counts[replica] = (counts[replica] ?? 0) + 1;
      }
    }
    return counts;
  }
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((done) => setTimeout(done, POLL_MS));
  }
}

/**
 * The cluster's agreed time, or undefined while it is not known yet: before the first batch
 * executes replicas report 0 (a daemon's clock then jumps to wall-clock ticks), and a quorum
 * read taken while replicas execute a heartbeat finds no 2f+1 matching answers.
 */
async function agreedTime(agent: Coordination): Promise<number | undefined> {
  try {
    const time = await agent.agreedTime({ timeoutMs: 2_000 });
    return time > 0 ? time : undefined;
  } catch (error) {
    if (error instanceof ConclaveError && (error.code === 'NO_QUORUM' || error.code === 'TIMEOUT'))
      return undefined;
    throw error;
  }
}

const choiceText = (choice: Choice): string =>
  typeof choice === 'string' ? choice : choice.map(([c, s]) => `${c}=${s}`).join(',');

/** The ballot choices inside an evidence item's two signed objects (ballots, or vote requests). */
function choicesIn(evidence: Evidence): string[] {
  const signedObjects = evidence.second === null ? [evidence.first] : [evidence.first, evidence.second];
  return signedObjects.map((signed) => {
    let ballotBytes = signed.bytes;
    if (evidence.kind === 'request') {
      const request = decodeRequestBody(signed.bytes);
      const operation =
        request === undefined ? undefined : decodeOperation(request.operation, DEFAULT_COORDINATION_LIMITS);
      if (operation === undefined || !operation.ok || operation.operation.op !== 'vote')
        return '(not a vote)';
      ballotBytes = operation.operation.ballotBytes;
    }
    const ballot = decodeBallot(ballotBytes);
    return ballot.ok ? choiceText(ballot.ballot.choice) : '(not a ballot)';
  });
}

/** Tells the story on `stage`; resolves with what happened and which claims held. */
export async function runReleaseGate(
  stage: Stage,
  options: ReleaseGateOptions = {},
): Promise<ReleaseGateSummary> {
  const print = options.print ?? console.log;
  const variant = options.variant ?? 'same-request-id';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const started = performance.now();
  const { cluster, crypto } = stage;
  const { n, f } = quorumsOf(cluster.replicas.length);
  const claims: Claim[] = [];
  const check = (claim: string, held: boolean) => {
    claims.push({ claim, held });
    if (!held) print(`   ✗ claim failed: ${claim}`);
    return held;
  };
  const ledger = new ReplyLedger(cluster, crypto);
  const clients = new Map<string, ConclaveClient>();
  const transports: Transport[] = [];

  try {
    print(`${stage.description}`);
    print(
      `  ${n} replicas tolerate f=${f} faulty: an agent accepts an answer only when f+1=${f + 1} replicas sign the same one.`,
    );
    print(
      `  Byzantine replica(s): ${stage.byzantineReplicas.join(', ') || 'none'} (they sign wrong results to agents).`,
    );
    print(`  Byzantine agents: ${EQUIVOCATOR} (equivocates), ${FORGER} (forges a ballot).`);

    // Every agent but the equivocator uses the SDK; each transport is tapped to audit the replies.
    for (const agent of AGENTS.filter((a) => a !== EQUIVOCATOR)) {
      const transport = stage.transport(agent);
      transport.onFrame((from, frame) => ledger.observe(from, frame));
      const client = await connect({
        cluster,
        identity: { agent, secretKey: stage.secretKey(agent) },
        transport,
        crypto,
        timeoutMs,
        connectTimeoutMs: timeoutMs,
      });
      clients.set(agent, client);
    }
    const agent = (id: string): Coordination => coordination(clients.get(id) as ConclaveClient);
    const manager = agent('agent-0');

    // 1. The proposal. The deadline is absolute agreed time, read once the cluster has ordered a batch.
    const now = await until('the cluster to agree on a time', () => agreedTime(manager), timeoutMs);
    const opened = await manager.propose({
      proposalId: PROPOSAL_ID,
      title: 'Ship release 2.0?',
      rule: { kind: 'threshold', k: APPROVALS_NEEDED },
      voters: AGENTS.map((a) => ({ agent: a, weight: 1 })),
      deadline: now + VOTING_TICKS,
    });
    print('');
    print(`1. agent-0 proposes "${opened.title}" (${PROPOSAL_ID})`);
    print(
      `   rule: approved once ${APPROVALS_NEEDED} of the ${AGENTS.length} agents approve; voting closes ${VOTING_TICKS} ticks of agreed time from now`,
    );

    // 2. The forgery: a ballot that says agent-1 approves, signed with agent-4's key.
    print('');
    print(
      `2. ${FORGER} forges agent-1's approval: a ballot saying agent-1 approves, signed with its own key`,
    );
    const forgedBytes = encodeBallot({
      proposalId: PROPOSAL_ID,
      agent: 'agent-1',
      choice: 'approve',
      reason: 'lgtm',
      confidencePermille: 1000,
    });
    const forger = clients.get(FORGER) as ConclaveClient;
    let forgery: string | undefined;
    try {
      const answer = await forger.request(
        ops.vote({ ballotBytes: forgedBytes, signature: forger.sign(forgedBytes) }),
      );
      const result = decodeResult(answer.result);
      // The SDK's vote() signs the caller's own ballot; a pre-signed one goes through request().
      if (!result.ok) throw new RejectedError(result.code, result.message);
    } catch (error) {
      if (!(error instanceof RejectedError)) throw error;
      forgery = error.reason;
      print(`   refused by the cluster: RejectedError ${error.reason} (${error.message})`);
    }
    check('the forged ballot is refused with FORGED_BALLOT', forgery === 'FORGED_BALLOT');

    // 3. The equivocation, with the low-level pieces an attacker would use.
    print('');
    print(`3. ${EQUIVOCATOR} equivocates: it signs an APPROVE and a REJECT ballot for ${PROPOSAL_ID}`);
    const raw = stage.transport(EQUIVOCATOR);
    transports.push(raw);
    raw.onFrame((from, frame) => ledger.observe(from, frame));
    await raw.start();
    await until(
      'the equivocator to reach every replica',
      () => raw.connected().length === n || undefined,
      timeoutMs,
    );
    const secretKey = stage.secretKey(EQUIVOCATOR);
    const signedVote = (choice: 'approve' | 'reject', reason: string) => {
      const ballot: Ballot = {
        proposalId: PROPOSAL_ID,
        agent: EQUIVOCATOR,
        choice,
        reason,
        confidencePermille: 1000,
      };
      const ballotBytes = encodeBallot(ballot);
      return ops.vote({ ballotBytes, signature: crypto.sign(ballotBytes, secretKey) });
    };
    const requestId = Date.now() * 1000;
    const approve = createRequest(
      { agent: EQUIVOCATOR, requestId, operation: signedVote('approve', 'ship it') },
      crypto,
      secretKey,
    );
    const rejectId = variant === 'same-request-id' ? requestId : requestId + 1;
    const reject = createRequest(
      { agent: EQUIVOCATOR, requestId: rejectId, operation: signedVote('reject', 'do not ship') },
      crypto,
      secretKey,
    );
    const half = Math.floor(n / 2);
    const firstHalf = cluster.replicas.slice(0, half).map((r) => r.id);
    const secondHalf = cluster.replicas.slice(half).map((r) => r.id);
    for (const id of firstHalf) raw.send(replicaPeer(id), approve.frame);
    if (variant === 'same-request-id') {
      print(`   it puts each in a request with the same request id (${requestId}), and sends`);
    } else {
      // A later request id: it must wait for the approve to execute, or the approve would be stale.
      await until(
        'the approve to execute',
        () => ledger.settled(EQUIVOCATOR, requestId, f) || undefined,
        timeoutMs,
      );
      print(
        `   it sends them in two requests (ids ${requestId} and ${rejectId}, the reject once the approve executed):`,
      );
    }
    for (const id of secondHalf) raw.send(replicaPeer(id), reject.frame);
    print(
      `   the approve to replicas ${firstHalf.join(', ')} and the reject to replicas ${secondHalf.join(', ')}`,
    );

    const evidence = await until(
      'evidence against the equivocator',
      async () => {
        const found = await manager.evidence({ proposalId: PROPOSAL_ID });
        return found.some((e) => e.agent === EQUIVOCATOR) ? found : undefined;
      },
      timeoutMs,
    );
    const evidenceSummary = evidence.map((item) => ({
      agent: item.agent,
      kind: item.kind,
      source: item.source,
      choices: choicesIn(item),
      verified: verifyEvidence(item, cluster.agents, crypto).ok,
    }));
    for (const [i, item] of evidence.entries()) {
      const summary = evidenceSummary[i] as (typeof evidenceSummary)[number];
      const how =
        item.source === 'replicas'
          ? 'the replicas ordered both requests; the second one proved it'
          : 'its second ballot arrived in a vote';
      print(
        `   evidence #${item.id} against ${item.agent}: two signed ${item.kind === 'ballot' ? 'ballots' : 'requests'} (${summary.choices.join(' and ')}), ${how}`,
      );
      print(
        `   verifyEvidence(evidence, agents, crypto) with only the agents' public keys: ${summary.verified ? 'holds' : 'FAILS'}`,
      );
    }
    check(
      `the evidence lists ${EQUIVOCATOR} with both signed ballots (approve and reject)`,
      evidenceSummary.some(
        (e) => e.agent === EQUIVOCATOR && e.choices.includes('approve') && e.choices.includes('reject'),
      ),
    );
    check(
      'every evidence item verifies offline',
      evidenceSummary.length > 0 && evidenceSummary.every((e) => e.verified),
    );
    const afterEquivocation = await manager.decision(PROPOSAL_ID);
    const excludedNow = afterEquivocation.tally.excluded.map((e) => e.agent);
    print(
      `   ${EQUIVOCATOR}'s ballot does not count: tally.excluded = [${afterEquivocation.tally.excluded.map((e) => `${e.agent}: ${e.reason}, evidence #${e.evidenceId}`).join('; ')}]`,
    );
    check(`${EQUIVOCATOR} is excluded from the tally`, excludedNow.includes(EQUIVOCATOR));

    // 4. The votes, each with a receipt checked offline.
    print('');
    print(
      '4. The other agents vote; each vote comes back with a receipt, checked against the replicas’ keys',
    );
    const receiptsVerified: string[] = [];
    for (const vote of VOTES) {
      const cast = await agent(vote.agent).vote(PROPOSAL_ID, vote.choice, { reason: vote.reason, timeoutMs });
      const checked = verifyReceipt(cast.receipt, cluster, crypto);
      const mine = checked.ok && checked.request.agent === vote.agent;
      if (mine) receiptsVerified.push(vote.agent);
      print(
        `   ${vote.agent} ${vote.choice.padEnd(7)} "${vote.reason}"  → sequence ${cast.receipt.sequence}, ${cast.receipt.commits.length} commit signatures, receipt ${mine ? 'verifies' : 'DOES NOT VERIFY'}`,
      );
    }
    check('every vote receipt verifies offline', receiptsVerified.length === VOTES.length);

    // 5. The decision.
    const decided = await manager.waitForDecision(PROPOSAL_ID, { timeoutMs, pollMs: POLL_MS });
    const { tally } = decided;
    const byChoice = (choice: string) => tally.counted.filter((b) => b.choice === choice).map((b) => b.agent);
    const approvedBy = byChoice('approve');
    const rejectedBy = byChoice('reject');
    const excluded = tally.excluded.map((e) => e.agent);
    print('');
    print(`5. Outcome: ${decided.status.toUpperCase()}`);
    print(
      `   approve ${tally.approve.count} (${approvedBy.join(', ')}), reject ${tally.reject.count} (${rejectedBy.join(', ')}), excluded ${excluded.join(', ') || 'none'}; ${APPROVALS_NEEDED} approvals needed`,
    );
    print(
      `   had the forged ballot and ${EQUIVOCATOR}'s approve (shown to replicas ${firstHalf.join(', ')}) counted, ${approvedBy.length + 2} approvals would have shipped it`,
    );
    check(
      'the release is rejected, as the honest majority (agent-0, agent-1 against agent-2) voted',
      decided.status === 'rejected',
    );
    check(
      `${EQUIVOCATOR}'s ballot is not among the counted ones`,
      !tally.counted.some((b) => b.agent === EQUIVOCATOR) && excluded.includes(EQUIVOCATOR),
    );

    // 6. The Byzantine replica's lies.
    const contradictedReplies = ledger.contradicted(f);
    const liars = Object.keys(contradictedReplies).map(Number);
    print('');
    print('6. What the Byzantine replica told the agents');
    if (liars.length === 0) print('   no replica contradicted the others');
    for (const replica of liars) {
      print(
        `   replica ${replica} signed ${contradictedReplies[replica]} replies whose result contradicted f+1=${f + 1} matching replicas; no agent accepted one`,
      );
    }
    if (stage.byzantineReplicas.length > 0) {
      check(
        `the lies came only from the Byzantine replica(s) and were outvoted`,
        liars.length > 0 && liars.every((r) => stage.byzantineReplicas.includes(r)),
      );
    }

    const ok = claims.every((c) => c.held);
    const elapsedMs = Math.round(performance.now() - started);
    print('');
    print(
      ok
        ? `All ${claims.length} claims held (${elapsedMs} ms).`
        : `${claims.filter((c) => !c.held).length} of ${claims.length} claims FAILED.`,
    );
    return {
      ok,
      claims,
      outcome: decided.status,
      approvedBy,
      rejectedBy,
      excluded,
      forgery,
      evidence: evidenceSummary,
      receiptsVerified,
      contradictedReplies,
      elapsedMs,
    };
  } finally {
    await Promise.all([...clients.values()].map((c) => c.close()));
    await Promise.all(transports.map((t) => t.close()));
  }
}
