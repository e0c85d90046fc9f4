/**
 * Sealed judging: three judges score two candidate answers on a sealed proposal, so none can
 * see another's scores before fixing its own. A copycat tries to copy the best-informed judge,
 * and cannot; a fourth judge commits and then goes silent, and is recorded.
 *
 * The story runs on an in-process cluster (4 replicas, f = 1) and checks its own claims: what
 * each party could read during the commit phase, the refusals the copycat met, the evidence
 * against the copycat and the silent judge (checked offline), and the winner.
 */
import {
  type CoordinationResult,
  decodeCommitment,
  decodeResult,
  type Evidence,
  encodeBallot,
  encodeCommitment,
  ops,
  type ProposalView,
  type ScoreChoice,
  verifyEvidence,
} from '@conclave/coordination';
import {
  type ConclaveClient,
  type Coordination,
  coordination,
  RejectedError,
  startInProcessCluster,
} from '@conclave/sdk';

export const JUDGES = ['alpha', 'beta', 'gamma'] as const;
export const COPYCAT = 'copycat';
export const SILENT = 'silent';
const AGENTS = [...JUDGES, COPYCAT, SILENT];
const PROPOSAL = 'best-answer';
/**
 * The commit phase, in ticks (the in-process cluster's ticks are 5 ms): 5 s, room for eight
 * ordered requests on a loaded machine. The reveal phase is shorter: the silent judge makes the
 * proposal wait for its deadline.
 */
const COMMIT_TICKS = 1_000;
const REVEAL_TICKS = 600;

/** What each judge thinks of the two answers (alpha read the source; the others skimmed). */
const SCORES: Record<(typeof JUDGES)[number], ScoreChoice> = {
  alpha: [
    ['answer-1', 2],
    ['answer-2', 9],
  ],
  beta: [
    ['answer-1', 6],
    ['answer-2', 7],
  ],
  gamma: [
    ['answer-1', 7],
    ['answer-2', 5],
  ],
};

/** What the story shows, for the checks and the test. */
export interface JudgingSummary {
  readonly winner: string | null;
  readonly status: string;
  /** During the commit phase: who had committed, and whether any read showed a score. */
  readonly seenDuringCommit: { readonly committed: readonly string[]; readonly scoresVisible: boolean };
  /** The copycat's attempts, each with the code it was refused with. */
  readonly copycatRefusals: readonly string[];
  readonly excluded: readonly { readonly agent: string; readonly reason: string }[];
  readonly unrevealed: readonly string[];
  /** Evidence kinds recorded, with whether each verified offline. */
  readonly evidence: readonly { readonly kind: string; readonly agent: string; readonly verified: boolean }[];
}

/** Runs the story; `print` gets a transcript a person can follow. */
export async function judging(print: (line: string) => void = console.log): Promise<JudgingSummary> {
  const cluster = await startInProcessCluster({ agents: AGENTS });
  const clients = new Map<string, ConclaveClient>();
  try {
    for (const agent of AGENTS) clients.set(agent, await cluster.connect(agent));
    const c = (agent: string) => coordination(clients.get(agent) as ConclaveClient);
    // Agreed time in ticks since the proposal opened, as every replica sees it.
    let opened = 0;
    const say = async (who: string, line: string) =>
      print(`[t+${String((await c(who).agreedTime()) - opened).padStart(4)}] ${who}: ${line}`);
    opened = (await openProposal(c('alpha'))).createdAt.timestamp;
    const ends = `commit until t+${COMMIT_TICKS}, reveal until t+${COMMIT_TICKS + REVEAL_TICKS}`;
    await say('alpha', `opened ${PROPOSAL} (score, median), sealed: ${ends}`);
    const during = await commitPhase(c, clients, say);
    const revealRefusals = await revealPhase(c, clients, say);
    const decided = await c('beta').waitForDecision(PROPOSAL, { timeoutMs: 30_000 });
    const evidence = await c('beta').evidence({ proposalId: PROPOSAL });
    const agents = await c('beta').agents();
    const refusals = [...during.refusals, ...revealRefusals];
    const summary = summarize(
      decided,
      { ...during, refusals },
      evidence,
      (e) => verifyEvidence(e, agents, cluster.crypto).ok,
    );
    printOutcome(decided, summary, print);
    return summary;
  } finally {
    await Promise.all([...clients.values()].map((client) => client.close()));
    await cluster.stop();
  }
}

