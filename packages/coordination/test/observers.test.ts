/**
 * Observers: registered agents that may read and look after their own key, and nothing else.
 * The key a dashboard or an auditor holds can then never write, propose, vote or sit on the
 * council, whatever a later proposal names.
 */

import { describe, expect, it } from 'vitest';
import { actionTuple, decodeAction } from '../src/governance.ts';
import {
  actions,
  CoordinationConfigError,
  CoordinationStateMachine,
  DEFAULT_COORDINATION_LIMITS,
  type GovernanceAction,
  ops,
} from '../src/index.ts';
import { crypto, Driver, identities, joinOf } from './support.ts';

const DEADLINE = 1_000;
const bytes = (text: string) => new TextEncoder().encode(text);

function pass(d: Driver, proposalId: string, action: GovernanceAction): void {
  d.ok('proposal', 'alice', ops.proposeAction({ proposalId, deadline: DEADLINE, action }));
  for (const voter of ['alice', 'bob', 'carol']) d.vote(proposalId, voter, 'approve');
}

const viewOf = (d: Driver, id: string) =>
  d.queryOk('agents', ops.listAgents()).agents.find((a) => a.id === id);

describe('an observer', () => {
  it('is refused every write with READ_ONLY, and changes nothing', () => {
    const d = new Driver({ names: ['alice', 'bob', 'carol', 'watcher'], observers: ['watcher'] });
    d.batch(1);
    const before = d.sm.digest();
    const writes = [
      ops.kvPut({ key: 'k', value: bytes('v') }),
      ops.lockAcquire({ name: 'l', ttl: 10 }),
      ops.taskCreate({ taskId: 't', payload: bytes('p') }),
      ops.propose({
        proposalId: 'p',
        title: 't',
        rule: { kind: 'threshold', k: 1 },
        voters: [{ agent: 'alice', weight: 1 }],
        deadline: DEADLINE,
        candidates: [],
      }),
      ops.proposeAction({ proposalId: 'a', deadline: DEADLINE, action: actions.removeAgent('bob') }),
    ];
    for (const write of writes)
      expect(d.error('watcher', write, 'READ_ONLY')).toMatch(/watcher is an observer/);
    expect(d.sm.digest()).toEqual(before);
  });

  it('reads, and rotates or revokes its own key', () => {
    const d = new Driver({ names: ['alice', 'bob', 'carol', 'watcher'], observers: ['watcher'] });
    d.ok('kv', 'alice', ops.kvPut({ key: 'k', value: bytes('v') }));
    expect(d.ok('kv', 'watcher', ops.kvGet({ key: 'k' })).entry?.value).toEqual(bytes('v'));
    d.ok('agent', 'watcher', ops.rotateKey({ joinStatement: joinOf('watcher', 'watcher#2') }));
    expect(viewOf(d, 'watcher')?.observer).toBe(true);
    d.batch();
    d.ok('agent', 'watcher', ops.revokeSelf());
    expect(viewOf(d, 'watcher')?.removed).toBe(true);
  });

  it('cannot be named a voter, nor a council member; the default council leaves it out', () => {
    const d = new Driver({ names: ['alice', 'bob', 'carol', 'watcher'], observers: ['watcher'] });
    const message = d.error(
      'alice',
      ops.propose({
        proposalId: 'p',
        title: 't',
        rule: { kind: 'threshold', k: 1 },
        voters: [
          { agent: 'alice', weight: 1 },
          { agent: 'watcher', weight: 1 },
        ],
        deadline: DEADLINE,
        candidates: [],
      }),
      'INVALID',
    );
    expect(message).toMatch(/watcher is an observer/);
    expect(d.queryOk('council', ops.getCouncil()).council).toEqual({
      members: ['alice', 'bob', 'carol'],
      threshold: 2,
    });
    const setCouncil = actions.setCouncil(['alice', 'watcher'], 1);
    expect(
      d.error(
        'alice',
        ops.proposeAction({ proposalId: 'c', deadline: DEADLINE, action: setCouncil }),
        'INVALID_ACTION',
      ),
    ).toMatch(/watcher is an observer/);
  });

  it('a genesis council naming an observer is a config error', () => {
    const agents = identities(['alice', 'watcher']).map((a) =>
      a.id === 'watcher' ? { ...a, observer: true } : a,
    );
    expect(
      () =>
        new CoordinationStateMachine({
          crypto,
          agents,
          council: { members: ['alice', 'watcher'], threshold: 1 },
        }),
    ).toThrow(CoordinationConfigError);
  });

  it('is registered by an approved register_agent with observer, and shows as one', () => {
    const d = new Driver();
    pass(d, 'join-watcher', actions.registerAgent({ joinStatement: joinOf('watcher'), observer: true }));
    d.batch();
    expect(viewOf(d, 'watcher')).toMatchObject({ observer: true, council: false, removed: false });
    expect(viewOf(d, 'alice')?.observer).toBe(false);
    d.error('watcher', ops.kvPut({ key: 'k', value: bytes('v') }), 'READ_ONLY');
  });

  it('a removed observer registered again as a full agent may write', () => {
    const d = new Driver({ observers: ['erin'] });
    pass(d, 'rm', actions.removeAgent('erin'));
    d.batch();
    pass(d, 'back', actions.registerAgent({ joinStatement: joinOf('erin', 'erin#2') }));
    d.batch();
    expect(viewOf(d, 'erin')?.observer).toBe(false);
    d.ok('kv', 'erin', ops.kvPut({ key: 'erin/k', value: bytes('v') }));
  });

  it('survives snapshot and restore', () => {
    const d = new Driver({ observers: ['erin'] });
    d.batch(1);
    const copy = new CoordinationStateMachine({ crypto, agents: identities(), limits: { agentsMax: 16 } });
    copy.restore(d.sm.snapshot());
    expect(copy.digest()).toEqual(d.sm.digest());
    const refused = copy.apply(ops.kvPut({ key: 'k', value: bytes('v') }), {
      agent: 'erin',
      requestId: 1,
      sequence: 2,
      timestamp: 1,
    });
    expect(new TextDecoder().decode(refused)).toContain('READ_ONLY');
  });
});

