/**
 * `pnpm bench:sealed`: what a sealed vote costs over an open one, on a fresh local cluster of
 * real daemons. Each round, `voters` agents vote on one open proposal, then on one sealed
 * proposal (commit, wait for the commit deadline in agreed time, reveal). Reported as medians
 * over rounds: the latency of each ordered request (vote; commit; reveal), the time from the
 * first ballot sent to the decision (for the sealed proposal: from the first reveal sent, since
 * the commit phase is a length the proposer chooses), the requests per voter, and the bytes of
 * each operation and of the proposal in the state.
 *
 * Bounded: every request has a timeout, the number of rounds is fixed, and the daemons and the
 * temp directory are removed at the end, on error too. Options: --rounds N (default 20),
 * --voters N (default 3, at most 8), --commit-ticks T (default 100, 1 s at 10 ms ticks), --source (run the daemons
 * through tsx instead of a fresh bundle).
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  type Choice,
  type Commitment,
  decodeResult,
  deriveSealSalt,
  encodeBallot,
  encodeCommitment,
  ops,
  type SignedBallot,
  type SignedCommitment,
  sealOf,
} from '@conclave/coordination';
import { nodeCrypto } from '@conclave/core';
import type { ConclaveClient } from '@conclave/sdk';
import { connectAgent } from '../src/connect.ts';
import {
  makeCluster,
  type RunningReplica,
  startReplica,
  statusOf,
  stopReplica,
  waitFor,
} from '../src/local-cluster.ts';
import { median } from './bench-lib.ts';
import { buildDaemon, DIST } from './build.ts';

const crypto = nodeCrypto();
const TIMEOUT_MS = 30_000;
const AGREED_TIME_POLL_MS = 5;

interface Options {
  readonly rounds: number;
  readonly voters: number;
  readonly commitTicks: number;
  readonly source: boolean;
}

function parse(argv: readonly string[]): Options {
  const value = (name: string, fallback: number) => {
    const i = argv.indexOf(name);
    if (i === -1) return fallback;
    const n = Number(argv[i + 1]);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} takes a positive integer`);
    return n;
  };
  const voters = value('--voters', 3);
  if (voters > 8) throw new Error('--voters is at most 8');
  return {
    rounds: value('--rounds', 20),
    voters,
    commitTicks: value('--commit-ticks', 100),
    source: argv.includes('--source'),
  };
}

/** One ordered request: its result (checked ok) and its latency in ms. */
async function timed(client: ConclaveClient, operation: Uint8Array) {
  const start = performance.now();
  const answer = await client.request(operation, { timeoutMs: TIMEOUT_MS });
  const ms = performance.now() - start;
  const result = decodeResult(answer.result);
  if (!result.ok) throw new Error(`${client.agent}: ${result.code}: ${result.message}`);
  return { result, ms };
}

/** Agreed time now: an ordered read, whose result carries the time of the batch it ran in. */
async function agreedTime(client: ConclaveClient): Promise<number> {
  return (await timed(client, ops.listAgents({ limit: 1 }))).result.at.timestamp;
}

function signedBallot(client: ConclaveClient, proposalId: string, choice: Choice) {
  const ballotBytes = encodeBallot({
    proposalId,
    agent: client.agent,
    choice,
    reason: 'looks right',
    confidencePermille: 800,
  });
  return { ballotBytes, signature: client.sign(ballotBytes) };
}

interface Round {
  readonly voteMs: number[];
  readonly commitMs: number[];
  readonly revealMs: number[];
  readonly openDecisionMs: number;
  readonly sealedDecisionMs: number;
  readonly agreedTimeReads: number;
}

async function round(clients: readonly ConclaveClient[], index: number, commitTicks: number): Promise<Round> {
  const [proposer] = clients;
  if (proposer === undefined) throw new Error('no clients');
  const voters = clients.map((c) => ({ agent: c.agent, weight: 1 }));
  const now = await agreedTime(proposer);
  const rule = { kind: 'threshold', k: clients.length } as const;
  const open = `open-${index}`;
  await timed(proposer, ops.propose({ proposalId: open, title: '', rule, voters, deadline: now + 100_000 }));
  const openStart = performance.now();
  const votes = await Promise.all(clients.map((c) => timed(c, ops.vote(signedBallot(c, open, 'approve')))));
  const openDecisionMs = performance.now() - openStart;

  const sealedId = `sealed-${index}`;
  const at = await agreedTime(proposer);
  const commitDeadline = at + commitTicks;
  const sealed = { commitDeadline, missingReveal: 'abstain' } as const;
  await timed(
    proposer,
    ops.propose({ proposalId: sealedId, title: '', rule, voters, deadline: at + 100_000, sealed }),
  );
  const ballots = clients.map((c) => signedBallot(c, sealedId, 'approve'));
  const salts = clients.map((c) => deriveSealSalt(sealedId, c.agent, (m) => c.sign(m), crypto));
  const commits = await Promise.all(
    clients.map((c, i) => {
      const ballot = ballots[i] as SignedBallot;
      const seal = sealOf(sealedId, c.agent, ballot.ballotBytes, salts[i] as Uint8Array, crypto);
      return timed(c, ops.commit(signedCommitment(c, { proposalId: sealedId, agent: c.agent, seal })));
    }),
  );
  let reads = 0;
  for (;;) {
    reads += 1;
    if ((await agreedTime(proposer)) >= commitDeadline) break;
    await new Promise((resolve) => setTimeout(resolve, AGREED_TIME_POLL_MS));
  }
  const sealedStart = performance.now();
  const reveals = await Promise.all(
    clients.map((c, i) =>
      timed(c, ops.reveal({ ...(ballots[i] as SignedBallot), salt: salts[i] as Uint8Array })),
    ),
  );
  const sealedDecisionMs = performance.now() - sealedStart;
  const decided = decodeResult((await proposer.request(ops.getProposal({ proposalId: sealedId }))).result);
  if (!decided.ok || decided.kind !== 'proposal' || decided.proposal.status !== 'approved')
    throw new Error(`sealed proposal ${sealedId} was not approved`);
  return {
    voteMs: votes.map((v) => v.ms),
    commitMs: commits.map((v) => v.ms),
    revealMs: reveals.map((v) => v.ms),
    openDecisionMs,
    sealedDecisionMs,
    agreedTimeReads: reads,
  };
}

