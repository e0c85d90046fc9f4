import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  actions,
  CoordinationConfigError,
  type CoordinationResult,
  ops,
  type QuotaLimitName,
  resolveLimits,
} from '../src/index.ts';
import { bytes, Driver } from './support.ts';

const SEED = 20_261_205;
const SMALL = {
  kvKeysPerAgentMax: 2,
  kvBytesPerAgentMax: 16,
  kvKeyBytesMax: 8,
  locksPerAgentMax: 2,
  tasksPerAgentMax: 2,
  openProposalsPerAgentMax: 1,
  retainedProposalsPerAgentMax: 1,
  retentionTicks: 50,
  eventsPerWindowPerAgentMax: 1000,
};

const propose = (proposalId: string) =>
  ops.propose({
    proposalId,
    title: '',
    rule: { kind: 'threshold', k: 1 },
    voters: [{ agent: 'bob', weight: 1 }],
    deadline: 1000,
  });

/** Each resource: an operation that uses one more unit of it, by name `n`. */
const USES: Record<string, (n: number) => Uint8Array> = {
  'kv-keys': (n) => ops.kvPut({ key: `k${n}`, value: bytes('v') }),
  locks: (n) => ops.lockAcquire({ name: `l${n}`, ttl: 500 }),
  tasks: (n) => ops.taskCreate({ taskId: `t${n}`, payload: bytes('') }),
  'open-proposals': (n) => propose(`p${n}`),
};

