/**
 * Sealed ballots through the SDK, against an in-process cluster (5 ms ticks, so a commit phase of
 * 200 ticks is about a second; commit phases here are 2 to 4 s, so that a loaded machine
 * still fits the steps in them): the one-call `vote`, a restarted agent continuing from its
 * commitment, the explicit `commit`/`reveal`, the client-side check of a reveal, and refusals.
 */
import {
  actions,
  deriveSealSalt,
  encodeBallot,
  type ProposalPhase,
  type ProposalView,
  sealOf,
} from '@conclave/coordination';
import { verifyReceipt } from '@conclave/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AbortedError,
  type Coordination,
  coordination,
  type InProcessCluster,
  RejectedError,
  SealMismatchError,
  startInProcessCluster,
  TimeoutError,
} from '../src/index.ts';

const clusters: InProcessCluster[] = [];
const open: Coordination[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.client.close();
  for (const cluster of clusters.splice(0)) await cluster.stop();
});

const AGENTS = ['alice', 'bob', 'carol'];

async function start(): Promise<{
  cluster: InProcessCluster;
  alice: Coordination;
  bob: Coordination;
  carol: Coordination;
}> {
  const cluster = await startInProcessCluster({ agents: AGENTS });
  clusters.push(cluster);
  const [alice, bob, carol] = await Promise.all(AGENTS.map((a) => connectAs(cluster, a)));
  return { cluster, alice: alice!, bob: bob!, carol: carol! };
}

async function connectAs(cluster: InProcessCluster, agent: string): Promise<Coordination> {
  const c = coordination(await cluster.connect(agent));
  open.push(c);
  return c;
}

/** A sealed threshold proposal (k of alice, bob, carol) with a commit phase of `commitTicks`. */
async function proposeSealed(c: Coordination, proposalId: string, commitTicks = 200, k = 2) {
  return c.propose({
    proposalId,
    title: proposalId,
    rule: { kind: 'threshold', k },
    voters: AGENTS.map((agent) => ({ agent, weight: 1 })),
    ttlTicks: commitTicks + 2_000,
    sealed: { commitTicks },
  });
}

