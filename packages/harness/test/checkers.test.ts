import { describe, expect, it } from 'vitest';
import {
  checkAgreement,
  checkConsistency,
  checkEvidence,
  checkExactlyOnce,
  checkLiveness,
  checkReceipts,
  checkRun,
  checkTotalOrder,
  checkValidity,
  isSafetyViolation,
} from '../src/checkers.ts';
import type { AgentRecord, BatchRecord, ExecutedRecord, ReplicaRecord, RunRecord } from '../src/record.ts';

// A hand-made run: 4 replicas (3 is Byzantine), 2 agents with 2 requests each, 4 sequences.
// Every test below breaks one thing in a copy of it.

const hex = (n: number) => n.toString(16).padStart(8, '0');
const requestDigest = (agent: string, requestId: number) => `req-${agent}-${requestId}`;
const result = (agent: string, requestId: number) => `res-${agent}-${requestId}`;

const BATCHES: { sequence: number; digest: string; requests: [string, number][] }[] = [
  { sequence: 1, digest: hex(1), requests: [['a', 1]] },
  { sequence: 2, digest: hex(2), requests: [['b', 1]] },
  { sequence: 3, digest: hex(3), requests: [] },
  {
    sequence: 4,
    digest: hex(4),
    requests: [
      ['a', 2],
      ['b', 2],
    ],
  },
];

function executed(sequence: number, tick = sequence * 10): ExecutedRecord {
  const batch = BATCHES.find((b) => b.sequence === sequence);
  if (batch === undefined) throw new Error(`no batch ${sequence}`);
  return {
    tick,
    sequence,
    view: 0,
    digest: batch.digest,
    timestamp: sequence,
    via: 'protocol',
    requests: batch.requests.map(([agent, requestId]) => ({
      agent,
      requestId,
      result: result(agent, requestId),
    })),
    stateDigest: `state-${sequence}`,
  };
}

function agent(id: string, accepted: [number, number][]): AgentRecord {
  return {
    id,
    honest: true,
    requestsPlanned: 2,
    issued: [1, 2].map((requestId) => ({
      requestId,
      digest: requestDigest(id, requestId),
      issuedTick: requestId,
    })),
    accepted: accepted.map(([requestId, sequence]) => ({
      requestId,
      sequence,
      result: result(id, requestId),
      tick: sequence * 10 + 5,
    })),
  };
}

function goodRecord(): RunRecord {
  const all = [1, 2, 3, 4].map((s) => executed(s));
  const replicas: ReplicaRecord[] = [0, 1, 2].map((id) => ({
    id,
    honest: true,
    executed: all,
    final: { lastExecuted: 4, stateDigest: 'state-4', view: 0 },
  }));
  replicas.push({ id: 3, honest: false, executed: [] });
  const created = new Map<string, { agent: string; requestId: number }>();
  for (const id of ['a', 'b'])
    for (const requestId of [1, 2]) created.set(requestDigest(id, requestId), { agent: id, requestId });
  const batches = new Map<string, BatchRecord>(
    BATCHES.map((b) => [
      b.digest,
      {
        digest: b.digest,
        timestamp: b.sequence,
        requests: b.requests.map(([agent, requestId]) => ({
          agent,
          requestId,
          digest: requestDigest(agent, requestId),
        })),
      },
    ]),
  );
  return {
    replicaCount: 4,
    faultsMax: 1,
    checkpointInterval: 2,
    replicas,
    agents: [
      agent('a', [
        [1, 1],
        [2, 4],
      ]),
      agent('b', [
        [1, 2],
        [2, 4],
      ]),
    ],
    created,
    batches,
    healTick: 20,
    endTick: 100,
    agentsDone: true,
  };
}

function withReplica(
  record: RunRecord,
  id: number,
  change: (replica: ReplicaRecord) => ReplicaRecord,
): RunRecord {
  return { ...record, replicas: record.replicas.map((r) => (r.id === id ? change(r) : r)) };
}

function withExecuted(record: RunRecord, id: number, executed: ExecutedRecord[]): RunRecord {
  return withReplica(record, id, (r) => ({ ...r, executed }));
}