describe('per-agent quotas', () => {
  it("one agent exhausting any resource, in any interleaving, never makes another agent's first use fail", () => {
    const agents = ['alice', 'bob', 'carol', 'dave'];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...agents.slice(1)), fc.constantFrom(...Object.keys(USES))), {
          maxLength: 40,
        }),
        fc.constantFrom(...Object.keys(USES)),
        (attack, resource) => {
          const d = new Driver({ limits: SMALL });
          let n = 0;
          for (const [agent, use] of attack) d.apply(agent, (USES[use] as (n: number) => Uint8Array)(n++));
          // alice has done nothing yet: her first use of the resource succeeds.
          const result: CoordinationResult = d.apply(
            'alice',
            (USES[resource] as (n: number) => Uint8Array)(n++),
          );
          expect(result.ok).toBe(true);
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('QUOTA names the resource, the use and the quota', () => {
    const d = new Driver({ limits: SMALL });
    d.ok('kv', 'alice', ops.kvPut({ key: 'a', value: bytes('123456') }));
    const bytesOver = d.apply('alice', ops.kvPut({ key: 'b', value: bytes('1234567890') }));
    expect(bytesOver).toMatchObject({ ok: false, code: 'QUOTA', resource: 'kv-bytes' });
    expect(!bytesOver.ok && bytesOver.message).toMatch(/alice uses 7 of its kv-bytes quota of 16/);
    d.ok('kv', 'alice', ops.kvPut({ key: 'b', value: bytes('1') }));
    expect(d.apply('alice', ops.kvPut({ key: 'c', value: bytes('') }))).toMatchObject({
      resource: 'kv-keys',
    });
    d.ok('proposal', 'alice', propose('p1'));
    expect(d.apply('alice', propose('p2'))).toMatchObject({ code: 'QUOTA', resource: 'open-proposals' });
  });

  it('a decided proposal counts as retained until retentionTicks pass, then frees the quota', () => {
    const d = new Driver({ limits: SMALL });
    d.batch(1);
    d.ok('proposal', 'alice', propose('p1'));
    d.vote('p1', 'bob', 'approve');
    expect(d.apply('alice', propose('p2'))).toMatchObject({ code: 'QUOTA', resource: 'retained-proposals' });
    d.at(50);
    expect(d.apply('alice', propose('p2'))).toMatchObject({ code: 'QUOTA' });
    d.at(51);
    d.ok('proposal', 'alice', propose('p2'));
  });

  it("a done task frees its creator's quota after retentionTicks", () => {
    const d = new Driver({ limits: SMALL });
    d.ok('task', 'alice', ops.taskCreate({ taskId: 't1', payload: bytes('') }));
    d.ok('task', 'alice', ops.taskCreate({ taskId: 't2', payload: bytes('') }));
    expect(d.apply('alice', ops.taskCreate({ taskId: 't3', payload: bytes('') }))).toMatchObject({
      resource: 'tasks',
    });
    d.ok('task', 'bob', ops.taskClaim({ taskId: 't1', ttl: 10 }));
    d.ok('task', 'bob', ops.taskComplete({ taskId: 't1', result: bytes('') }));
    d.at(d.time + 50);
    d.ok('task', 'alice', ops.taskCreate({ taskId: 't3', payload: bytes('') }));
  });

  it('an agent over its event rate is refused QUOTA events until the next window', () => {
    const d = new Driver({ limits: { eventsPerWindowPerAgentMax: 2, eventWindowTicks: 10 } });
    d.batch(10);
    d.ok('kv', 'alice', ops.kvPut({ key: 'a', value: bytes('') }));
    d.ok('kv', 'alice', ops.kvPut({ key: 'a', value: bytes('') }));
    expect(d.apply('alice', ops.kvPut({ key: 'a', value: bytes('') }))).toMatchObject({ resource: 'events' });
    d.ok('kv', 'bob', ops.kvPut({ key: 'b', value: bytes('') }));
    d.at(20);
    d.ok('kv', 'alice', ops.kvPut({ key: 'a', value: bytes('') }));
  });

  it("an agent's events evict only its own: others' stay readable", () => {
    const d = new Driver({ limits: { eventsPerAgentMax: 2 } });
    d.ok('kv', 'bob', ops.kvPut({ key: 'b', value: bytes('') }));
    for (let i = 0; i < 10; i++) d.ok('kv', 'alice', ops.kvPut({ key: 'a', value: bytes(String(i)) }));
    const page = d.queryOk('events', ops.events({ fromSequence: 0 }));
    expect(page.events.filter((e) => e.producer === 'bob')).toHaveLength(1);
    expect(page.events.filter((e) => e.producer === 'alice')).toHaveLength(2);
    expect(page.missed).toBe(true);
  });

  it('limits whose worst case does not fit a snapshot frame are refused, naming what to lower', () => {
    // 66 fit the defaults: ballots are charged by voter index and signed bytes only, salts and
    // seals included (capacity.test.ts checks the charge against real snapshots).
    expect(() => resolveLimits({}, 66)).not.toThrow();
    expect(() => resolveLimits({}, 67)).toThrow(/67 agents at full quota/);
    // The fit is checked for agentsMax records, not only the genesis agents: join at run time fits too.
    expect(() => resolveLimits({ agentsMax: 67 }, 4)).toThrow(/67 agents at full quota/);
    expect(() => resolveLimits({ agentsMax: 3 }, 4)).toThrow(
      /agentsMax \(3\) must be at least the 4 genesis agents/,
    );
    expect(resolveLimits({}, 3).agentsMax).toBe(64);
    expect(() => resolveLimits({}, 1000)).toThrow(CoordinationConfigError);
    expect(() => resolveLimits({}, 1000)).toThrow(/proposals weigh most.*openProposalsPerAgentMax/);
    expect(() => resolveLimits({ tasksPerAgentMax: 100_000 }, 4)).toThrow(/tasksPerAgentMax/);
    expect(() => resolveLimits({ kvKeyMax: 1 } as never)).toThrow(/unknown coordination limit/);
  });
});