describe('register_agent encoding', () => {
  const join = joinOf('watcher');
  const limits = DEFAULT_COORDINATION_LIMITS;

  it('a full agent keeps the four-element tuple; an observer adds true', () => {
    expect(actionTuple(actions.registerAgent({ joinStatement: join }))).toHaveLength(4);
    const observer = actions.registerAgent({ joinStatement: join, observer: true });
    expect(actionTuple(observer)).toHaveLength(5);
    expect(decodeAction(actionTuple(observer), limits)).toEqual(observer);
  });

  it('refuses a fifth element other than true (one encoding per action)', () => {
    for (const fifth of [false, 1, 'observer', null])
      expect(() => decodeAction(['register_agent', join, 1, [], fifth], limits)).toThrow(/must be true/);
  });
});

describe('onRefused', () => {
  it('is told of each refused ordered operation with its agent and code, not of successes or queries', () => {
    const told: [string, string][] = [];
    const agents = identities(['alice', 'watcher']).map((a) =>
      a.id === 'watcher' ? { ...a, observer: true } : a,
    );
    const sm = new CoordinationStateMachine({
      crypto,
      agents,
      onRefused: (agent, code) => told.push([agent, code]),
    });
    const context = (agent: string, requestId: number) => ({ agent, requestId, sequence: 1, timestamp: 1 });
    sm.apply(ops.kvPut({ key: 'k', value: bytes('v') }), context('alice', 1));
    sm.apply(ops.kvPut({ key: 'k', value: bytes('v') }), context('watcher', 1));
    sm.apply(ops.getProposal({ proposalId: 'none' }), context('alice', 2));
    sm.query(ops.getProposal({ proposalId: 'none' }));
    expect(told).toEqual([
      ['watcher', 'READ_ONLY'],
      ['alice', 'NOT_FOUND'],
    ]);
  });
});
