import {
  type CoordinationLimits,
  type CoordinationStateMachine,
  decodeResult,
  encodeBallot,
  encodeResult,
  ops,
  verifyEvidence,
} from '@conclave/coordination';
import { createRequest, verifyReceipt } from '@conclave/core';
import { rewrittenQueryReplies } from '@conclave/harness';
import { replicaPeer } from '@conclave/transport';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConclaveError,
  coordination,
  ForbiddenError,
  type InProcessCluster,
  QuotaError,
  RejectedError,
  samePosition,
  startInProcessCluster,
} from '../src/index.ts';

const clusters: InProcessCluster[] = [];
afterEach(async () => {
  for (const cluster of clusters.splice(0)) await cluster.stop();
});

async function start(
  agents = ['alice', 'bob', 'carol', 'mallory'],
  limits?: Partial<CoordinationLimits>,
): Promise<InProcessCluster> {
  const cluster = await startInProcessCluster({
    agents,
    ...(limits === undefined ? {} : { coordination: limits }),
  });
  clusters.push(cluster);
  return cluster;
}

const bytes = (text: string) => new TextEncoder().encode(text);
const voters = (...agents: string[]) => agents.map((agent) => ({ agent, weight: 1 }));

describe('coordination through the SDK', () => {
  it('a threshold proposal is approved by signed ballots, with receipts that verify offline', async () => {
    const cluster = await start();
    const [alice, bob, carol] = await Promise.all(
      ['alice', 'bob', 'carol'].map((a) => cluster.connect(a).then(coordination)),
    );
    await alice!.propose({
      proposalId: 'ship-1.4',
      title: 'Ship 1.4?',
      rule: { kind: 'threshold', k: 2 },
      voters: voters('alice', 'bob', 'carol'),
      ttlTicks: 2_000,
    });
    const progress: number[] = [];
    const waiting = carol!.waitForDecision('ship-1.4', {
      onProgress: (p) => progress.push(p.tally.counted.length),
    });
    const a = await alice!.vote('ship-1.4', 'approve', { reason: 'tests pass', confidence: 0.9 });
    const b = await bob!.vote('ship-1.4', 'approve', { reason: 'benchmarks ok' });
    const decided = await waiting;
    expect(decided.status).toBe('approved');
    for (const vote of [a, b])
      expect(verifyReceipt(vote.receipt, cluster.cluster, cluster.crypto).ok).toBe(true);
    expect((await alice!.decision('ship-1.4', { consistency: 'local', replica: 3 })).status).toBe('approved');
    for (const c of [alice, bob, carol]) await c!.client.close();
  });

  it('an agent that equivocates to different replicas leaves evidence, and its ballot does not count', async () => {
    const cluster = await start();
    const alice = coordination(await cluster.connect('alice'));
    await alice.propose({
      proposalId: 'p',
      title: 'p',
      rule: { kind: 'threshold', k: 3 },
      voters: voters('alice', 'bob', 'carol', 'mallory'),
      ttlTicks: 400,
    });
    // Mallory signs both an approve and a reject ballot, and sends them, under one requestId,
    // to different halves of the cluster.
    const mallory = cluster.identity('mallory');
    const transport = cluster.transport('mallory');
    await transport.start();
    const ballot = (choice: 'approve' | 'reject') => {
      const ballotBytes = encodeBallot({
        proposalId: 'p',
        agent: 'mallory',
        choice,
        reason: '',
        confidencePermille: 1000,
      });
      return ops.vote({ ballotBytes, signature: cluster.crypto.sign(ballotBytes, mallory.secretKey) });
    };
    const requestId = Date.now() * 1000;
    const approve = createRequest(
      { agent: 'mallory', requestId, operation: ballot('approve') },
      cluster.crypto,
      mallory.secretKey,
    );
    const reject = createRequest(
      { agent: 'mallory', requestId, operation: ballot('reject') },
      cluster.crypto,
      mallory.secretKey,
    );
    for (let attempt = 0; attempt < 20 && transport.connected().length < 4; attempt++)
      await new Promise((r) => setTimeout(r, 20));
    transport.send(replicaPeer(0), approve.frame);
    transport.send(replicaPeer(1), approve.frame);
    transport.send(replicaPeer(2), reject.frame);
    transport.send(replicaPeer(3), reject.frame);
    let evidence = await alice.evidence({ proposalId: 'p' });
    for (let attempt = 0; attempt < 50 && evidence.length === 0; attempt++) {
      await new Promise((r) => setTimeout(r, 50));
      evidence = await alice.evidence({ proposalId: 'p' });
    }
    expect(evidence).toHaveLength(1);
    expect(evidence[0]!.agent).toBe('mallory');
    expect(verifyEvidence(evidence[0]!, cluster.cluster.agents, cluster.crypto).ok).toBe(true);
    const proposal = await alice.decision('p');
    expect(proposal.tally.counted.map((b) => b.agent)).not.toContain('mallory');
    await transport.close();
    await alice.client.close();
  });

  it('a forged ballot is refused with a typed error', async () => {
    const cluster = await start();
    const alice = coordination(await cluster.connect('alice'));
    const mallory = await cluster.connect('mallory');
    await alice.propose({
      proposalId: 'q',
      title: 'q',
      rule: { kind: 'threshold', k: 1 },
      voters: voters('alice', 'bob'),
      ttlTicks: 1_000,
    });
    const ballotBytes = encodeBallot({
      proposalId: 'q',
      agent: 'bob',
      choice: 'approve',
      reason: 'forged',
      confidencePermille: 1000,
    });
    const forged = ops.vote({ ballotBytes, signature: mallory.sign(ballotBytes) });
    const answer = await mallory.request(forged);
    const result = decodeResult(answer.result);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.code).toBe('FORGED_BALLOT');
    expect((await alice.decision('q')).status).toBe('open');
    await alice.client.close();
    await mallory.close();
  });

  it('kv compare-and-set, locks, tasks and watch', async () => {
    const cluster = await start();
    const alice = coordination(await cluster.connect('alice'));
    const bob = coordination(await cluster.connect('bob'));
    const first = await alice.kv.cas('config', 0, bytes('v1'));
    expect(first.version).toBe(1);
    const mismatch = await bob.kv.cas('config', 0, bytes('v1b')).catch((e: unknown) => e);
    expect(mismatch).toBeInstanceOf(RejectedError);
    expect((mismatch as RejectedError).reason).toBe('VERSION_MISMATCH');
    expect(new TextDecoder().decode((await bob.kv.get('config', { consistency: 'quorum' })).value!)).toBe(
      'v1',
    );

    await alice.locks.acquire('deploy', 10_000);
    const busy = await bob.locks.acquire('deploy', 10_000).catch((e: unknown) => e);
    expect((busy as RejectedError).reason).toBe('CONFLICT');

    await alice.tasks.create('t1', bytes('index the docs'));
    await bob.tasks.claim('t1', 10_000);
    const double = await alice.tasks.claim('t1', 10_000).catch((e: unknown) => e);
    expect((double as RejectedError).reason).toBe('CONFLICT');
    expect((await bob.tasks.complete('t1', bytes('done'))).status).toBe('done');

    const controller = new AbortController();
    const kinds: string[] = [];
    for await (const event of alice.watch({ signal: controller.signal, pollMs: 20 })) {
      kinds.push(event.kind);
      if (event.kind === 'task_completed') controller.abort();
    }
    expect(kinds).toEqual(
      expect.arrayContaining(['kv_put', 'lock_acquired', 'task_created', 'task_claimed', 'task_completed']),
    );
    await alice.client.close();
    await bob.client.close();
  });

  it('QUOTA and FORBIDDEN refusals are QuotaError (naming the resource) and ForbiddenError; writers grant access', async () => {
    const cluster = await start(undefined, { kvKeysPerAgentMax: 1 });
    const alice = coordination(await cluster.connect('alice'));
    const bob = coordination(await cluster.connect('bob'));
    await alice.kv.put('notes', bytes('a'));
    const over = await alice.kv.put('second', bytes('b')).catch((e: unknown) => e);
    expect(over).toBeInstanceOf(QuotaError);
    expect(over).toBeInstanceOf(RejectedError);
    expect((over as QuotaError).code).toBe('QUOTA');
    expect((over as QuotaError).resource).toBe('kv-keys');
    expect((over as QuotaError).message).toMatch(/kv-keys/);
    // Alice's quota is hers: bob's first key is still his to write.
    expect((await bob.kv.put('second', bytes('b'))).owner).toBe('bob');
    const forbidden = await bob.kv.put('notes', bytes('mine now')).catch((e: unknown) => e);
    expect(forbidden).toBeInstanceOf(ForbiddenError);
    expect((forbidden as ForbiddenError).code).toBe('FORBIDDEN');
    await alice.kv.put('notes', bytes('a2'), { writers: ['bob'] });
    const granted = await bob.kv.put('notes', bytes('b2'));
    expect(granted).toMatchObject({ owner: 'alice', writers: ['bob'], updatedBy: 'bob' });
    await alice.client.close();
    await bob.client.close();
  });

  it('`coordination` limits reach every replica: with kvKeysPerAgentMax 2 the third key is QUOTA', async () => {
    const cluster = await start(undefined, { kvKeysPerAgentMax: 2 });
    for (let replica = 0; replica < 4; replica++)
      expect((cluster.stateMachine(replica) as CoordinationStateMachine).limits.kvKeysPerAgentMax).toBe(2);
    const alice = coordination(await cluster.connect('alice'));
    await alice.kv.put('alice/a', bytes('1'));
    await alice.kv.put('alice/b', bytes('2'));
    const third = await alice.kv.put('alice/c', bytes('3')).catch((e: unknown) => e);
    expect(third).toBeInstanceOf(QuotaError);
    expect((third as QuotaError).resource).toBe('kv-keys');
    // And nobody else may create a key under alice/.
    const bob = coordination(await cluster.connect('bob'));
    expect(await bob.kv.put('alice/d', bytes('4')).catch((e: unknown) => e)).toBeInstanceOf(ForbiddenError);
    await alice.client.close();
    await bob.client.close();
  });

  it('a watch without `from` raises EVENTS_LOST on a gap instead of skipping it', async () => {
    const cluster = await start(undefined, { eventsPerAgentMax: 2 });
    const alice = coordination(await cluster.connect('alice'));
    await alice.kv.put('k', bytes('0'));
    const watch = alice.watch({ pollMs: 20 });
    const first = await watch.next();
    expect(first.value).toMatchObject({ kind: 'kv_put', key: 'k' });
    // While the watcher holds its cursor, alice produces more events than her share keeps.
    for (let i = 1; i <= 4; i++) await alice.kv.put('k', bytes(String(i)));
    const lost = await watch.next().catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(ConclaveError);
    expect((lost as ConclaveError).code).toBe('EVENTS_LOST');
    // A new watch without `from` starts where the log is gap-free, and reads alice's last 2 events.
    const fresh = alice.watch({ pollMs: 20 });
    const values: string[] = [];
    for (let i = 0; i < 2; i++) {
      const next = await fresh.next();
      if (!next.done && next.value.kind === 'kv_put') values.push(String(next.value.version));
    }
    expect(values).toHaveLength(2);
    await fresh.return(undefined);
    await alice.client.close();
  });
});

