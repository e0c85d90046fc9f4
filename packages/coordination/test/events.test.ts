import { describe, expect, it } from 'vitest';
import { ops } from '../src/index.ts';
import { bytes, Driver } from './support.ts';

const events = (d: Driver, fromSequence: number, fromIndex = 0, limit?: number) =>
  d.queryOk('events', ops.events({ fromSequence, fromIndex, ...(limit === undefined ? {} : { limit }) }));

describe('events for watch', () => {
  it('every state change appends an event with its sequence, index and agreed time', () => {
    const d = new Driver();
    d.batch(5);
    d.ok('kv', 'alice', ops.kvPut({ key: 'k', value: bytes('v') }));
    d.ok('lock', 'bob', ops.lockAcquire({ name: 'l', ttl: 3 }));
    d.apply('bob', ops.kvGet({ key: 'k' })); // a read: no event
    d.error('carol', ops.lockRelease({ name: 'l' }), 'FORBIDDEN'); // refused: no event
    d.batch(8); // the lease expires in advanceTime, before this batch's requests
    d.ok('task', 'carol', ops.taskCreate({ taskId: 't', payload: bytes('') }));
    const page = events(d, 0);
    expect(page.events).toEqual([
      {
        sequence: 1,
        index: 0,
        timestamp: 5,
        kind: 'kv_put',
        key: 'k',
        version: 1,
        agent: 'alice',
        producer: 'alice',
      },
      {
        sequence: 1,
        index: 1,
        timestamp: 5,
        kind: 'lock_acquired',
        name: 'l',
        holder: 'bob',
        expiresAt: 8,
        token: 1,
        producer: 'bob',
      },
      // A timer's event is charged to the holder whose lease ended.
      {
        sequence: 2,
        index: 0,
        timestamp: 8,
        kind: 'lock_expired',
        name: 'l',
        holder: 'bob',
        producer: 'bob',
      },
      {
        sequence: 2,
        index: 1,
        timestamp: 8,
        kind: 'task_created',
        taskId: 't',
        creator: 'carol',
        producer: 'carol',
      },
    ]);
    expect(page.earliestSequence).toBe(1);
    expect(page.missed).toBe(false);
    expect(page.next).toEqual({ sequence: 2, index: 2 });
    expect(events(d, 2).events.map((e) => e.kind)).toEqual(['lock_expired', 'task_created']);
    expect(events(d, 2, 1).events.map((e) => e.kind)).toEqual(['task_created']);
    expect(events(d, 3).events).toEqual([]);
    expect(events(d, 3).next).toEqual({ sequence: 3, index: 0 });
  });

  it('pages with limit and a (sequence, index) cursor', () => {
    const d = new Driver();
    for (let i = 0; i < 5; i++) d.ok('kv', 'alice', ops.kvPut({ key: `k${i}`, value: bytes('') }));
    const first = events(d, 0, 0, 2);
    expect(first.events.map((e) => e.index)).toEqual([0, 1]);
    expect(first.next).toEqual({ sequence: 1, index: 2 });
    const second = events(d, first.next.sequence, first.next.index, 10);
    expect(second.events.map((e) => e.index)).toEqual([2, 3, 4]);
  });

  it("keeps each producer's latest eventsPerAgentMax; a watcher that fell behind learns it missed events", () => {
    const d = new Driver({ limits: { eventsPerAgentMax: 3 } });
    for (let i = 0; i < 5; i++) {
      d.batch(i);
      d.ok('kv', 'alice', ops.kvPut({ key: 'k', value: bytes(String(i)) }));
    }
    const all = events(d, 0);
    expect(all.events.map((e) => e.sequence)).toEqual([3, 4, 5]);
    expect(all.earliestSequence).toBe(3);
    expect(all.missed).toBe(true);
    expect(events(d, 2).missed).toBe(true);
    expect(events(d, 3).missed).toBe(false);
    expect(all.gapFreeFrom).toEqual({ sequence: 2, index: 1 });
    // The log is part of the snapshot.
    const copy = new Driver({ limits: { eventsPerAgentMax: 3 } });
    copy.sm.restore(d.sm.snapshot());
    expect(copy.queryOk('events', ops.events({ fromSequence: 0 })).events).toEqual(all.events);
  });

  it('records proposal, ballot, decision, evidence and pruning events', () => {
    const d = new Driver({ limits: { retentionTicks: 5 } });
    d.ok(
      'proposal',
      'alice',
      ops.propose({
        proposalId: 'p',
        title: '',
        rule: { kind: 'threshold', k: 2 },
        voters: [
          { agent: 'bob', weight: 1 },
          { agent: 'carol', weight: 1 },
          { agent: 'dave', weight: 1 },
        ],
        deadline: 10,
      }),
    );
    d.vote('p', 'bob', 'approve');
    d.vote('p', 'bob', 'reject');
    d.vote('p', 'carol', 'approve');
    d.vote('p', 'dave', 'reject');
    d.at(10);
    d.at(15);
    expect(events(d, 0).events.map((e) => e.kind)).toEqual([
      'proposal_created',
      'ballot_cast',
      'evidence_recorded',
      'ballot_voided',
      'ballot_cast',
      'ballot_cast',
      'proposal_decided',
      'proposal_pruned',
    ]);
    const decided = events(d, 0).events.find((e) => e.kind === 'proposal_decided');
    expect(decided).toMatchObject({ outcome: 'rejected', winner: null });
  });
});
