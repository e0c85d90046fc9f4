/**
 * Sealed ballots through the MCP tools, over an in-process cluster: propose sealed, cast_vote
 * commits and the server reveals by itself once the commit phase ends, a server restarted in
 * between reveals on cast_vote, a ballot that does not match the commitment is refused before
 * anything is sent, and reads in the commit phase show who committed but no choice. Then the
 * reveal scheduler on its own, against a scripted cluster: bounded, cancelled on close.
 */
import { DEFAULT_COORDINATION_LIMITS, decodeOperation, encodeResult } from '@conclave/coordination';
import { type Coordination, coordination, type InProcessCluster, startInProcessCluster } from '@conclave/sdk';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConclaveMcpServer } from '../src/index.ts';
import { acquireRevealScheduler, RevealScheduler } from '../src/reveals.ts';

const TICK_MS = 5;
let cluster: InProcessCluster;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  const agents = Array.from({ length: 6 }, (_, i) => `agent-${i}`);
  cluster = await startInProcessCluster({ tickMs: TICK_MS, agents });
});
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await cluster?.stop();
});

type ToolResult = {
  isError?: boolean;
  content: { text?: string }[];
  structuredContent?: Record<string, unknown>;
};
// biome-ignore lint/suspicious/noExplicitAny: the checks below reach into the tools' JSON answers
type Json = Record<string, any>;

/** An MCP client for a server signing as `agent` over its own new connection to the cluster. */
async function mcpFor(agent: string) {
  const conclave = await cluster.connect(agent);
  closers.push(() => conclave.close());
  const server = createConclaveMcpServer({ coordination: coordination(conclave), tickMs: TICK_MS });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: `test-${agent}`, version: '0.0.0' });
  await client.connect(clientSide);
  closers.push(() => client.close());
  const call = async (name: string, args: Record<string, unknown> = {}) =>
    (await client.callTool({ name, arguments: args }, undefined, { timeout: 20_000 })) as ToolResult;
  return {
    call,
    /** The server and its connection stop, as when its process exits. */
    stop: async () => {
      await server.close();
      await conclave.close();
    },
  };
}

const ok = (result: ToolResult): Json => {
  expect(result.isError, result.content[0]?.text).toBeFalsy();
  return result.structuredContent as Json;
};
const failed = (result: ToolResult): Json => {
  expect(result.isError, 'expected a tool error').toBe(true);
  return (result.structuredContent as Json).error;
};