/** Polls (bounded) until 2f+1 replicas agree the proposal is in `phase`. */
async function untilPhase(c: Coordination, proposalId: string, phase: ProposalPhase): Promise<void> {
  const giveUp = Date.now() + 30_000;
  while (Date.now() < giveUp) {
    const view = await c.decision(proposalId, { consistency: 'quorum' }).catch(() => undefined);
    if (view?.phase === phase) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${proposalId} did not reach ${phase}`);
}

/** Fails unless `promise` rejects with a RejectedError whose coordination code is `reason`. */
async function refused(promise: Promise<unknown>, reason: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RejectedError);
  expect((error as RejectedError).reason).toBe(reason);
}

describe('sealed ballots through the SDK', () => {
  it('propose takes commitTicks relative to agreed time, missingReveal defaulting to abstain; proposeAction too', async () => {
    const { alice } = await start();
    const before = await alice.agreedTime();
    const view = await proposeSealed(alice, 'relative', 300);
    const after = await alice.agreedTime();
    expect(view.phase).toBe('commit');
    expect(view.sealed?.missingReveal).toBe('abstain');
    expect(view.sealed?.commitDeadline).toBeGreaterThanOrEqual(before + 300);
    expect(view.sealed?.commitDeadline).toBeLessThanOrEqual(after + 300);
    expect(view.deadline - (view.sealed?.commitDeadline ?? 0)).toBe(2_000);

    const absolute = await alice.proposeAction(actions.setAgentWeight('bob', 2), {
      proposalId: 'weight',
      deadline: after + 5_000,
      sealed: { commitDeadline: after + 1_000, missingReveal: 'reject' },
    });
    expect(absolute.sealed).toMatchObject({ commitDeadline: after + 1_000, missingReveal: 'reject' });
    await expect(
      alice.propose({
        proposalId: 'x',
        title: 'x',
        rule: { kind: 'threshold', k: 1 },
        voters: [{ agent: 'alice', weight: 1 }],
        ttlTicks: 100,
        sealed: {},
      }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('vote() on a sealed proposal commits, waits for the commit deadline, reveals; nothing is visible before', async () => {
    const { cluster, alice, bob } = await start();
    await proposeSealed(alice, 'ship', 800);
    let whileCommitting: Promise<ProposalView> | undefined;
    const [a, b] = await Promise.all([
      alice.vote('ship', 'approve', { reason: 'evals pass' }),
      bob.vote('ship', 'approve', { onCommitted: () => (whileCommitting = bob.decision('ship')) }),
    ]);
    for (const vote of [a, b]) {
      expect(vote.sealed?.commit?.proposal.phase).toBe('commit');
      expect(vote.sealed?.commit?.duplicate).toBe(false);
      expect(vote.sequence).toBeGreaterThan(vote.sealed?.commit?.sequence ?? Infinity);
      expect(vote.duplicate).toBe(false);
      expect(verifyReceipt(vote.receipt, cluster.cluster, cluster.crypto).ok).toBe(true);
      expect(verifyReceipt(vote.sealed!.commit!.receipt, cluster.cluster, cluster.crypto).ok).toBe(true);
    }
    // Read right after bob's commit: bob's commitment is known, no choice is counted or readable.
    const early = await whileCommitting;
    expect(early?.phase).toBe('commit');
    expect(early?.sealed?.committed).toContain('bob');
    expect(early?.tally.counted).toEqual([]);
    const decided = await alice.waitForDecision('ship');
    expect(decided.status).toBe('approved');
    expect(decided.sealed).toMatchObject({ committed: ['alice', 'bob'], revealed: ['alice', 'bob'] });
    expect(decided.tally.counted.map((c) => [c.agent, c.choice])).toEqual([
      ['alice', 'approve'],
      ['bob', 'approve'],
    ]);
    // The salt the vote used is the derived one, and the one the replicas kept with the ballot.
    const salt = deriveSealSalt('ship', 'alice', (m) => alice.client.sign(m), cluster.crypto);
    expect(a.sealed?.salt).toEqual(salt);
    expect((await alice.ballot('ship', 'alice'))?.salt).toEqual(salt);
  });

  it('a restarted agent continues from its commitment: a duplicate commit in the commit phase, a reveal after it', async () => {
    const { cluster, alice, bob, carol } = await start();
    await proposeSealed(alice, 'restart', 800);
    const committed = await bob.commit('restart', 'approve', { reason: 'looks right', confidence: 0.8 });
    await carol.commit('restart', 'approve');
    await bob.client.close();
    const bobAgain = await connectAs(cluster, 'bob'); // a new process, same key, nothing stored

    // Still in the commit phase: the same ballot again is a harmless duplicate, then the reveal.
    const again = await bobAgain.vote('restart', 'approve', { reason: 'looks right', confidence: 0.8 });
    expect(again.sealed?.commit).toMatchObject({ duplicate: true });
    expect(again.sealed?.commit?.salt).toEqual(committed.salt);
    expect(again.proposal.phase).not.toBe('commit');

    // After the commit deadline: carol's new process goes straight to the reveal.
    await carol.client.close();
    const carolAgain = await connectAs(cluster, 'carol');
    const revealed = await carolAgain.vote('restart', 'approve');
    expect(revealed.sealed).toMatchObject({ commit: null });
    const decided = await alice.waitForDecision('restart');
    expect(decided.status).toBe('approved');
    expect(decided.sealed?.revealed).toEqual(['bob', 'carol']);
    expect(await alice.evidence({ proposalId: 'restart' })).toEqual([]);
  }, 20_000);

  it('vote() in the reveal phase without a commitment is refused NO_COMMITMENT; a vote after the reveal is a duplicate', async () => {
    const { alice, bob } = await start();
    await proposeSealed(alice, 'late', 400);
    await bob.commit('late', 'reject');
    await untilPhase(alice, 'late', 'reveal');
    await refused(alice.vote('late', 'approve'), 'NO_COMMITMENT');
    const first = await bob.vote('late', 'reject');
    expect(first.duplicate).toBe(false);
    const second = await bob.vote('late', 'reject');
    expect(second).toMatchObject({ duplicate: true, sealed: { commit: null } });
  });

  it('commit() and reveal() explicitly: the salt, the commitment read, a reveal too early, an explicit salt', async () => {
    const { cluster, alice, bob } = await start();
    await proposeSealed(alice, 'two-step', 800);
    const commit = await alice.commit('two-step', 'approve');
    const secretKey = cluster.identity('alice').secretKey;
    expect(commit.salt).toEqual(
      deriveSealSalt('two-step', 'alice', (m) => cluster.crypto.sign(m, secretKey), cluster.crypto),
    );
    const ballotBytes = encodeBallot({
      proposalId: 'two-step',
      agent: 'alice',
      choice: 'approve',
      reason: '',
      confidencePermille: 1000,
    });
    expect(commit.seal).toEqual(sealOf('two-step', 'alice', ballotBytes, commit.salt, cluster.crypto));
    expect(await alice.commitment('two-step', 'alice')).toMatchObject({ seal: commit.seal, counted: true });
    expect(await alice.commitment('two-step', 'bob')).toBeNull();

    // Bob seals with a salt of his own (as an agent whose key will rotate keeps the one commit returned).
    const salt = new Uint8Array(24).fill(7);
    expect((await bob.commit('two-step', 'reject', { salt })).salt).toEqual(salt);
    await refused(alice.reveal('two-step', 'approve'), 'REVEAL_TOO_EARLY');

    await untilPhase(alice, 'two-step', 'reveal');
    await expect(bob.reveal('two-step', 'reject')).rejects.toBeInstanceOf(SealMismatchError);
    const bobRevealed = await bob.reveal('two-step', 'reject', { salt });
    expect(bobRevealed.sealed).toEqual({ salt, commit: null });
    const aliceRevealed = await alice.reveal('two-step', 'approve');
    expect(verifyReceipt(aliceRevealed.receipt, cluster.cluster, cluster.crypto).ok).toBe(true);
    expect(await alice.commitment('two-step', 'alice')).toBeNull(); // dropped once revealed
    expect((await alice.ballot('two-step', 'alice'))?.ballotBytes).toEqual(ballotBytes);
    expect(await alice.evidence({ proposalId: 'two-step' })).toEqual([]);
  });

  it('a ballot that does not match the commitment is caught before sending: no evidence, the voter still counts', async () => {
    const { alice, bob } = await start();
    await proposeSealed(alice, 'mind', 600);
    await bob.commit('mind', 'approve', { reason: 'first thought' });
    // In the commit phase another ballot would be a second commitment: equivocation.
    const second = bob.commit('mind', 'reject');
    await expect(second).rejects.toBeInstanceOf(SealMismatchError);
    await expect(second).rejects.toMatchObject({ code: 'SEAL_MISMATCH', proposalId: 'mind' });
    await untilPhase(alice, 'mind', 'reveal');
    // Another choice, and the same choice with another reason, do not reproduce the seal.
    await expect(bob.vote('mind', 'reject', { reason: 'first thought' })).rejects.toBeInstanceOf(
      SealMismatchError,
    );
    await expect(bob.reveal('mind', 'approve')).rejects.toBeInstanceOf(SealMismatchError);
    expect(await alice.evidence({ proposalId: 'mind' })).toEqual([]);
    expect((await alice.decision('mind')).tally.excluded).toEqual([]);
    const revealed = await bob.vote('mind', 'approve', { reason: 'first thought' });
    expect(revealed.duplicate).toBe(false);
    // Revealed: a different ballot now would be ballot equivocation; caught the same way.
    await expect(bob.vote('mind', 'reject')).rejects.toBeInstanceOf(SealMismatchError);
    expect(await alice.evidence({ proposalId: 'mind' })).toEqual([]);
  });

  it('refusals surface as RejectedError with the coordination code; an open proposal votes as before', async () => {
    const { alice, bob } = await start();
    await proposeSealed(alice, 'sealed', 500);
    await alice.propose({
      proposalId: 'plain',
      title: 'plain',
      rule: { kind: 'threshold', k: 2 },
      voters: AGENTS.map((agent) => ({ agent, weight: 1 })),
      ttlTicks: 2_000,
    });
    const ballotBytes = encodeBallot({
      proposalId: 'sealed',
      agent: 'bob',
      choice: 'approve',
      reason: '',
      confidencePermille: 1000,
    });
    await refused(bob.castBallot({ ballotBytes, signature: bob.client.sign(ballotBytes) }), 'SEALED');
    await refused(bob.commit('plain', 'approve'), 'NOT_SEALED');
    await refused(bob.reveal('plain', 'approve'), 'NOT_SEALED');
    await alice.commit('sealed', 'approve'); // else, with no commitment at all, it is decided at the commit deadline
    await untilPhase(alice, 'sealed', 'reveal');
    await refused(bob.commit('sealed', 'approve'), 'COMMIT_CLOSED');
    await refused(bob.reveal('sealed', 'approve'), 'NO_COMMITMENT');
    expect(await alice.commitment('nope', 'bob')).toBeNull();

    const plain = await alice.vote('plain', 'approve');
    expect(plain).toMatchObject({ sealed: null, duplicate: false });
    expect(plain.proposal.phase).toBe('voting');
    expect((await bob.vote('plain', 'approve')).proposal.status).toBe('approved');
    await refused(bob.vote('nope', 'approve'), 'NOT_FOUND');
  });

  it('the wait for the reveal phase is bounded by revealTimeoutMs and by an AbortSignal', async () => {
    const { alice, bob } = await start();
    await proposeSealed(alice, 'slow', 100_000);
    let committed = 0;
    await expect(
      alice.vote('slow', 'approve', { revealTimeoutMs: 200, onCommitted: () => committed++ }),
    ).rejects.toBeInstanceOf(TimeoutError);
    expect(committed).toBe(1);
    const abort = new AbortController();
    const voting = bob.vote('slow', 'reject', {
      signal: abort.signal,
      onCommitted: () => abort.abort('stop'),
    });
    await expect(voting).rejects.toBeInstanceOf(AbortedError);
    expect((await alice.decision('slow')).sealed?.committed).toEqual(['alice', 'bob']);
  });
});
