import { encodeCanonical, toHex } from '@conclave/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  actions,
  DEFAULT_COORDINATION_LIMITS,
  decodeBallot,
  decodeOperation,
  decodeResult,
  encodeBallot,
  encodeOperation,
  encodeResult,
  type GovernanceAction,
  type Operation,
  ops,
} from '../src/index.ts';
import { decodeRecord, encodeRecord } from '../src/record.ts';

const limits = DEFAULT_COORDINATION_LIMITS;

describe('operations', () => {
  it('every builder round-trips through decodeOperation', () => {
    const value = new Uint8Array([1, 2, 3]);
    const built: [Uint8Array, Operation][] = [
      [
        ops.propose({
          proposalId: 'p',
          title: 't',
          rule: { kind: 'score', aggregate: 'trimmed_mean', trimPermille: 100, minBallots: 1 },
          voters: [{ agent: 'a', weight: 2 }],
          deadline: 9,
          candidates: ['x', 'y'],
        }),
        {
          op: 'propose',
          proposalId: 'p',
          title: 't',
          rule: { kind: 'score', aggregate: 'trimmed_mean', trimPermille: 100, minBallots: 1 },
          voters: [{ agent: 'a', weight: 2 }],
          deadline: 9,
          candidates: ['x', 'y'],
          sealed: null,
        },
      ],
      [
        ops.vote({ ballotBytes: value, signature: new Uint8Array(64) }),
        { op: 'vote', ballotBytes: value, signature: new Uint8Array(64) },
      ],
      [ops.kvPut({ key: 'k', value }), { op: 'kv_put', key: 'k', value, writers: null }],
      [
        ops.kvPut({ key: 'k', value, writers: ['bob', 'alice'] }),
        { op: 'kv_put', key: 'k', value, writers: ['bob', 'alice'] },
      ],
      [
        ops.kvCas({ key: 'k', expectedVersion: 3, value }),
        { op: 'kv_cas', key: 'k', expectedVersion: 3, value },
      ],
      [ops.kvDelete({ key: 'k' }), { op: 'kv_delete', key: 'k', expectedVersion: null }],
      [ops.kvGet({ key: 'k' }), { op: 'kv_get', key: 'k' }],
      [ops.lockAcquire({ name: 'l', ttl: 5 }), { op: 'lock_acquire', name: 'l', ttl: 5 }],
      [ops.lockRenew({ name: 'l', ttl: 5 }), { op: 'lock_renew', name: 'l', ttl: 5 }],
      [ops.lockRelease({ name: 'l' }), { op: 'lock_release', name: 'l' }],
      [ops.getLock({ name: 'l' }), { op: 'get_lock', name: 'l' }],
      [ops.taskCreate({ taskId: 't', payload: value }), { op: 'task_create', taskId: 't', payload: value }],
      [ops.taskClaim({ taskId: 't', ttl: 1 }), { op: 'task_claim', taskId: 't', ttl: 1 }],
      [ops.taskComplete({ taskId: 't', result: value }), { op: 'task_complete', taskId: 't', result: value }],
      [ops.taskRelease({ taskId: 't' }), { op: 'task_release', taskId: 't' }],
      [ops.getTask({ taskId: 't' }), { op: 'get_task', taskId: 't' }],
      [ops.listTasks(), { op: 'list_tasks', status: 'all', after: null, limit: 100 }],
      [ops.getProposal({ proposalId: 'p' }), { op: 'get_proposal', proposalId: 'p' }],
      [ops.listProposals(), { op: 'list_proposals', status: 'open', after: null, limit: 100 }],
      [ops.getBallot({ proposalId: 'p', agent: 'a' }), { op: 'get_ballot', proposalId: 'p', agent: 'a' }],
      [
        ops.listEvidence({ agent: 'a' }),
        { op: 'list_evidence', agent: 'a', proposalId: null, after: null, limit: 100 },
      ],
      [ops.events({ fromSequence: 4 }), { op: 'events', fromSequence: 4, fromIndex: 0, limit: 100 }],
      [ops.listAgents(), { op: 'list_agents', after: null, limit: 100 }],
      [ops.getCouncil(), { op: 'get_council' }],
      [ops.revokeSelf(), { op: 'revoke_self' }],
      [ops.rotateKey({ joinStatement: value }), { op: 'rotate_key', joinStatement: value }],
      ...(
        [
          actions.registerAgent({ joinStatement: value }),
          actions.registerAgent({
            joinStatement: value,
            weight: 3,
            quotas: { tasksPerAgentMax: 2, claimsPerAgentMax: 1 },
          }),
          actions.removeAgent('a'),
          actions.rotateAgentKey('a', value),
          actions.setAgentQuotas('a', {}),
          actions.setAgentWeight('a', 7),
          actions.setCouncil(['b', 'a'], 2),
        ] satisfies GovernanceAction[]
      ).map((action): [Uint8Array, Operation] => [
        ops.proposeAction({ proposalId: 'p', deadline: 9, action }),
        { op: 'propose_action', proposalId: 'p', title: '', deadline: 9, action, sealed: null },
      ]),
    ];
    for (const [bytes, operation] of built) {
      expect(decodeOperation(bytes, limits)).toEqual({ ok: true, operation });
      expect(toHex(encodeOperation(operation))).toBe(toHex(bytes));
    }
  });

  it('refuses wrong arity, wrong types and non-canonical encodings', () => {
    expect(decodeOperation(encodeCanonical(['kv_get']), limits)).toMatchObject({ code: 'INVALID' });
    expect(decodeOperation(encodeCanonical(['kv_get', 'k', 'extra']), limits)).toMatchObject({
      code: 'INVALID',
    });
    expect(decodeOperation(encodeCanonical(['kv_get', 5]), limits)).toMatchObject({ code: 'INVALID' });
    expect(decodeOperation(encodeCanonical(['lock_acquire', 'l', 1.5]), limits)).toMatchObject({
      code: 'INVALID',
    });
    expect(decodeOperation(encodeCanonical([]), limits)).toMatchObject({ code: 'MALFORMED' });
    expect(decodeOperation(encodeCanonical('kv_get'), limits)).toMatchObject({ code: 'MALFORMED' });
    // 5 encoded as a uint16 instead of a fixint: same value, not the canonical bytes.
    expect(
      decodeOperation(
        new Uint8Array([0x92, 0xa6, ...new TextEncoder().encode('kv_get'), 0xcd, 0, 5]),
        limits,
      ),
    ).toMatchObject({
      code: 'MALFORMED',
    });
  });
});