/** A commitment signed with the client's key. */
function signedCommitment(client: ConclaveClient, commitment: Commitment): SignedCommitment {
  const commitmentBytes = encodeCommitment(commitment);
  return { commitmentBytes, signature: client.sign(commitmentBytes) };
}

/** The bytes of each operation of one voter, and of a proposal in the state, for an `approve` ballot. */
function sizes(client: ConclaveClient) {
  const ballot = signedBallot(client, 'p-000000', 'approve');
  const salt = deriveSealSalt('p-000000', client.agent, (m) => client.sign(m), crypto);
  const seal = sealOf('p-000000', client.agent, ballot.ballotBytes, salt, crypto);
  const commitment = signedCommitment(client, { proposalId: 'p-000000', agent: client.agent, seal });
  return {
    voteOp: ops.vote(ballot).byteLength,
    commitOp: ops.commit(commitment).byteLength,
    revealOp: ops.reveal({ ...ballot, salt }).byteLength,
  };
}

async function main(argv: readonly string[]): Promise<void> {
  const options = parse(argv);
  const bundleDir = options.source ? undefined : join(DIST, `bench-sealed-${process.pid}`);
  const bundle = bundleDir === undefined ? undefined : await buildDaemon(bundleDir);
  // Every round decides two proposals of agent-0's: room for all of them to be retained.
  const coordination = {
    agentsMax: 8,
    votersMax: 8,
    openProposalsPerAgentMax: 2,
    retainedProposalsPerAgentMax: 2 * options.rounds,
  };
  const { dir } = await makeCluster(4, options.voters, {}, 'coordination', coordination);
  const replicas: RunningReplica[] = [];
  const clients: ConclaveClient[] = [];
  try {
    for (let id = 0; id < 4; id++) replicas.push(startReplica(dir, id, ['--log-level', 'warn'], { bundle }));
    await waitFor(
      'replicas up',
      async () =>
        (await Promise.all(replicas.map((r) => statusOf(dir, r.id)))).every((s) => s !== undefined)
          ? true
          : undefined,
      120_000,
    );
    for (let i = 0; i < options.voters; i++)
      clients.push(await connectAgent({ dir, agent: `agent-${i}`, connectTimeoutMs: TIMEOUT_MS }));
    const rounds: Round[] = [];
    for (let i = 0; i < options.rounds; i++) rounds.push(await round(clients, i, options.commitTicks));
    report(options, rounds, sizes(clients[0] as ConclaveClient));
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(replicas.map((r) => stopReplica(r, 'SIGTERM', 10_000)));
    rmSync(dirname(dir), { recursive: true, force: true });
    if (bundleDir !== undefined) rmSync(bundleDir, { recursive: true, force: true });
  }
}

function report(options: Options, rounds: readonly Round[], bytes: ReturnType<typeof sizes>): void {
  const all = (pick: (r: Round) => number[]) => rounds.flatMap(pick);
  const med = (values: number[]) => median(values).toFixed(2);
  const vote = median(all((r) => r.voteMs));
  const commit = median(all((r) => r.commitMs));
  const reveal = median(all((r) => r.revealMs));
  const openDecision = median(rounds.map((r) => r.openDecisionMs));
  const sealedDecision = median(rounds.map((r) => r.sealedDecisionMs));
  console.log(
    `${options.rounds} rounds, ${options.voters} voters, 4 replicas, commit phase ${options.commitTicks} ticks`,
  );
  console.log(
    `latency per ordered request (median ms): vote ${med(all((r) => r.voteMs))}, commit ${med(all((r) => r.commitMs))}, reveal ${med(all((r) => r.revealMs))}`,
  );
  console.log(
    `ballot to decision (median ms): open ${openDecision.toFixed(2)}, sealed (from first reveal) ${sealedDecision.toFixed(2)}; ratio ${(sealedDecision / openDecision).toFixed(2)}`,
  );
  console.log(
    `per voter: open 1 request (${bytes.voteOp} B of operation); sealed 2 requests (${bytes.commitOp} + ${bytes.revealOp} = ${bytes.commitOp + bytes.revealOp} B), ${((bytes.commitOp + bytes.revealOp) / bytes.voteOp).toFixed(2)}× the bytes; plus agreed-time reads while waiting (median ${median(rounds.map((r) => r.agreedTimeReads))} per round, shared)`,
  );
  console.log(
    `time a voter spends on its two requests over one vote: ${((commit + reveal) / vote).toFixed(2)}×`,
  );
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