describe('quorum reads of coordination results', () => {
  /** A replica that reports its reads at another position (`at.sequence + shift`), signed as itself. */
  const shifted = (shift: number) =>
    rewrittenQueryReplies((result) => {
      const decoded = decodeResult(result);
      if (!decoded.ok) return result;
      return encodeResult({ ...decoded, at: { ...decoded.at, sequence: decoded.at.sequence + shift } });
    });

  it('samePosition: answers differing only in position are the same answer, ordered by position', () => {
    const result = (sequence: number, value: string) =>
      encodeResult({
        ok: true,
        kind: 'kv',
        at: { sequence, timestamp: 7 },
        entry: { key: 'k', value: bytes(value), version: 1, owner: 'alice', writers: [] },
      } as never);
    expect(samePosition(result(3, 'v')).key).toBe(samePosition(result(9, 'v')).key);
    expect(samePosition(result(3, 'v')).key).not.toBe(samePosition(result(3, 'w')).key);
    expect(samePosition(result(9, 'v')).order).toBe(9);
    const refusal = encodeResult({ ok: false, code: 'NOT_FOUND', message: 'no k' });
    expect(samePosition(refusal)).toEqual({ key: Buffer.from(refusal).toString('hex'), order: 0 });
  });

  it("take a Byzantine replica's answer at a false position into the quorum, never its position", async () => {
    const cluster = await startInProcessCluster({ agents: ['alice'], byzantine: { 2: shifted(1_000_000) } });
    clusters.push(cluster);
    const client = await cluster.connect('alice');
    const alice = coordination(client);
    await alice.kv.put('alice/k', bytes('v'));
    expect((await alice.kv.get('alice/k', { consistency: 'quorum' })).value).toEqual(bytes('v'));
    for (let i = 0; i < 5; i++) {
      const answer = await client.query(ops.kvGet({ key: 'alice/k' }), 'quorum', { answerKey: samePosition });
      const read = decodeResult(answer.result);
      if (!read.ok) throw new Error(read.message);
      // Of the three answers used, the median position is an honest replica's.
      expect(read.at.sequence).toBeLessThan(1_000_000);
    }
    await client.close();
  });
});