describe('kv ownership', () => {
  it('others may not write, CAS or delete a key without a grant; the owner grants with writers', () => {
    const d = new Driver();
    d.ok('kv', 'alice', ops.kvPut({ key: 'k', value: bytes('a') }));
    d.error('bob', ops.kvPut({ key: 'k', value: bytes('b') }), 'FORBIDDEN');
    d.error('bob', ops.kvCas({ key: 'k', expectedVersion: 1, value: bytes('b') }), 'FORBIDDEN');
    d.error('bob', ops.kvDelete({ key: 'k' }), 'FORBIDDEN');
    d.error('bob', ops.kvPut({ key: 'k', value: bytes('b'), writers: ['bob'] }), 'FORBIDDEN');
    d.ok('kv', 'alice', ops.kvPut({ key: 'k', value: bytes('a'), writers: ['carol', 'bob', 'bob'] }));
    const entry = d.ok('kv', 'bob', ops.kvPut({ key: 'k', value: bytes('b') })).entry;
    expect(entry).toMatchObject({ owner: 'alice', writers: ['bob', 'carol'], updatedBy: 'bob' });
    d.error('carol', ops.kvPut({ key: 'k', value: bytes('c'), writers: [] }), 'FORBIDDEN');
    d.error('dave', ops.kvDelete({ key: 'k' }), 'FORBIDDEN');
    d.ok('kv', 'carol', ops.kvDelete({ key: 'k' }));
  });

  it('<agent>/ keys: only that agent creates them (no squatting); its grant lets others write', () => {
    const d = new Driver({ names: ['alice', 'bob', 'carol', 'alice/team'] });
    // bob cannot take alice's predictable names first, by put or by a create-only CAS.
    d.error('bob', ops.kvPut({ key: 'alice/k0', value: bytes('b') }), 'FORBIDDEN');
    d.error('bob', ops.kvCas({ key: 'alice/k0', expectedVersion: 0, value: bytes('b') }), 'FORBIDDEN');
    d.error('bob', ops.kvDelete({ key: 'alice/k0' }), 'NOT_FOUND');
    expect(d.ok('kv', 'alice', ops.kvPut({ key: 'alice/k0', value: bytes('a') })).entry.owner).toBe('alice');
    d.error('bob', ops.kvPut({ key: 'alice/k0', value: bytes('b') }), 'FORBIDDEN');
    d.ok('kv', 'alice', ops.kvPut({ key: 'alice/k0', value: bytes('a'), writers: ['bob'] }));
    expect(d.ok('kv', 'bob', ops.kvPut({ key: 'alice/k0', value: bytes('b') })).entry.owner).toBe('alice');
    // The longest registered id reserves: alice/team/… is alice/team's, not alice's.
    d.error('alice', ops.kvPut({ key: 'alice/team/x', value: bytes('a') }), 'FORBIDDEN');
    d.ok('kv', 'alice/team', ops.kvPut({ key: 'alice/team/x', value: bytes('t') }));
    // Not a registered id, or not followed by a slash: first creator owns, as before.
    d.ok('kv', 'bob', ops.kvPut({ key: 'dave/k0', value: bytes('b') }));
    d.ok('kv', 'bob', ops.kvPut({ key: 'alice-k0', value: bytes('b') }));
    d.ok('kv', 'bob', ops.kvPut({ key: 'shared/alice/k0', value: bytes('b') }));
  });

  it('<agent>/ lock names, task ids and proposal ids: only that agent creates them', () => {
    const d = new Driver({ names: ['alice', 'bob'] });
    d.error('bob', ops.lockAcquire({ name: 'alice/leader', ttl: 10 }), 'FORBIDDEN');
    d.error('bob', ops.taskCreate({ taskId: 'alice/t1', payload: bytes('b') }), 'FORBIDDEN');
    d.error('bob', propose('alice/p1'), 'FORBIDDEN');
    d.ok('lock', 'alice', ops.lockAcquire({ name: 'alice/leader', ttl: 10 }));
    d.ok('task', 'alice', ops.taskCreate({ taskId: 'alice/t1', payload: bytes('a') }));
    d.ok('proposal', 'alice', propose('alice/p1'));
    // Others still use what alice created: claim her task.
    d.ok('task', 'bob', ops.taskClaim({ taskId: 'alice/t1', ttl: 10 }));
    // Not reserved: shared/, an unregistered prefix, or no slash.
    d.ok('lock', 'bob', ops.lockAcquire({ name: 'shared/alice/leader', ttl: 10 }));
    d.ok('task', 'bob', ops.taskCreate({ taskId: 'carol/t1', payload: bytes('b') }));
    d.ok('proposal', 'bob', propose('alice-p2'));
  });

  it('shared/ keys: anyone writes or deletes; charged to the last writer; no writers list', () => {
    const d = new Driver({ limits: { kvKeysPerAgentMax: 1 } });
    d.ok('kv', 'alice', ops.kvPut({ key: 'shared/x', value: bytes('a') }));
    expect(d.ok('kv', 'bob', ops.kvPut({ key: 'shared/x', value: bytes('b') })).entry.owner).toBe('bob');
    // alice's key quota is free again: the shared key now counts against bob.
    d.ok('kv', 'alice', ops.kvPut({ key: 'mine', value: bytes('') }));
    d.error('alice', ops.kvPut({ key: 'shared/y', value: bytes(''), writers: ['bob'] }), 'INVALID');
    d.ok('kv', 'carol', ops.kvDelete({ key: 'shared/x' }));
  });

  it('ownership, revision and usage survive snapshot and restore', () => {
    const d = new Driver({ limits: { kvKeysPerAgentMax: 1 } });
    d.ok('kv', 'alice', ops.kvPut({ key: 'k', value: bytes('a'), writers: ['bob'] }));
    const copy = new Driver({ limits: { kvKeysPerAgentMax: 1 } });
    copy.sm.restore(d.sm.snapshot());
    expect(copy.sm.snapshot()).toEqual(d.sm.snapshot());
    copy.error('alice', ops.kvPut({ key: 'k2', value: bytes('') }), 'QUOTA');
    expect(copy.ok('kv', 'bob', ops.kvPut({ key: 'k', value: bytes('b') })).entry.version).toBe(2);
  });
});