type Say = (who: string, line: string) => Promise<void>;

async function openProposal(alpha: Coordination): Promise<ProposalView> {
  return alpha.propose({
    proposalId: PROPOSAL,
    title: 'Which answer to the user question is better?',
    rule: { kind: 'score', aggregate: 'median', trimPermille: 0, minBallots: 2 },
    voters: AGENTS.map((agent) => ({ agent, weight: 1 })),
    candidates: ['answer-1', 'answer-2'],
    ttlTicks: COMMIT_TICKS + REVEAL_TICKS,
    sealed: { commitTicks: COMMIT_TICKS, missingReveal: 'abstain' },
  });
}

/** Everyone commits; the copycat looks around first, and copies alpha's seal. */
async function commitPhase(
  c: (agent: string) => Coordination,
  clients: Map<string, ConclaveClient>,
  say: Say,
): Promise<{ committed: readonly string[]; scoresVisible: boolean; refusals: string[] }> {
  await c('alpha').commit(PROPOSAL, SCORES.alpha, { reason: 'I ran both answers against the source' });
  await say('alpha', 'committed (a salted hash of its scores; the salt comes from its key)');
  const refusals: string[] = [];
  const copycat = clients.get(COPYCAT) as ConclaveClient;
  // What can the copycat learn? Who committed, and alpha's seal: nothing about the scores.
  const view = await c(COPYCAT).decision(PROPOSAL);
  const scoresVisible = view.tally.counted.length > 0 || view.tally.candidates.some((x) => x.ballots > 0);
  await say(
    COPYCAT,
    `reads ${PROPOSAL}: phase ${view.phase}, committed ${view.sealed?.committed.join(', ')}, scores seen: ${scoresVisible ? 'yes' : 'none'}`,
  );
  refusals.push(
    await refusal(copycat, ops.getBallot({ proposalId: PROPOSAL, agent: 'alpha' }), "read alpha's ballot"),
  );
  await say(
    COPYCAT,
    `asks for alpha's ballot: refused, ${refusals.at(-1)} (the replicas hold only its seal)`,
  );
  const alphaCommitment = await c(COPYCAT).commitment(PROPOSAL, 'alpha');
  if (alphaCommitment === null) throw new Error('alpha has no commitment on record');
  const decoded = decodeCommitment(alphaCommitment.commitmentBytes);
  if (!decoded.ok) throw new Error(`alpha's commitment does not decode: ${decoded.message}`);
  const { seal } = decoded.commitment;
  await say(
    COPYCAT,
    `reads alpha's commitment: seal ${Buffer.from(seal).toString('hex').slice(0, 16)}… (a hash; it says nothing)`,
  );
  // It signs a commitment of its own that carries alpha's seal: the cluster takes it (a seal says nothing)...
  const copied = encodeCommitment({ proposalId: PROPOSAL, agent: COPYCAT, seal });
  await requestOk(copycat, ops.commit({ commitmentBytes: copied, signature: copycat.sign(copied) }));
  await say(COPYCAT, "committed a copy of alpha's seal");
  for (const judge of ['beta', 'gamma'] as const) {
    await c(judge).commit(PROPOSAL, SCORES[judge], { reason: 'skimmed both' });
    await say(judge, 'committed');
  }
  await c(SILENT).commit(
    PROPOSAL,
    [
      ['answer-1', 10],
      ['answer-2', 0],
    ],
    { reason: 'will not say' },
  );
  await say(SILENT, 'committed, and then goes silent (it never reveals)');
  const after = await c('beta').decision(PROPOSAL);
  return { committed: after.sealed?.committed ?? [], scoresVisible, refusals };
}

