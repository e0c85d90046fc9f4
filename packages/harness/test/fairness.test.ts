import { type CoordinationResult, encodeResult } from '@conclave/coordination';
import { toHex } from '@conclave/core';
import { describe, expect, it } from 'vitest';
import { checkRun } from '../src/checkers.ts';
import { checkFairness } from '../src/fairness.ts';
import type { AgentRecord, OperationSummary, RetainedEventRecord, RunRecord } from '../src/record.ts';

// A hand-made fairness run: honest agent 'h' and liar 'm', one honest replica. Each test plants
// one unfairness in a copy of a clean run and expects the checker to name it.

const BOUND_TICKS = 100;
const HEAL_TICK = 50;

const ok = (sequence: number): string =>
  toHex(
    encodeResult({
      ok: true,
      kind: 'kv',
      at: { sequence, timestamp: sequence },
      entry: { key: 'x', value: null, version: 1, updatedBy: null, updatedAt: null },
    } as unknown as CoordinationResult),
  );
const refused = (code: string): string =>
  toHex(encodeResult({ ok: false, code, message: `${code} planted` } as unknown as CoordinationResult));

interface Step {
  readonly requestId: number;
  readonly op: string;
  readonly target?: string;
  readonly sequence: number;
  readonly result: string;
  readonly issuedTick?: number;
  readonly acceptedTick?: number;
}

/** h: a kv put to its own key, then a lock, each accepted 10 ticks after issue. */
const CLEAN: readonly Step[] = [
  { requestId: 1, op: 'kv_put', target: 'h/k0', sequence: 1, result: ok(1) },
  { requestId: 2, op: 'lock_acquire', target: 'lock-0', sequence: 2, result: ok(2) },
];

function run(
  steps: readonly Step[],
  liar: readonly Step[] = [],
  retained: readonly RetainedEventRecord[] = steps.map((s) => ({ sequence: s.sequence, names: ['h'] })),
): RunRecord {
  const operations = new Map<string, OperationSummary>();
  for (const [agent, list] of [
    ['h', steps],
    ['m', liar],
  ] as const)
    for (const s of list)
      operations.set(
        `${agent}#${s.requestId}`,
        s.target === undefined ? { op: s.op } : { op: s.op, target: s.target },
      );
  const honest: AgentRecord = {
    id: 'h',
    honest: true,
    requestsPlanned: steps.length,
    issued: steps.map((s) => ({
      requestId: s.requestId,
      digest: `d${s.requestId}`,
      issuedTick: s.issuedTick ?? 100,
    })),
    accepted: steps
      .filter((s) => s.acceptedTick !== -1)
      .map((s) => ({
        requestId: s.requestId,
        sequence: s.sequence,
        result: s.result,
        tick: s.acceptedTick ?? (s.issuedTick ?? 100) + 10,
      })),
  };
  const all = [...steps.map((s) => ({ agent: 'h', s })), ...liar.map((s) => ({ agent: 'm', s }))].sort(
    (a, b) => a.s.sequence - b.s.sequence,
  );
  return {
    replicaCount: 4,
    faultsMax: 1,
    checkpointInterval: 4,
    replicas: [
      {
        id: 0,
        honest: true,
        executed: all.map(({ agent, s }) => ({
          tick: s.sequence * 10,
          sequence: s.sequence,
          view: 0,
          digest: `b${s.sequence}`,
          timestamp: s.sequence,
          via: 'protocol' as const,
          requests: [{ agent, requestId: s.requestId, result: s.result }],
        })),
      },
    ],
    agents: [honest, { id: 'm', honest: false, requestsPlanned: 0, issued: [], accepted: [] }],
    created: new Map(),
    batches: new Map(),
    healTick: HEAL_TICK,
    endTick: 400,
    agentsDone: true,
    fairness: {
      latencyBoundTicks: BOUND_TICKS,
      operations,
      events: { replica: 0, lastExecuted: 99, retained },
    },
  };
}

const messages = (record: RunRecord) => checkFairness(record).map((v) => v.message);