/** Polls `read` until `done` holds, at most `ms`: bounded, so a broken scheduler fails the test. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > end) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const VOTERS = [{ agent: 'agent-0' }, { agent: 'agent-1' }, { agent: 'agent-2' }];

describe('sealed ballots through the MCP tools', () => {
  it('refuses sealed terms that cannot work, before asking the cluster', async () => {
    const a = await mcpFor('agent-3');
    const base = { title: 't', rule: { kind: 'threshold', k: 1 }, voters: VOTERS, ttlSeconds: 4 };
    const tooLong = failed(
      await a.call('propose', { ...base, proposalId: 'bad-1', sealed: { commitSeconds: 3.5 } }),
    );
    expect(tooLong.code).toBe('INVALID_ARGUMENT');
    expect(tooLong.message).toMatch(/commitSeconds \(3.5 s\) must end at least 1 s before the deadline/);
    const scoreReject = failed(
      await a.call('propose', {
        ...base,
        proposalId: 'bad-2',
        rule: { kind: 'score', aggregate: 'median', minBallots: 1 },
        candidates: ['x', 'y'],
        sealed: { missingReveal: 'reject' },
      }),
    );
    expect(scoreReject.message).toMatch(/missingReveal "reject" is for yes\/no rules/);
    // Neither reached the cluster.
    expect(ok(await a.call('list_proposals')).proposals).toEqual([]);
  });

  it('commits, reveals by itself, reveals after a restart, and refuses a mismatch unsent', async () => {
    const [a, b, c] = await Promise.all([mcpFor('agent-0'), mcpFor('agent-1'), mcpFor('agent-2')]);
    const proposed = ok(
      await a.call('propose', {
        proposalId: 'sealed-release',
        title: 'Ship it?',
        rule: { kind: 'threshold', k: 2 },
        voters: VOTERS,
        ttlSeconds: 12,
        sealed: { commitSeconds: 3, missingReveal: 'reject' },
      }),
    );
    expect(proposed).toMatchObject({ phase: 'commit', sealed: { missingReveal: 'reject', committed: [] } });
    const { commitDeadline, revealDeadline } = proposed.sealed;
    expect(revealDeadline - commitDeadline).toBe(Math.ceil(9_000 / TICK_MS));

    const committed = ok(
      await a.call('cast_vote', {
        proposalId: 'sealed-release',
        choice: 'approve',
        reason: 'secret-reason-a',
      }),
    );
    expect(committed).toMatchObject({
      step: 'committed',
      sealed: true,
      commitDeadline,
      reveal: { scheduled: true, at: commitDeadline },
      receiptOf: 'the commit of this sealed ballot',
    });
    // The receipt proves a commitment: a hash, not the choice.
    const receipt = ok(await a.call('verify_receipt', { receipt: committed.receipt }));
    expect(receipt).toMatchObject({
      valid: true,
      operation: { op: 'commit', commitment: { agent: 'agent-0' } },
    });
    ok(
      await b.call('cast_vote', {
        proposalId: 'sealed-release',
        choice: 'approve',
        reason: 'secret-reason-b',
      }),
    );
    ok(
      await c.call('cast_vote', {
        proposalId: 'sealed-release',
        choice: 'reject',
        reason: 'secret-reason-c',
      }),
    );

    // A different second ballot in the commit phase would be equivocation: refused, nothing sent.
    const changed = failed(await a.call('cast_vote', { proposalId: 'sealed-release', choice: 'reject' }));
    expect(changed.code).toBe('SEAL_MISMATCH');
    expect(ok(await a.call('list_evidence', { agent: 'agent-0' })).evidence).toEqual([]);
    // The same one again is a harmless duplicate.
    expect(
      ok(
        await a.call('cast_vote', {
          proposalId: 'sealed-release',
          choice: 'approve',
          reason: 'secret-reason-a',
        }),
      ),
    ).toMatchObject({ step: 'committed', duplicate: true });

    // In the commit phase, reads show who committed and nothing of what.
    const during = ok(await c.call('get_decision', { proposalId: 'sealed-release' }));
    expect(during.phase).toBe('commit');
    expect(during.sealed).toMatchObject({
      committed: ['agent-0', 'agent-1', 'agent-2'],
      revealed: [],
      awaitingReveal: ['agent-0', 'agent-1', 'agent-2'],
      notCommitted: [],
    });
    expect(during.tally).toMatchObject({ counted: [], approve: { count: 0 }, reject: { count: 0 } });
    expect(during.yourBallot).toMatchObject({
      committed: true,
      revealed: false,
      revealScheduledAt: commitDeadline,
    });
    const text = JSON.stringify(during);
    for (const secret of ['secret-reason', '"choice"']) expect(text).not.toContain(secret);
    const listed = ok(await b.call('list_proposals'));
    expect(listed.proposals[0]).toMatchObject({
      phase: 'commit',
      sealed: { commitDeadline, revealDeadline },
    });

    // agent-2's server stops before the commit phase ends: its scheduled reveal is cancelled.
    await c.stop();

    // The others' servers reveal by themselves once agreed time reaches the commit deadline.
    const revealed = await until(
      async () => ok(await b.call('get_decision', { proposalId: 'sealed-release' })),
      (view) => view.sealed.revealed.length === 2,
      8_000,
    );
    expect(revealed).toMatchObject({
      phase: 'reveal',
      status: 'open',
      sealed: { revealed: ['agent-0', 'agent-1'], awaitingReveal: ['agent-2'] },
      yourBallot: { revealed: true, scheduledReveal: { status: 'revealed' } },
    });
    expect(revealed.tally.counted.map((b: Json) => [b.agent, b.choice])).toEqual([
      ['agent-0', 'approve'],
      ['agent-1', 'approve'],
    ]);

    // A new server for agent-2 (same key, nothing stored). A different ballot is caught here.
    const restarted = await mcpFor('agent-2');
    expect(
      ok(await restarted.call('get_decision', { proposalId: 'sealed-release' })).yourBallot,
    ).toMatchObject({
      committed: true,
      revealed: false,
      revealScheduledAt: null,
      next: expect.stringMatching(/call cast_vote with the same choice, reason and confidence/),
    });
    const mismatch = failed(
      await restarted.call('cast_vote', { proposalId: 'sealed-release', choice: 'reject', reason: 'other' }),
    );
    expect(mismatch.code).toBe('SEAL_MISMATCH');
    expect(mismatch.message).toMatch(/nothing was sent/);
    // Nothing reached the cluster: no evidence, agent-2 still to reveal, its commitment still held.
    expect(ok(await restarted.call('list_evidence', { agent: 'agent-2' })).evidence).toEqual([]);
    expect(
      ok(await restarted.call('get_decision', { proposalId: 'sealed-release' })).sealed.awaitingReveal,
    ).toEqual(['agent-2']);

    const reveal = ok(
      await restarted.call('cast_vote', {
        proposalId: 'sealed-release',
        choice: 'reject',
        reason: 'secret-reason-c',
      }),
    );
    expect(reveal).toMatchObject({ step: 'revealed', duplicate: false, choice: 'reject' });
    const revealReceipt = ok(await restarted.call('verify_receipt', { receipt: reveal.receipt }));
    expect(revealReceipt).toMatchObject({
      valid: true,
      operation: { op: 'reveal', ballot: { agent: 'agent-2', choice: 'reject', reason: 'secret-reason-c' } },
    });

    // Every committed voter revealed: decided without waiting for the deadline.
    const decided = ok(
      await a.call('wait_for_decision', { proposalId: 'sealed-release', timeoutSeconds: 10 }),
    );
    expect(decided).toMatchObject({
      status: 'approved',
      phase: 'decided',
      sealed: { revealed: ['agent-0', 'agent-1', 'agent-2'], unrevealed: [] },
      tally: { approve: { count: 2 }, reject: { count: 1 }, excluded: [] },
    });
    // Asking again after the reveal: a duplicate with a fresh receipt, never a second ballot.
    expect(
      ok(
        await restarted.call('cast_vote', {
          proposalId: 'sealed-release',
          choice: 'reject',
          reason: 'secret-reason-c',
        }),
      ),
    ).toMatchObject({ step: 'revealed', duplicate: true, receipt: expect.any(String) });
  }, 60_000);

  it('a commitment never revealed counts as missingReveal, with no_reveal evidence explained and verified', async () => {
    const [a, b] = await Promise.all([mcpFor('agent-4'), mcpFor('agent-5')]);
    ok(
      await a.call('propose', {
        proposalId: 'sealed-silent',
        title: 'Silent voter',
        rule: { kind: 'threshold', k: 1 },
        voters: [{ agent: 'agent-4' }, { agent: 'agent-5' }],
        ttlSeconds: 3,
        sealed: { commitSeconds: 1.5 },
      }),
    );
    ok(await a.call('cast_vote', { proposalId: 'sealed-silent', choice: 'approve' }));
    ok(await b.call('cast_vote', { proposalId: 'sealed-silent', choice: 'approve' }));
    await b.stop(); // agent-5 never reveals

    const decided = ok(
      await a.call('wait_for_decision', { proposalId: 'sealed-silent', timeoutSeconds: 15 }),
    );
    expect(decided).toMatchObject({
      status: 'approved',
      sealed: { revealed: ['agent-4'], awaitingReveal: [] },
      yourBallot: { revealed: true },
    });
    const [unrevealed] = decided.sealed.unrevealed;
    expect(unrevealed).toMatchObject({
      agent: 'agent-5',
      countedAs: 'abstain',
      evidenceId: expect.any(Number),
    });

    const { evidence } = ok(await a.call('list_evidence', { proposalId: 'sealed-silent' }));
    expect(evidence).toHaveLength(1);
    expect(evidence[0]).toMatchObject({
      id: unrevealed.evidenceId,
      kind: 'no_reveal',
      agent: 'agent-5',
      verified: true,
      means: expect.stringMatching(/never revealed/),
      verifiedMeans: expect.stringMatching(/no signature can prove an absence/),
      first: { type: 'commitment', commitment: { proposalId: 'sealed-silent', agent: 'agent-5' } },
      second: null,
      revealDeadline: decided.deadline,
    });
  }, 30_000);
});

/** A cluster scripted for the scheduler: agreed time moves by `step` per read; reveals are recorded. */
function scripted(start: number, step: number) {
  let now = start;
  /** The operation each request carried, and the agreed time when it was sent. */
  const sent: { op: string; at: number }[] = [];
  let failing = false;
  const coordinationLike = {
    agreedTime: async () => {
      if (failing) throw new Error('unreachable');
      now += step;
      return now;
    },
    client: {
      request: async (operation: Uint8Array) => {
        const decoded = decodeOperation(operation, DEFAULT_COORDINATION_LIMITS);
        sent.push({ op: decoded.ok ? decoded.operation.op : 'bytes', at: now });
        const result = encodeResult({
          ok: true,
          kind: 'vote',
          at: { sequence: 7, timestamp: now },
          duplicate: false,
          proposal: {} as never,
        });
        return { requestId: 1, sequence: 7, result, replicas: [0, 1] };
      },
    },
  };
  return {
    coordination: coordinationLike as unknown as Coordination,
    sent,
    fail: () => {
      failing = true;
    },
  };
}