describe('checkers on a good run', () => {
  it('find nothing', () => {
    expect(checkRun(goodRecord())).toEqual([]);
  });

  it('ignore whatever Byzantine replicas are recorded to have done', () => {
    const record = withReplica(goodRecord(), 3, (r) => ({
      ...r,
      executed: [{ ...executed(1), digest: 'evil', requests: [{ agent: 'x', requestId: 9, result: 'lie' }] }],
      final: { lastExecuted: 4, stateDigest: 'evil', view: 7 },
    }));
    expect(checkRun(record)).toEqual([]);
  });

  it('accept a state-transfer jump whose later executions agree', () => {
    const record = withExecuted(goodRecord(), 2, [executed(1), executed(4)]);
    expect(checkTotalOrder(record)).toEqual([]);
    expect(checkRun(record)).toEqual([]);
  });
});

describe('agreement', () => {
  it('fires when two honest replicas execute different batches at one sequence', () => {
    const record = withExecuted(goodRecord(), 1, [
      executed(1),
      { ...executed(2), digest: 'other' },
      executed(3),
      executed(4),
    ]);
    const violations = checkAgreement(record);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ checker: 'agreement', tick: 20 });
    expect(violations[0]?.message).toContain('sequence 2');
    expect(isSafetyViolation(violations[0] as never)).toBe(true);
  });
});

describe('total order', () => {
  it('fires when sequences go backwards or repeat', () => {
    const record = withExecuted(goodRecord(), 0, [executed(1), executed(3), executed(2), executed(4)]);
    expect(checkTotalOrder(record).map((v) => v.checker)).toEqual(['totalOrder']);
    const repeated = withExecuted(goodRecord(), 0, [
      executed(1),
      executed(2),
      executed(2),
      executed(3),
      executed(4),
    ]);
    expect(checkTotalOrder(repeated)).toHaveLength(1);
  });

  it('fires when agreed time goes backwards', () => {
    const record = withExecuted(goodRecord(), 0, [
      executed(1),
      executed(2),
      { ...executed(3), timestamp: 1 },
      executed(4),
    ]);
    const violations = checkTotalOrder(record);
    expect(violations).toHaveLength(1);
    expect(violations[0]?.message).toContain('agreed time 1, after 2');
  });

  it('fires when a replica that jumped then disagrees with the others', () => {
    const diverged = { ...executed(4), stateDigest: 'state-wrong' };
    const record = withExecuted(goodRecord(), 2, [executed(1), diverged]);
    const violations = checkTotalOrder(record);
    expect(violations).toHaveLength(1);
    expect(violations[0]?.message).toContain('jumped from sequence 1');
  });
});

describe('exactly once', () => {
  it('fires when an honest replica executes one request twice', () => {
    const twice = { ...executed(3), requests: [{ agent: 'a', requestId: 1, result: result('a', 1) }] };
    const record = withExecuted(goodRecord(), 0, [executed(1), executed(2), twice, executed(4)]);
    expect(checkExactlyOnce(record).some((v) => v.message.includes('twice'))).toBe(true);
  });

  it('fires when honest replicas execute one request at different sequences', () => {
    const moved = withExecuted(goodRecord(), 1, [
      { ...executed(1), requests: [] },
      executed(2),
      { ...executed(3), requests: [{ agent: 'a', requestId: 1, result: result('a', 1) }] },
      executed(4),
    ]);
    expect(checkExactlyOnce(moved).some((v) => v.message.includes('a#1 executed at sequence 1'))).toBe(true);
  });

  it('fires when an agent saw two different results vouched for one request', () => {
    const record = goodRecord();
    const a = record.agents[0] as AgentRecord;
    const doubled: RunRecord = {
      ...record,
      agents: [
        { ...a, accepted: [...a.accepted, { requestId: 1, sequence: 1, result: 'other', tick: 99 }] },
        ...record.agents.slice(1),
      ],
    };
    const violations = checkExactlyOnce(doubled);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ checker: 'exactlyOnce', tick: 99 });
  });
});