describe('fairness checker', () => {
  it('finds nothing in a clean run, and nothing in a run that does not judge fairness', () => {
    expect(checkFairness(run(CLEAN))).toEqual([]);
    const { fairness: _, ...plain } = run([{ ...CLEAN[0], result: refused('LIMIT') } as Step]);
    expect(checkFairness(plain)).toEqual([]);
  });

  it('flags LIMIT on an honest first kv write, lock, proposal, task or claim', () => {
    for (const op of ['kv_put', 'lock_acquire', 'propose', 'task_create', 'task_claim']) {
      const found = messages(
        run([{ requestId: 1, op, target: 'h/x', sequence: 1, result: refused('LIMIT') }]),
      );
      expect(found, op).toHaveLength(1);
      expect(found[0]).toMatch(/first .* refused LIMIT/);
    }
  });

  it('excuses LIMIT after the agent already had a share: it may have used up its own', () => {
    const steps = [
      ...CLEAN,
      { requestId: 3, op: 'kv_put', target: 'h/k1', sequence: 3, result: refused('LIMIT') },
    ];
    expect(checkFairness(run(steps))).toEqual([]);
  });

  it('flags FORBIDDEN on a key the agent wrote, and on one squatted in its namespace', () => {
    const own = messages(
      run([
        ...CLEAN,
        { requestId: 3, op: 'kv_put', target: 'h/k0', sequence: 3, result: refused('FORBIDDEN') },
      ]),
    );
    expect(own).toEqual([expect.stringContaining('FORBIDDEN on its own key')]);
    const squatted = messages(
      run([
        ...CLEAN,
        { requestId: 3, op: 'kv_put', target: 'h/k2', sequence: 3, result: refused('FORBIDDEN') },
      ]),
    );
    expect(squatted).toEqual([expect.stringContaining('squatted')]);
    // FORBIDDEN outside its namespace (a task it does not hold, say) is not unfair.
    const elsewhere = run([
      ...CLEAN,
      { requestId: 3, op: 'task_complete', target: 'm.t1', sequence: 3, result: refused('FORBIDDEN') },
    ]);
    expect(checkFairness(elsewhere)).toEqual([]);
  });

  it("flags another agent's successful write to an honest agent's key, not a refused one", () => {
    const overwrite = { requestId: 1, op: 'kv_put', target: 'h/k0', sequence: 3, result: ok(3) };
    expect(messages(run(CLEAN, [overwrite]))).toEqual([
      expect.stringContaining("agent m changed h's key h/k0"),
    ]);
    expect(checkFairness(run(CLEAN, [{ ...overwrite, result: refused('FORBIDDEN') }]))).toEqual([]);
    // Its own namespace is its own business.
    expect(checkFairness(run(CLEAN, [{ ...overwrite, target: 'm/k0' }]))).toEqual([]);
  });

  it('flags an honest request issued after the heal that waited longer than the bound', () => {
    const slow = [{ ...CLEAN[0], issuedTick: 100, acceptedTick: 100 + BOUND_TICKS + 1 } as Step];
    expect(messages(run(slow))).toEqual([
      expect.stringContaining(`${BOUND_TICKS + 1} ticks, bound ${BOUND_TICKS}`),
    ]);
    expect(
      checkFairness(run([{ ...CLEAN[0], issuedTick: 100, acceptedTick: 100 + BOUND_TICKS } as Step])),
    ).toEqual([]);
    // Before the heal the network may hold anything up: not judged.
    expect(
      checkFairness(run([{ ...CLEAN[0], issuedTick: 10, acceptedTick: 10 + 3 * BOUND_TICKS } as Step])),
    ).toEqual([]);
    const never = messages(
      run([...CLEAN, { ...CLEAN[1], requestId: 3, issuedTick: 200, acceptedTick: -1 } as Step]),
    );
    expect(never).toEqual([expect.stringContaining('still waiting at tick 400')]);
  });

  it("flags an honest agent whose last write's event is gone from the log", () => {
    const churned = run(
      CLEAN,
      [],
      [
        { sequence: 1, names: ['h'] },
        ...Array.from({ length: 5 }, (_, i) => ({ sequence: 3 + i, names: ['m'] })),
      ],
    );
    expect(messages(churned)).toEqual([
      expect.stringContaining("agent h's last write (request 2, lock_acquire lock-0, sequence 2)"),
    ]);
    // An event of someone else at that sequence is not the agent's.
    const other = run(CLEAN, [], [{ sequence: 2, names: ['m'] }]);
    expect(checkFairness(other)).toHaveLength(1);
  });

  it('reports through checkRun under the name fairness', () => {
    const record = run([{ ...CLEAN[0], result: refused('LIMIT') } as Step]);
    expect(checkRun(record).filter((v) => v.checker === 'fairness')).toHaveLength(1);
  });
});