/** The limit name each resource of USES is counted under. */
const LIMIT_OF: Record<string, QuotaLimitName> = {
  'kv-keys': 'kvKeysPerAgentMax',
  locks: 'locksPerAgentMax',
  tasks: 'tasksPerAgentMax',
  'open-proposals': 'openProposalsPerAgentMax',
};

describe('list_usage', () => {
  const usageOf = (d: Driver, agent: string) =>
    d.queryOk('usage', ops.listUsage()).usage.find((u) => u.agent === agent);

  it('reports the count each quota check compares: at the limit, the next use is refused', () => {
    for (const [resource, use] of Object.entries(USES)) {
      const d = new Driver({ limits: SMALL });
      const name = LIMIT_OF[resource] as QuotaLimitName & keyof typeof SMALL;
      let n = 0;
      while (d.apply('bob', use(n++)).ok) expect(n).toBeLessThan(10);
      const bob = usageOf(d, 'bob');
      expect(bob?.used[name], resource).toBe(SMALL[name]);
      expect(bob?.limits[name], resource).toBe(SMALL[name]);
      expect(usageOf(d, 'alice')?.used[name], resource).toBe(0);
    }
  });

  it('counts kv bytes, claims, retained proposals and events, and shows an override as the limit', () => {
    const d = new Driver({ limits: SMALL });
    d.ok('kv', 'alice', ops.kvPut({ key: 'k', value: bytes('value') }));
    d.ok('task', 'alice', ops.taskCreate({ taskId: 't', payload: bytes('') }));
    d.ok('task', 'bob', ops.taskClaim({ taskId: 't', ttl: 100 }));
    const alice = usageOf(d, 'alice');
    expect(alice?.used.kvBytesPerAgentMax).toBeGreaterThan(0);
    expect(alice?.used.eventsPerAgentMax).toBe(2);
    expect(alice?.used.eventsPerWindowPerAgentMax).toBe(2);
    expect(usageOf(d, 'bob')?.used.claimsPerAgentMax).toBe(1);
    d.ok('proposal', 'carol', propose('p'));
    d.vote('p', 'bob', 'approve');
    expect(usageOf(d, 'carol')?.used).toMatchObject({
      openProposalsPerAgentMax: 0,
      retainedProposalsPerAgentMax: 1,
    });
    const action = actions.setAgentQuotas('dave', { locksPerAgentMax: 1 });
    d.ok('proposal', 'alice', ops.proposeAction({ proposalId: 'q', deadline: 1000, action }));
    for (const voter of ['alice', 'bob', 'erin']) d.vote('q', voter, 'approve');
    d.batch();
    expect(usageOf(d, 'dave')?.limits.locksPerAgentMax).toBe(1);
    expect(usageOf(d, 'erin')?.limits.locksPerAgentMax).toBe(SMALL.locksPerAgentMax);
  });

  it('pages in id order, and is a read (no state change)', () => {
    const d = new Driver();
    d.batch(1);
    const before = d.sm.digest();
    const first = d.queryOk('usage', ops.listUsage({ limit: 2 }));
    expect(first.usage.map((u) => u.agent)).toEqual(['alice', 'bob']);
    const rest = d.queryOk('usage', ops.listUsage({ after: first.next, limit: 10 }));
    expect(rest.usage.map((u) => u.agent)).toEqual(['carol', 'dave', 'erin']);
    expect(rest.next).toBeNull();
    expect(d.sm.digest()).toEqual(before);
  });
});