const revealOp = () => {
  // Any reveal operation's bytes: the scheduler sends them as they are.
  const bytes = new Uint8Array(32).fill(1);
  return new Uint8Array([...new TextEncoder().encode('x'), ...bytes]);
};

describe('the reveal scheduler', () => {
  const job = (proposalId: string, commitDeadline: number, deadline: number) => ({
    proposalId,
    commitDeadline,
    deadline,
    seal: new Uint8Array(32),
    operation: revealOp(),
  });
  const fast = { tickMs: 1, log: () => undefined, pollMsMin: 5, pollMsMax: 20 };

  it('reveals once agreed time reaches the commit deadline, not before', async () => {
    const cluster = scripted(0, 10);
    const scheduler = new RevealScheduler(cluster.coordination, fast);
    expect(scheduler.schedule(job('p', 50, 1_000))).toBe(true);
    expect(scheduler.pending('p')).toMatchObject({ revealAt: 50 });
    const outcome = await until(
      async () => scheduler.outcome('p'),
      (o) => o !== undefined,
      2_000,
    );
    expect(outcome).toMatchObject({ status: 'revealed', sequence: 7 });
    // One reveal, sent only once a read of the agreed time had reached the commit deadline.
    expect(cluster.sent).toEqual([{ op: 'bytes', at: 50 }]);
    expect(scheduler.size).toBe(0);
  });

  it('holds at most pendingMax reveals, and cancels them all on close without sending', async () => {
    const cluster = scripted(0, 1);
    const scheduler = new RevealScheduler(cluster.coordination, { ...fast, pendingMax: 2 });
    expect(scheduler.schedule(job('a', 1e9, 2e9))).toBe(true);
    expect(scheduler.schedule(job('b', 1e9, 2e9))).toBe(true);
    expect(scheduler.hasRoomFor('c')).toBe(false);
    expect(scheduler.schedule(job('c', 1e9, 2e9))).toBe(false);
    expect(scheduler.hasRoomFor('a')).toBe(true); // already held: scheduling it again adds nothing
    expect(scheduler.schedule(job('a', 1e9, 2e9))).toBe(true);
    expect(scheduler.size).toBe(2);
    await scheduler.close();
    expect(scheduler.size).toBe(0);
    expect(scheduler.outcome('a')).toMatchObject({ status: 'cancelled' });
    expect(scheduler.schedule(job('d', 1, 2))).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(cluster.sent).toEqual([]);
  });

  it('is shared by the servers over one agent client, and cancelled when the last one goes', async () => {
    const cluster = scripted(0, 1);
    const first = acquireRevealScheduler(cluster.coordination, fast);
    const second = acquireRevealScheduler(cluster.coordination, fast);
    expect(second.scheduler).toBe(first.scheduler);
    first.scheduler.schedule(job('p', 1e9, 2e9));
    await first.release();
    await first.release(); // once per acquire: a second release changes nothing
    expect(second.scheduler.pending('p')).toBeDefined();
    await second.release();
    expect(second.scheduler.outcome('p')).toMatchObject({ status: 'cancelled' });
    // The next server over the same client gets a fresh scheduler.
    const third = acquireRevealScheduler(cluster.coordination, fast);
    expect(third.scheduler).not.toBe(first.scheduler);
    await third.release();
  });

  it('gives up at the deadline, and after failures in a row', async () => {
    const late = scripted(100, 10);
    const scheduler = new RevealScheduler(late.coordination, fast);
    scheduler.schedule(job('late', 50, 105));
    expect(
      await until(
        async () => scheduler.outcome('late'),
        (o) => o !== undefined,
        2_000,
      ),
    ).toMatchObject({ status: 'failed', detail: expect.stringMatching(/deadline 105 passed/) });

    const down = scripted(0, 1);
    down.fail();
    const other = new RevealScheduler(down.coordination, fast);
    other.schedule(job('down', 50, 1_000));
    expect(
      await until(
        async () => other.outcome('down'),
        (o) => o !== undefined,
        5_000,
      ),
    ).toMatchObject({
      status: 'failed',
      detail: expect.stringMatching(/failed calls in a row \(last: unreachable\)/),
    });
    expect(late.sent).toEqual([]);
    expect(down.sent).toEqual([]);
  });
});