/** After the commit deadline: the judges reveal; the copycat tries to pass alpha's ballot off as its own. */
async function revealPhase(
  c: (agent: string) => Coordination,
  clients: Map<string, ConclaveClient>,
  say: Say,
): Promise<string[]> {
  const refusals: string[] = [];
  // vote() on a sealed proposal commits (again: a harmless duplicate), waits for the reveal phase, and reveals.
  await c('alpha').vote(PROPOSAL, SCORES.alpha, { reason: 'I ran both answers against the source' });
  await say('alpha', 'revealed');
  const copycat = clients.get(COPYCAT) as ConclaveClient;
  const alphaBallot = decodeOk(
    await copycat.request(ops.getBallot({ proposalId: PROPOSAL, agent: 'alpha' })),
  );
  if (alphaBallot.kind !== 'ballot' || alphaBallot.salt === null)
    throw new Error("alpha's ballot has no salt");
  // Alpha's ballot is signed by alpha and names alpha: it is not the copycat's to reveal.
  const stolen = ops.reveal({
    ballotBytes: alphaBallot.ballotBytes,
    signature: alphaBallot.signature,
    salt: alphaBallot.salt,
  });
  // Its own ballot with alpha's scores and salt does not reproduce the seal: the seal binds alpha's id.
  const ownBytes = encodeBallot({
    proposalId: PROPOSAL,
    agent: COPYCAT,
    choice: SCORES.alpha,
    reason: 'I ran both answers against the source',
    confidencePermille: 1000,
  });
  const own = ops.reveal({
    ballotBytes: ownBytes,
    signature: copycat.sign(ownBytes),
    salt: alphaBallot.salt,
  });
  for (const [attempt, operation] of [
    ["reveal alpha's signed ballot", stolen],
    ["reveal its own copy of alpha's scores", own],
  ] as const) {
    const code = await refusal(copycat, operation, attempt);
    refusals.push(code);
    await say(COPYCAT, `tries to ${attempt}: refused, ${code}`);
  }
  for (const judge of ['beta', 'gamma'] as const) {
    await c(judge).vote(PROPOSAL, SCORES[judge], { reason: 'skimmed both' });
    await say(judge, 'revealed');
  }
  return refusals;
}

/** The code an operation is refused with (it must be refused). */
async function refusal(client: ConclaveClient, operation: Uint8Array, what: string): Promise<string> {
  const result = decodeResult((await client.request(operation)).result);
  if (result.ok) throw new Error(`${client.agent} could ${what}`);
  return result.code;
}

async function requestOk(client: ConclaveClient, operation: Uint8Array): Promise<void> {
  decodeOk(await client.request(operation));
}

function decodeOk(answer: { readonly result: Uint8Array }): Extract<CoordinationResult, { ok: true }> {
  const result = decodeResult(answer.result);
  if (!result.ok) throw new RejectedError(result.code, `${result.code}: ${result.message}`);
  return result;
}

function summarize(
  decided: ProposalView,
  during: { committed: readonly string[]; scoresVisible: boolean; refusals: string[] },
  evidence: readonly Evidence[],
  verified: (e: Evidence) => boolean,
): JudgingSummary {
  return {
    winner: decided.tally.winner,
    status: decided.status,
    seenDuringCommit: { committed: during.committed, scoresVisible: during.scoresVisible },
    copycatRefusals: during.refusals,
    excluded: decided.tally.excluded.map((e) => ({ agent: e.agent, reason: e.reason })),
    unrevealed: decided.tally.unrevealed.map((u) => u.agent),
    evidence: evidence.map((e) => ({ kind: e.kind, agent: e.agent, verified: verified(e) })),
  };
}

function printOutcome(decided: ProposalView, summary: JudgingSummary, print: (line: string) => void): void {
  for (const c of decided.tally.candidates)
    print(`  ${c.candidate}: median ${(c.aggregateMilli ?? 0) / 1000} over ${c.ballots} revealed ballots`);
  print(`${PROPOSAL} → ${decided.status}, winner ${decided.tally.winner}`);
  for (const e of summary.excluded) print(`  excluded: ${e.agent} (${e.reason})`);
  for (const agent of summary.unrevealed)
    print(`  never revealed: ${agent} (counted as ${decided.sealed?.missingReveal}: no scores)`);
  for (const e of summary.evidence)
    print(`  evidence: ${e.kind} against ${e.agent}, verified offline: ${e.verified}`);
}