describe('validity', () => {
  it('fires when an honest replica executes a request no agent created', () => {
    const forged = { ...executed(3), requests: [{ agent: 'a', requestId: 7, result: 'x' }] };
    const record = withExecuted(goodRecord(), 0, [executed(1), executed(2), forged, executed(4)]);
    expect(checkValidity(record).some((v) => v.message.includes('which no agent created'))).toBe(true);
  });

  it('fires when an executed batch holds a request body no agent signed', () => {
    const record = goodRecord();
    const batches = new Map(record.batches);
    batches.set(hex(1), {
      digest: hex(1),
      timestamp: 1,
      requests: [{ agent: 'a', requestId: 1, digest: 'tampered' }],
    });
    expect(checkValidity({ ...record, batches }).some((v) => v.message.includes('no agent created'))).toBe(
      true,
    );
  });

  it('fires when a batch runs at an agreed time before its own timestamp, but not after it', () => {
    const early = withExecuted(goodRecord(), 0, [
      { ...executed(1), timestamp: 0 },
      executed(2),
      executed(3),
      executed(4),
    ]);
    expect(checkValidity(early).some((v) => v.message.includes('executed at agreed time 0'))).toBe(true);
    const late = withExecuted(goodRecord(), 0, [
      executed(1),
      executed(2),
      { ...executed(3), timestamp: 3 },
      executed(4),
    ]);
    expect(checkValidity(late)).toEqual([]);
  });

  it('fires when a non-empty batch never crossed the network, or requests are not in the batch', () => {
    const record = goodRecord();
    const batches = new Map(record.batches);
    batches.delete(hex(2));
    expect(
      checkValidity({ ...record, batches }).some((v) => v.message.includes('never crossed the network')),
    ).toBe(true);
    const swapped = withExecuted(goodRecord(), 0, [
      executed(1),
      executed(2),
      executed(3),
      { ...executed(4), requests: [...executed(4).requests].reverse() },
    ]);
    expect(checkValidity(swapped).some((v) => v.message.includes('not (in this order)'))).toBe(true);
  });
});

describe('consistency', () => {
  it('fires when an agent accepted a result honest replicas did not compute', () => {
    const record = goodRecord();
    const b = record.agents[1] as AgentRecord;
    const lied: RunRecord = {
      ...record,
      agents: [
        record.agents[0] as AgentRecord,
        { ...b, accepted: [{ requestId: 1, sequence: 2, result: 'lie', tick: 30 }, ...b.accepted.slice(1)] },
      ],
    };
    expect(checkConsistency(lied).some((v) => v.message.includes('agent b accepted'))).toBe(true);
  });

  it('fires when honest replicas got different results for the same batch', () => {
    const different = {
      ...executed(4),
      requests: executed(4).requests.map((r) => ({ ...r, result: 'other' })),
    };
    const record = withExecuted(goodRecord(), 2, [executed(1), executed(2), executed(3), different]);
    expect(checkConsistency(record).some((v) => v.message.includes('different requests or results'))).toBe(
      true,
    );
  });

  it('fires when honest replicas end at one sequence in different states', () => {
    const record = withReplica(goodRecord(), 1, (r) => ({
      ...r,
      final: { lastExecuted: 4, stateDigest: 'forked', view: 0 },
    }));
    expect(checkConsistency(record).some((v) => v.message.includes('different states'))).toBe(true);
  });
});

describe('liveness', () => {
  it('fires when an honest agent did not get every answer', () => {
    const record = goodRecord();
    const stuck: RunRecord = {
      ...record,
      agentsDone: false,
      agents: [record.agents[0] as AgentRecord, agent('b', [[1, 2]])],
    };
    const violations = checkLiveness(stuck);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ checker: 'liveness', tick: 100 });
    expect(violations[0]?.message).toContain('request 2');
    expect(isSafetyViolation(violations[0] as never)).toBe(false);
    expect(checkLiveness(record)).toEqual([]);
  });
});

describe('receipts', () => {
  const receipt = (sequence: number, digest: string) => ({
    sequence,
    agent: 'a',
    requestId: 1,
    tick: 11,
    ok: true,
    digest,
    view: 0,
  });

  it('pass when every receipt verifies and names the executed batch', () => {
    const record = withReplica(goodRecord(), 0, (r) => ({ ...r, receipts: [receipt(1, hex(1))] }));
    expect(checkReceipts(record)).toEqual([]);
    expect(checkRun(record)).toEqual([]);
  });

  it('fire when a receipt does not verify', () => {
    const record = withReplica(goodRecord(), 1, (r) => ({
      ...r,
      receipts: [
        { sequence: 1, agent: 'a', requestId: 1, tick: 11, ok: false, reason: '2 commits, 3 needed' },
      ],
    }));
    const violations = checkReceipts(record);
    expect(violations).toHaveLength(1);
    expect(violations[0]?.message).toContain('does not verify: 2 commits, 3 needed');
    expect(isSafetyViolation(violations[0] as never)).toBe(true);
  });

  it('fire when a receipt proves another batch than honest replicas executed', () => {
    const record = withReplica(goodRecord(), 2, (r) => ({ ...r, receipts: [receipt(1, 'forged')] }));
    expect(checkReceipts(record)[0]?.message).toContain('proves batch forged');
  });
});

