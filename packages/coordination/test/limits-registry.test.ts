import { describe, expect, it } from 'vitest';
import {
  CoordinationConfigError,
  CoordinationStateMachine,
  DEFAULT_COORDINATION_LIMITS,
  decodeResult,
  ops,
  resolveLimits,
  validateText,
} from '../src/index.ts';
import { crypto, Driver, identities, keyPairOf } from './support.ts';

const voters = (names: string[]) => names.map((agent) => ({ agent, weight: 1 }));
const base = {
  proposalId: 'p',
  title: '',
  rule: { kind: 'threshold', k: 1 } as const,
  voters: voters(['bob']),
  deadline: 100,
};

describe('registry', () => {
  it('lists the genesis agents and their keys, in id order with paging', () => {
    const d = new Driver({ names: ['zoe', 'amy', 'kim'] });
    const page = d.queryOk('agents', ops.listAgents({ limit: 2 }));
    const genesis = (id: string) => ({
      id,
      publicKey: keyPairOf(id).publicKey,
      removed: false,
      weight: 1,
      quotas: {},
      council: true,
      observer: false,
      keys: [{ publicKey: keyPairOf(id).publicKey, from: 0, until: null }],
    });
    expect(page.agents).toEqual([genesis('amy'), genesis('kim')]);
    expect(page.next).toBe('kim');
    expect(d.queryOk('agents', ops.listAgents({ after: 'kim' })).agents.map((a) => a.id)).toEqual(['zoe']);
  });

  it('refuses operations from agents not in the registry', () => {
    const d = new Driver();
    d.error('mallory', ops.kvPut({ key: 'k', value: new Uint8Array() }), 'FORBIDDEN');
  });

  it('rejects a registry with duplicate ids', () => {
    expect(
      () => new CoordinationStateMachine({ crypto, agents: [...identities(['a']), ...identities(['a'])] }),
    ).toThrow();
  });
});

describe('query', () => {
  it('refuses writes with READ_ONLY and never changes the state', () => {
    const d = new Driver();
    const before = d.sm.digest();
    expect(d.query(ops.kvPut({ key: 'k', value: new Uint8Array() }))).toMatchObject({
      ok: false,
      code: 'READ_ONLY',
    });
    expect(d.sm.digest()).toEqual(before);
  });

  it('reports the position it answers at', () => {
    const d = new Driver();
    d.batch(42);
    expect(d.queryOk('agents', ops.listAgents()).at).toEqual({ sequence: 1, timestamp: 42 });
  });

  it('decodeResult turns garbage into a MALFORMED error result', () => {
    expect(decodeResult(new Uint8Array([0xc1]))).toMatchObject({ ok: false, code: 'MALFORMED' });
    expect(decodeResult(new Uint8Array([0x01]))).toMatchObject({ ok: false, code: 'MALFORMED' });
  });
});

