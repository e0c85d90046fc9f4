import { describe, expect, it } from 'vitest';
import { ops } from '../src/index.ts';
import { bytes, Driver } from './support.ts';

describe('kv', () => {
  it('put increments the version; get reads it (as a query and as an ordered read)', () => {
    const d = new Driver();
    expect(d.ok('kv', 'alice', ops.kvPut({ key: 'k', value: bytes('a') })).entry.version).toBe(1);
    const second = d.ok('kv', 'alice', ops.kvPut({ key: 'k', value: bytes('b') })).entry;
    expect(second).toMatchObject({
      key: 'k',
      version: 2,
      owner: 'alice',
      updatedBy: 'alice',
      value: bytes('b'),
    });
    expect(d.queryOk('kv', ops.kvGet({ key: 'k' })).entry).toEqual(second);
    expect(d.ok('kv', 'carol', ops.kvGet({ key: 'k' })).entry).toEqual(second);
    expect(d.queryOk('kv', ops.kvGet({ key: 'absent' })).entry).toEqual({
      key: 'absent',
      value: null,
      version: 0,
      owner: null,
      writers: [],
      updatedBy: null,
      updatedAt: null,
    });
  });

  it('cas writes only at the expected version (0: only if absent)', () => {
    const d = new Driver();
    expect(
      d.ok('kv', 'alice', ops.kvCas({ key: 'k', expectedVersion: 0, value: bytes('a') })).entry.version,
    ).toBe(1);
    expect(
      d.error('bob', ops.kvCas({ key: 'k', expectedVersion: 0, value: bytes('b') }), 'VERSION_MISMATCH'),
    ).toMatch(/version 1/);
    d.error('alice', ops.kvCas({ key: 'k', expectedVersion: 2, value: bytes('b') }), 'VERSION_MISMATCH');
    expect(
      d.ok('kv', 'alice', ops.kvCas({ key: 'k', expectedVersion: 1, value: bytes('b') })).entry.version,
    ).toBe(2);
    expect(d.queryOk('kv', ops.kvGet({ key: 'k' })).entry.value).toEqual(bytes('b'));
  });

  it('delete, optionally conditional; a re-created key gets a higher version, so an old CAS fails (no ABA)', () => {
    const d = new Driver();
    d.ok('kv', 'alice', ops.kvPut({ key: 'k', value: bytes('a') }));
    d.error('alice', ops.kvDelete({ key: 'k', expectedVersion: 2 }), 'VERSION_MISMATCH');
    d.ok('kv', 'alice', ops.kvDelete({ key: 'k', expectedVersion: 1 }));
    d.error('alice', ops.kvDelete({ key: 'k' }), 'NOT_FOUND');
    expect(d.ok('kv', 'alice', ops.kvPut({ key: 'k', value: bytes('c') })).entry.version).toBe(2);
    d.error('alice', ops.kvCas({ key: 'k', expectedVersion: 1, value: bytes('stale') }), 'VERSION_MISMATCH');
  });

  it('is bounded: keys, key size, value size', () => {
    const d = new Driver({ limits: { kvKeysPerAgentMax: 2, kvKeyBytesMax: 4, kvValueBytesMax: 3 } });
    d.ok('kv', 'alice', ops.kvPut({ key: 'a', value: bytes('1') }));
    d.ok('kv', 'alice', ops.kvPut({ key: 'b', value: bytes('1') }));
    d.error('alice', ops.kvPut({ key: 'c', value: bytes('1') }), 'QUOTA');
    d.ok('kv', 'bob', ops.kvPut({ key: 'c', value: bytes('1') })); // alice's quota is hers alone
    d.ok('kv', 'alice', ops.kvPut({ key: 'a', value: bytes('123') })); // overwriting is fine at the bound
    d.error('alice', ops.kvPut({ key: 'a', value: bytes('1234') }), 'INVALID');
    d.error('alice', ops.kvPut({ key: 'abcde', value: bytes('1') }), 'INVALID');
  });
});