describe('evidence', () => {
  const equivocation = {
    agent: 'm',
    description: 'honest replica 0 received 2 different requests signed as m#3',
    keys: ['m#3'],
    tick: 50,
  };

  it('fires when an equivocation the replicas saw left no evidence at an honest replica', () => {
    const record = { ...goodRecord(), equivocations: [equivocation] };
    const violations = checkEvidence(record);
    expect(violations.map((v) => v.message.slice(0, 9))).toEqual(['replica 0', 'replica 1', 'replica 2']);
    expect(isSafetyViolation(violations[0] as never)).toBe(false);
  });

  it('passes with evidence in an executed batch or in the final state, and excuses a state transfer past it', () => {
    let record: RunRecord = { ...goodRecord(), equivocations: [equivocation] };
    record = withExecuted(record, 0, [
      executed(1),
      executed(2),
      { ...executed(3), equivocations: ['m#3'] },
      executed(4),
    ]);
    record = withReplica(record, 1, (r) => ({ ...r, evidence: ['m#3'] }));
    expect(checkEvidence(record).map((v) => v.message.slice(0, 9))).toEqual(['replica 2']);
    // Replica 2 jumped from 1 to 4 by state transfer: the batch with the evidence is behind it.
    record = withExecuted(record, 2, [executed(1), executed(4)]);
    expect(checkEvidence(record)).toEqual([]);
  });

  it('does not ask a replica that has not executed as far as a second ballot for its evidence', () => {
    const ballot = {
      agent: 'm',
      description:
        'm cast a second, different ballot on p (request 9, sequence 3) after its first was counted',
      keys: ['m@p'],
      tick: 60,
      sequence: 3,
    };
    let record: RunRecord = { ...goodRecord(), equivocations: [ballot] };
    for (const id of [0, 1]) record = withReplica(record, id, (r) => ({ ...r, evidence: ['m@p'] }));
    // Replica 2 ended below sequence 3: it owes the evidence nothing yet (catching up is liveness).
    record = withReplica(record, 2, (r) => ({
      ...r,
      executed: [executed(1), executed(2)],
      final: { lastExecuted: 2, stateDigest: 'x', view: 0 },
    }));
    expect(checkEvidence(record)).toEqual([]);
    // Past it without the evidence, it does.
    record = withReplica(record, 2, (r) => ({
      ...r,
      executed: [executed(1), executed(2), executed(3)],
      final: { lastExecuted: 3, stateDigest: 'x', view: 0 },
    }));
    expect(checkEvidence(record).map((v) => v.message.slice(0, 9))).toEqual(['replica 2']);
  });
});

describe('restarts', () => {
  const restarted = (incarnation: number, sequence: number) => ({ ...executed(sequence), incarnation });

  it('accept a restarted replica executing again, at the same sequences, what it had executed', () => {
    const record = withReplica(goodRecord(), 0, (r) => ({
      ...r,
      executed: [executed(1), executed(2), executed(3), restarted(1, 2), restarted(1, 3), restarted(1, 4)],
      restarts: [{ crashTick: 35, restartTick: 60, durable: true, lastExecuted: 1 }],
    }));
    expect(checkRun(record)).toEqual([]);
  });

  it('still fire when a replica executes again without a restart, or after one at another sequence', () => {
    const again = withExecuted(goodRecord(), 0, [
      executed(1),
      executed(2),
      executed(3),
      executed(2),
      executed(4),
    ]);
    expect(checkTotalOrder(again)).toHaveLength(1);
    expect(checkExactlyOnce(again).some((v) => v.message.includes('twice'))).toBe(true);
    const moved = withReplica(goodRecord(), 0, (r) => ({
      ...r,
      executed: [
        executed(1),
        executed(2),
        { ...restarted(1, 2), requests: [{ agent: 'a', requestId: 1, result: result('a', 1) }] },
      ],
      restarts: [{ crashTick: 25, restartTick: 30, durable: true, lastExecuted: 1 }],
    }));
    expect(checkExactlyOnce(moved).some((v) => v.message.includes('twice'))).toBe(true);
  });
});