describe('bounds', () => {
  it('openProposalsPerAgentMax and retainedProposalsPerAgentMax', () => {
    const d = new Driver({ limits: { openProposalsPerAgentMax: 2, retainedProposalsPerAgentMax: 1 } });
    d.ok('proposal', 'alice', ops.propose({ ...base, proposalId: 'a1' }));
    d.ok('proposal', 'alice', ops.propose({ ...base, proposalId: 'a2' }));
    d.error('alice', ops.propose({ ...base, proposalId: 'a3' }), 'QUOTA');
    d.ok('proposal', 'carol', ops.propose({ ...base, proposalId: 'c1' }));
    // A decided proposal no longer counts as open, but counts as retained until pruned.
    d.vote('a1', 'bob', 'approve');
    d.error('alice', ops.propose({ ...base, proposalId: 'a3' }), 'QUOTA');
  });

  it('votersMax, weightMax, candidatesMax and field sizes', () => {
    const limits = {
      votersMax: 2,
      weightMax: 10,
      candidatesMax: 2,
      candidateBytesMax: 2,
      proposalIdBytesMax: 3,
      titleBytesMax: 3,
    };
    const d = new Driver({ limits });
    const score = { kind: 'score', aggregate: 'median', trimPermille: 0, minBallots: 1 } as const;
    d.error('alice', ops.propose({ ...base, voters: voters(['bob', 'carol', 'dave']) }), 'INVALID');
    d.error('alice', ops.propose({ ...base, voters: [{ agent: 'bob', weight: 11 }] }), 'INVALID');
    d.error('alice', ops.propose({ ...base, rule: score, candidates: ['a', 'b', 'c'] }), 'INVALID');
    d.error('alice', ops.propose({ ...base, rule: score, candidates: ['a', 'bcd'] }), 'INVALID');
    d.error('alice', ops.propose({ ...base, proposalId: 'abcd' }), 'INVALID');
    d.error('alice', ops.propose({ ...base, title: 'abcd' }), 'INVALID');
    d.ok('proposal', 'alice', ops.propose({ ...base, voters: [{ agent: 'bob', weight: 10 }] }));
  });

  it('validateText refuses exactly what the decoder refuses, with the same message', () => {
    const d = new Driver({ limits: { proposalIdBytesMax: 4 } });
    // 'é' is 2 UTF-8 bytes: 'éé' is at the bound, 'ééa' one byte past it though only 3 characters.
    expect(validateText('éé', 'proposalId', 4)).toBeUndefined();
    d.ok('proposal', 'alice', ops.propose({ ...base, proposalId: 'éé' }));
    const refusal = validateText('ééa', 'proposalId', 4);
    expect(refusal).toBe('proposalId must be 1..4 UTF-8 bytes, got 5');
    expect(d.error('alice', ops.propose({ ...base, proposalId: 'ééa' }), 'INVALID')).toBe(refusal);
    expect(validateText('', 'title', 4, 0)).toBeUndefined();
  });

  it('reasonBytesMax and ballotBytesMax', () => {
    const d = new Driver({ limits: { reasonBytesMax: 4, ballotBytesMax: 120 } });
    d.ok(
      'proposal',
      'alice',
      ops.propose({ ...base, voters: voters(['bob', 'carol']), rule: { kind: 'threshold', k: 2 } }),
    );
    d.error(
      'bob',
      d.voteOp({ proposalId: 'p', agent: 'bob', choice: 'approve', reason: 'abcde' }),
      'INVALID',
    );
    d.ok('vote', 'bob', d.voteOp({ proposalId: 'p', agent: 'bob', choice: 'approve', reason: 'abcd' }));
    const big = new Driver({ limits: { reasonBytesMax: 1000, ballotBytesMax: 120 } });
    big.ok('proposal', 'alice', ops.propose({ ...base }));
    big.error(
      'bob',
      big.voteOp({ proposalId: 'p', agent: 'bob', choice: 'approve', reason: 'x'.repeat(200) }),
      'INVALID',
    );
  });

  it('evidencePerAgentMax and evidenceMax: further equivocation is still voided, the drop is announced', () => {
    const d = new Driver({ limits: { evidenceMax: 3, evidencePerAgentMax: 2, openProposalsPerAgentMax: 4 } });
    for (const id of ['p1', 'p2', 'p3', 'p4'])
      d.ok(
        'proposal',
        'alice',
        ops.propose({
          ...base,
          proposalId: id,
          voters: voters(['bob', 'carol', 'dave', 'erin']),
          rule: { kind: 'threshold', k: 2 },
        }),
      );
    for (const id of ['p1', 'p2', 'p3']) {
      d.vote(id, 'bob', 'approve');
      d.vote(id, 'bob', 'reject');
    }
    expect(d.queryOk('evidence', ops.listEvidence({ agent: 'bob' })).evidence).toHaveLength(2);
    const p3 = d.queryOk('proposal', ops.getProposal({ proposalId: 'p3' })).proposal;
    expect(p3.tally.excluded).toEqual([
      { agent: 'bob', weight: 1, reason: 'equivocation', evidenceId: null },
    ]);
    d.vote('p4', 'carol', 'approve');
    d.vote('p4', 'carol', 'reject');
    d.vote('p4', 'dave', 'approve');
    d.vote('p4', 'dave', 'reject');
    expect(d.queryOk('evidence', ops.listEvidence()).evidence.map((e) => e.agent)).toEqual([
      'bob',
      'bob',
      'carol',
    ]);
    const kinds = d.queryOk('events', ops.events({ fromSequence: 0 })).events.map((e) => e.kind);
    expect(kinds.filter((k) => k === 'evidence_dropped')).toHaveLength(2);
  });

  it('a read result over the reply bound (core resultBytesMax) becomes LIMIT; a smaller page fits', () => {
    const d = new Driver({
      limits: {
        openProposalsPerAgentMax: 64,
        retainedProposalsPerAgentMax: 64,
        evidencePerAgentMax: 64,
        votersMax: 2,
        reasonBytesMax: 1024,
        ballotBytesMax: 2048,
        eventsPerWindowPerAgentMax: 1000,
      },
    });
    const reason = 'x'.repeat(1000);
    for (let i = 0; i < 40; i++) {
      d.ok('proposal', 'alice', ops.propose({ ...base, proposalId: `p${i}` }));
      d.vote(`p${i}`, 'bob', 'approve', reason);
      d.vote(`p${i}`, 'bob', 'reject', reason);
    }
    expect(d.query(ops.listEvidence({ limit: 40 }))).toMatchObject({ ok: false, code: 'LIMIT' });
    expect(d.queryOk('evidence', ops.listEvidence({ limit: 10 })).evidence).toHaveLength(10);
  });

  it('pageMax bounds every list', () => {
    const d = new Driver({ limits: { pageMax: 2 } });
    expect(d.query(ops.listAgents({ limit: 3 }))).toMatchObject({ ok: false, code: 'INVALID' });
    expect(d.query(ops.events({ fromSequence: 0, limit: 3 }))).toMatchObject({ ok: false, code: 'INVALID' });
    expect(d.query(ops.listTasks({ limit: 0 }))).toMatchObject({ ok: false, code: 'INVALID' });
  });

  it('limits are checked against each other', () => {
    expect(resolveLimits()).toEqual(DEFAULT_COORDINATION_LIMITS);
    expect(() => resolveLimits({ eventsPerAgentMax: 0 })).toThrow(CoordinationConfigError);
    expect(() => resolveLimits({ tasksPerAgentMax: 1.5 })).toThrow(CoordinationConfigError);
    expect(() => resolveLimits({ kvKeyBytesMax: 1000, kvBytesPerAgentMax: 999 })).toThrow(
      CoordinationConfigError,
    );
    expect(() => resolveLimits({ evidencePerAgentMax: 5000 })).toThrow(CoordinationConfigError);
    expect(() => resolveLimits({ votersMax: 1_000_000, scoreMax: 1_000_000_000 })).toThrow(
      CoordinationConfigError,
    );
  });
});