describe('locks and leases in agreed time', () => {
  it('acquire, conflict, expiry, reacquire with a higher fencing token', () => {
    const d = new Driver();
    const first = d.ok('lock', 'alice', ops.lockAcquire({ name: 'db', ttl: 10 })).lock;
    expect(first).toEqual({ name: 'db', holder: 'alice', expiresAt: 10, token: 1 });
    d.error('bob', ops.lockAcquire({ name: 'db', ttl: 10 }), 'CONFLICT');
    d.error('alice', ops.lockAcquire({ name: 'db', ttl: 10 }), 'CONFLICT');
    d.at(9);
    d.error('bob', ops.lockAcquire({ name: 'db', ttl: 10 }), 'CONFLICT');
    expect(d.queryOk('lock', ops.getLock({ name: 'db' })).lock.holder).toBe('alice');
    d.at(10);
    expect(d.queryOk('lock', ops.getLock({ name: 'db' })).lock.holder).toBeNull();
    const second = d.ok('lock', 'bob', ops.lockAcquire({ name: 'db', ttl: 5 })).lock;
    expect(second).toEqual({ name: 'db', holder: 'bob', expiresAt: 15, token: 2 });
    d.error('alice', ops.lockRelease({ name: 'db' }), 'FORBIDDEN');
  });

  it('renew and release by the holder only', () => {
    const d = new Driver();
    d.ok('lock', 'alice', ops.lockAcquire({ name: 'db', ttl: 10 }));
    d.at(8);
    d.error('bob', ops.lockRenew({ name: 'db', ttl: 10 }), 'FORBIDDEN');
    expect(d.ok('lock', 'alice', ops.lockRenew({ name: 'db', ttl: 10 })).lock.expiresAt).toBe(18);
    d.at(15);
    expect(d.queryOk('lock', ops.getLock({ name: 'db' })).lock.holder).toBe('alice');
    expect(d.ok('lock', 'alice', ops.lockRelease({ name: 'db' })).lock.holder).toBeNull();
    d.error('alice', ops.lockRelease({ name: 'db' }), 'NOT_FOUND');
    d.error('alice', ops.lockRenew({ name: 'db', ttl: 1 }), 'NOT_FOUND');
  });

  it('an expired lease is free even when no heartbeat removed it yet (query and acquire)', () => {
    const d = new Driver();
    d.ok('lock', 'alice', ops.lockAcquire({ name: 'db', ttl: 10 }));
    d.sequence += 1;
    d.time = 12; // no advanceTime: apply alone must see the expiry
    expect(d.ok('lock', 'bob', ops.lockAcquire({ name: 'db', ttl: 1 })).lock.holder).toBe('bob');
  });

  it('is bounded: locks, ttl, name size', () => {
    const d = new Driver({ limits: { locksPerAgentMax: 1, leaseTicksMax: 100, lockNameBytesMax: 3 } });
    d.ok('lock', 'alice', ops.lockAcquire({ name: 'a', ttl: 1 }));
    d.error('alice', ops.lockAcquire({ name: 'b', ttl: 1 }), 'QUOTA');
    d.ok('lock', 'bob', ops.lockAcquire({ name: 'b', ttl: 1 }));
    d.at(1); // 'a' and 'b' expire and are removed
    d.ok('lock', 'alice', ops.lockAcquire({ name: 'b', ttl: 100 }));
    d.error('alice', ops.lockAcquire({ name: 'c', ttl: 101 }), 'INVALID');
    d.error('alice', ops.lockAcquire({ name: 'c', ttl: 0 }), 'INVALID');
    d.error('alice', ops.lockAcquire({ name: 'long', ttl: 1 }), 'INVALID');
  });
});