describe('ballots', () => {
  it('round-trip, and reject duplicate candidates and a wrong tag', () => {
    const ballot = {
      proposalId: 'p',
      agent: 'a',
      choice: [['x', 1] as [string, number]],
      reason: 'r',
      confidencePermille: 7,
    };
    expect(decodeBallot(encodeBallot(ballot), limits)).toEqual({ ok: true, ballot });
    const twice = { ...ballot, choice: [['x', 1] as [string, number], ['x', 2] as [string, number]] };
    expect(decodeBallot(encodeBallot(twice), limits).ok).toBe(false);
    expect(decodeBallot(encodeCanonical(['conclave/ballot/v2', 'p', 'a', 'approve', '', 0])).ok).toBe(false);
  });
});

describe('records and results', () => {
  it('records round-trip and have one encoding', () => {
    const leaf = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.uint8Array({ maxLength: 4 }),
    );
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('tree'), { maxLength: 3 }),
        fc.dictionary(fc.string(), tie('tree'), { maxKeys: 3 }),
      ),
    }));
    fc.assert(
      fc.property(tree, (value) => {
        const bytes = encodeRecord(value as never);
        const back = decodeRecord(bytes);
        expect(toHex(encodeRecord(back as never))).toBe(toHex(bytes));
      }),
      { seed: 7, numRuns: 300 },
    );
    // Keys out of order are not a record.
    expect(decodeRecord(encodeCanonical([2, 'b', 1, 'a', 2]))).toBeUndefined();
    expect(() => encodeRecord(1.5)).toThrow();
  });

  it('results round-trip through decodeResult', () => {
    const result = { ok: false, code: 'CONFLICT', message: 'taken' } as const;
    expect(decodeResult(encodeResult(result))).toEqual(result);
    expect(decodeResult(encodeRecord({ ok: true, kind: 'nope' }))).toMatchObject({ code: 'MALFORMED' });
    expect(decodeResult(encodeRecord({ ok: false, code: 'NOPE', message: '' }))).toMatchObject({
      code: 'MALFORMED',
    });
  });
});