describe('task board', () => {
  it('create, claim under a lease, complete by the claimant only', () => {
    const d = new Driver();
    d.ok('task', 'alice', ops.taskCreate({ taskId: 't1', payload: bytes('do it') }));
    d.error('bob', ops.taskCreate({ taskId: 't1', payload: bytes('again') }), 'CONFLICT');
    const claimed = d.ok('task', 'bob', ops.taskClaim({ taskId: 't1', ttl: 10 })).task;
    expect(claimed).toMatchObject({ status: 'claimed', claimant: 'bob', claimExpiresAt: 10 });
    d.error('carol', ops.taskComplete({ taskId: 't1', result: bytes('mine') }), 'FORBIDDEN');
    d.at(5);
    const done = d.ok('task', 'bob', ops.taskComplete({ taskId: 't1', result: bytes('42') })).task;
    expect(done).toMatchObject({ status: 'done', result: bytes('42'), completedBy: 'bob', claimant: null });
    d.error('carol', ops.taskClaim({ taskId: 't1', ttl: 10 }), 'CONFLICT');
    d.error('bob', ops.taskRelease({ taskId: 't1' }), 'CONFLICT');
    d.error('bob', ops.taskClaim({ taskId: 'nope', ttl: 10 }), 'NOT_FOUND');
  });

  it('an expired claim returns the task to the board; the late claimant is told EXPIRED', () => {
    const d = new Driver();
    d.ok('task', 'alice', ops.taskCreate({ taskId: 't1', payload: bytes('') }));
    d.ok('task', 'bob', ops.taskClaim({ taskId: 't1', ttl: 10 }));
    d.at(10);
    const task = d.queryOk('task', ops.getTask({ taskId: 't1' })).task;
    expect(task).toMatchObject({ status: 'open', claimant: null, claimExpiresAt: null });
    d.error('bob', ops.taskComplete({ taskId: 't1', result: bytes('late') }), 'EXPIRED');
    d.error('carol', ops.taskComplete({ taskId: 't1', result: bytes('x') }), 'FORBIDDEN');
    d.ok('task', 'carol', ops.taskClaim({ taskId: 't1', ttl: 10 }));
  });

  it('release by the claimant returns the task to the board', () => {
    const d = new Driver();
    d.ok('task', 'alice', ops.taskCreate({ taskId: 't1', payload: bytes('') }));
    d.ok('task', 'bob', ops.taskClaim({ taskId: 't1', ttl: 10 }));
    d.error('carol', ops.taskRelease({ taskId: 't1' }), 'FORBIDDEN');
    expect(d.ok('task', 'bob', ops.taskRelease({ taskId: 't1' })).task.status).toBe('open');
    d.ok('task', 'carol', ops.taskClaim({ taskId: 't1', ttl: 10 }));
  });

  it('a malicious agent that claims everything hits claimsPerAgentMax; double-claims get CONFLICT', () => {
    const d = new Driver({ limits: { claimsPerAgentMax: 3, tasksPerAgentMax: 10 } });
    for (let i = 0; i < 10; i++)
      d.ok('task', 'alice', ops.taskCreate({ taskId: `t${i}`, payload: bytes('') }));
    const results = Array.from({ length: 10 }, (_, i) =>
      d.apply('erin', ops.taskClaim({ taskId: `t${i}`, ttl: 100 })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(results.slice(3).every((r) => !r.ok && r.code === 'QUOTA' && r.resource === 'claims')).toBe(true);
    d.error('erin', ops.taskClaim({ taskId: 't0', ttl: 100 }), 'CONFLICT');
    d.error('bob', ops.taskClaim({ taskId: 't0', ttl: 100 }), 'CONFLICT');
    // Honest agents still find work.
    d.ok('task', 'bob', ops.taskClaim({ taskId: 't5', ttl: 100 }));
    // Completing one frees a claim slot.
    d.ok('task', 'erin', ops.taskComplete({ taskId: 't0', result: bytes('') }));
    d.ok('task', 'erin', ops.taskClaim({ taskId: 't6', ttl: 100 }));
  });

  it('lists tasks by status with paging; done tasks are pruned after retentionTicks', () => {
    const d = new Driver({ limits: { retentionTicks: 20 } });
    for (const id of ['b', 'a', 'c'])
      d.ok('task', 'alice', ops.taskCreate({ taskId: id, payload: bytes(id) }));
    d.ok('task', 'bob', ops.taskClaim({ taskId: 'b', ttl: 100 }));
    d.ok('task', 'bob', ops.taskComplete({ taskId: 'b', result: bytes('') }));
    d.ok('task', 'bob', ops.taskClaim({ taskId: 'c', ttl: 100 }));
    const list = (status: 'open' | 'claimed' | 'done' | 'all') =>
      d.queryOk('tasks', ops.listTasks({ status })).tasks.map((t) => t.taskId);
    expect(list('all')).toEqual(['a', 'b', 'c']);
    expect(list('open')).toEqual(['a']);
    expect(list('claimed')).toEqual(['c']);
    expect(list('done')).toEqual(['b']);
    const page = d.queryOk('tasks', ops.listTasks({ limit: 2 }));
    expect(page.next).toBe('b');
    d.at(20);
    expect(list('all')).toEqual(['a', 'c']);
  });

  it('is bounded: tasks, id, payload and result sizes', () => {
    const d = new Driver({
      limits: {
        tasksPerAgentMax: 1,
        claimsPerAgentMax: 1,
        taskIdBytesMax: 2,
        taskPayloadBytesMax: 2,
        taskResultBytesMax: 1,
      },
    });
    d.error('alice', ops.taskCreate({ taskId: 'abc', payload: bytes('') }), 'INVALID');
    d.error('alice', ops.taskCreate({ taskId: 'a', payload: bytes('abc') }), 'INVALID');
    d.ok('task', 'alice', ops.taskCreate({ taskId: 'a', payload: bytes('ab') }));
    d.error('alice', ops.taskCreate({ taskId: 'b', payload: bytes('') }), 'QUOTA');
    d.ok('task', 'bob', ops.taskClaim({ taskId: 'a', ttl: 5 }));
    d.error('bob', ops.taskComplete({ taskId: 'a', result: bytes('ab') }), 'INVALID');
  });
});
