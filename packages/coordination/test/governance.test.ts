/**
 * Governance actions: proposed by council members, voted by the council, executed atomically on
 * approval, with every refusal code; and the registry changes they make (in force from the next
 * sequence, visible through agentKeys and list_agents).
 */
import { encodeCanonical } from '@conclave/core';
import { describe, expect, it } from 'vitest';
import {
  actions,
  CoordinationConfigError,
  CoordinationStateMachine,
  type GovernanceAction,
  ops,
} from '../src/index.ts';
import { crypto, Driver, identities, joinOf, keyPairOf } from './support.ts';

const DEADLINE = 1_000;

function proposeAction(d: Driver, proposer: string, proposalId: string, action: GovernanceAction) {
  return d.apply(proposer, ops.proposeAction({ proposalId, deadline: DEADLINE, action }));
}

/** Proposes `action` from alice and has `voters` approve it, in the current batch. */
function pass(d: Driver, proposalId: string, action: GovernanceAction, voters = ['alice', 'bob', 'carol']) {
  const proposed = proposeAction(d, 'alice', proposalId, action);
  if (!proposed.ok) throw new Error(`${proposed.code}: ${proposed.message}`);
  for (const voter of voters) d.vote(proposalId, voter, 'approve');
  return d.queryOk('proposal', ops.getProposal({ proposalId })).proposal;
}

const agentsOf = (d: Driver) => d.queryOk('agents', ops.listAgents()).agents;
const agentOf = (d: Driver, id: string) => agentsOf(d).find((a) => a.id === id);

describe('action proposals', () => {
  it('take the council as voters and its threshold as the approving weight', () => {
    const d = new Driver();
    const result = d.ok(
      'proposal',
      'alice',
      ops.proposeAction({ proposalId: 'a1', deadline: DEADLINE, action: actions.removeAgent('erin') }),
    );
    const proposal = result.proposal;
    expect(proposal.rule).toEqual({ kind: 'weighted', approveWeight: 3 });
    expect(proposal.voters.map((v) => v.agent)).toEqual(['alice', 'bob', 'carol', 'dave', 'erin']);
    expect(proposal.action).toEqual({ kind: 'remove_agent', agent: 'erin' });
    expect(proposal.actionOutcome).toBeNull();
    expect(d.queryOk('council', ops.getCouncil()).council).toEqual({
      members: ['alice', 'bob', 'carol', 'dave', 'erin'],
      threshold: 3,
    });
  });

  it('register_agent: executes on approval, exactly once, in force from the next sequence', () => {
    const d = new Driver();
    d.batch(10);
    const before = d.sm.agentKeys();
    expect(
      proposeAction(
        d,
        'alice',
        'join-frank',
        actions.registerAgent({ joinStatement: joinOf('frank'), weight: 2 }),
      ).ok,
    ).toBe(true);
    d.vote('join-frank', 'alice', 'approve');
    d.vote('join-frank', 'bob', 'approve');
    expect(d.sm.agentKeys()).toBe(before);
    d.vote('join-frank', 'carol', 'approve');
    const approvedAt = d.sequence;
    const proposal = d.queryOk('proposal', ops.getProposal({ proposalId: 'join-frank' })).proposal;
    expect(proposal.status).toBe('approved');
    expect(proposal.actionOutcome).toEqual({
      status: 'executed',
      at: { sequence: approvedAt, timestamp: 10 },
      code: null,
      message: null,
    });
    const after = d.sm.agentKeys();
    expect(after.version).toBeGreaterThan(before.version);
    expect(after.keys.get('frank')).toEqual(keyPairOf('frank').publicKey);
    expect([...after.keys.keys()].sort()).toEqual(['alice', 'bob', 'carol', 'dave', 'erin', 'frank']);
    // Not in force during the sequence that registered it.
    d.error('frank', ops.kvPut({ key: 'k', value: new Uint8Array(1) }), 'FORBIDDEN');
    // A further ballot does not run the action again.
    expect(d.vote('join-frank', 'dave', 'approve')).toMatchObject({ ok: false, code: 'CLOSED' });
    expect(d.sm.agentKeys()).toBe(after);
    d.batch();
    d.ok('kv', 'frank', ops.kvPut({ key: 'k', value: new Uint8Array(1) }));
    expect(agentOf(d, 'frank')).toEqual({
      id: 'frank',
      publicKey: keyPairOf('frank').publicKey,
      removed: false,
      weight: 2,
      quotas: {},
      council: false,
      observer: false,
      keys: [{ publicKey: keyPairOf('frank').publicKey, from: approvedAt + 1, until: null }],
    });
    const events = d.queryOk('events', ops.events({ fromSequence: approvedAt })).events;
    expect(events.filter((e) => e.kind === 'registry_changed')).toMatchObject([
      { change: 'register_agent', agent: 'frank', proposalId: 'join-frank', effectiveFrom: approvedAt + 1 },
    ]);
  });

  it('remove_agent: the agent keeps its requests this sequence, is refused from the next, and leaves the council', () => {
    const d = new Driver();
    pass(d, 'rm-erin', actions.removeAgent('erin'));
    const removedAt = d.sequence;
    d.ok('kv', 'erin', ops.kvPut({ key: 'erin/last', value: new Uint8Array(1) }));
    expect(d.sm.agentKeys().keys.has('erin')).toBe(false);
    d.batch();
    d.error('erin', ops.kvGet({ key: 'erin/last' }), 'FORBIDDEN');
    expect(agentOf(d, 'erin')).toMatchObject({
      publicKey: null,
      removed: true,
      council: false,
      keys: [{ publicKey: keyPairOf('erin').publicKey, from: 0, until: removedAt + 1 }],
    });
    expect(d.queryOk('council', ops.getCouncil()).council.members).toEqual(['alice', 'bob', 'carol', 'dave']);
    // What it owned stays (see the README): its key is still readable.
    expect(d.queryOk('kv', ops.kvGet({ key: 'erin/last' })).entry.owner).toBe('erin');
    // Its names stay reserved while its record remains: no one takes them over.
    d.error('alice', ops.kvPut({ key: 'erin/new', value: new Uint8Array(1) }), 'FORBIDDEN');
    d.error('alice', ops.lockAcquire({ name: 'erin/lock', ttl: 5 }), 'FORBIDDEN');
  });

  it('rotate_agent_key: ballots signed with the old key are refused from the next sequence', () => {
    const d = new Driver();
    pass(d, 'rot-bob', actions.rotateAgentKey('bob', joinOf('bob', 'bob#2')));
    const rotatedAt = d.sequence;
    d.ok(
      'proposal',
      'alice',
      ops.propose({
        proposalId: 'p',
        title: '',
        rule: { kind: 'threshold', k: 1 },
        voters: [{ agent: 'bob', weight: 1 }],
        deadline: DEADLINE,
      }),
    );
    // Same sequence: the old key is still the one in force.
    d.batch();
    d.error('bob', d.voteOp({ proposalId: 'p', agent: 'bob', choice: 'approve' }, 'bob'), 'FORGED_BALLOT');
    d.ok('vote', 'bob', d.voteOp({ proposalId: 'p', agent: 'bob', choice: 'approve' }, 'bob#2'));
    const ballot = d.queryOk('ballot', ops.getBallot({ proposalId: 'p', agent: 'bob' }));
    expect(ballot.publicKey).toEqual(keyPairOf('bob#2').publicKey);
    expect(agentOf(d, 'bob')?.keys).toEqual([
      { publicKey: keyPairOf('bob').publicKey, from: 0, until: rotatedAt + 1 },
      { publicKey: keyPairOf('bob#2').publicKey, from: rotatedAt + 1, until: null },
    ]);
    expect(d.sm.agentKeys().keys.get('bob')).toEqual(keyPairOf('bob#2').publicKey);
  });

  it('set_agent_quotas lowers a quota; one above the global limit is INVALID_ACTION', () => {
    const d = new Driver();
    expect(
      proposeAction(d, 'alice', 'q-big', actions.setAgentQuotas('bob', { kvKeysPerAgentMax: 33 })),
    ).toMatchObject({ ok: false, code: 'INVALID_ACTION' });
    pass(d, 'q', actions.setAgentQuotas('bob', { kvKeysPerAgentMax: 1 }));
    d.batch();
    d.ok('kv', 'bob', ops.kvPut({ key: 'b1', value: new Uint8Array(1) }));
    const refused = d.apply('bob', ops.kvPut({ key: 'b2', value: new Uint8Array(1) }));
    expect(refused).toMatchObject({ ok: false, code: 'QUOTA', resource: 'kv-keys' });
    expect(agentOf(d, 'bob')?.quotas).toEqual({ kvKeysPerAgentMax: 1 });
  });

  it('set_agent_weight: weight counts in council actions (alice at 3 reaches the threshold alone)', () => {
    const d = new Driver();
    pass(d, 'w', actions.setAgentWeight('alice', 3));
    d.batch();
    const proposal = pass(d, 'rm', actions.removeAgent('erin'), ['alice']);
    expect(proposal.voters.find((v) => v.agent === 'alice')?.weight).toBe(3);
    expect(proposal.status).toBe('approved');
    expect(proposal.actionOutcome?.status).toBe('executed');
  });

  it('set_council: only the new members propose and vote actions', () => {
    const d = new Driver();
    proposeAction(d, 'carol', 'pending', actions.removeAgent('erin'));
    pass(d, 'c', actions.setCouncil(['alice', 'bob'], 2));
    expect(d.queryOk('council', ops.getCouncil()).council).toEqual({
      members: ['alice', 'bob'],
      threshold: 2,
    });
    d.batch();
    expect(proposeAction(d, 'carol', 'c2', actions.removeAgent('dave'))).toMatchObject({
      ok: false,
      code: 'NOT_COUNCIL',
    });
    // carol was a voter of an action proposed before, but is no longer on the council.
    expect(d.vote('pending', 'carol', 'approve')).toMatchObject({ ok: false, code: 'NOT_COUNCIL' });
    expect(agentOf(d, 'carol')?.council).toBe(false);
    expect(agentOf(d, 'bob')?.council).toBe(true);
  });

  it('an action that no longer holds when approved fails, and its outcome says why', () => {
    const d = new Driver();
    proposeAction(d, 'alice', 'first', actions.registerAgent({ joinStatement: joinOf('frank') }));
    proposeAction(d, 'bob', 'second', actions.registerAgent({ joinStatement: joinOf('frank') }));
    for (const v of ['alice', 'bob', 'carol']) d.vote('first', v, 'approve');
    const version = d.sm.agentKeys().version;
    for (const v of ['alice', 'bob', 'carol']) d.vote('second', v, 'approve');
    const second = d.queryOk('proposal', ops.getProposal({ proposalId: 'second' })).proposal;
    expect(second.status).toBe('approved');
    expect(second.actionOutcome).toMatchObject({ status: 'failed', code: 'AGENT_EXISTS' });
    expect(d.sm.agentKeys().version).toBe(version);
    const failed = d
      .queryOk('events', ops.events({ fromSequence: 0 }))
      .events.filter((e) => e.kind === 'action_failed');
    expect(failed).toMatchObject([{ proposalId: 'second', code: 'AGENT_EXISTS' }]);
  });

  it('a rejected action proposal changes nothing', () => {
    const d = new Driver();
    proposeAction(d, 'alice', 'r', actions.removeAgent('erin'));
    for (const v of ['bob', 'carol', 'dave']) d.vote('r', v, 'reject');
    const proposal = d.queryOk('proposal', ops.getProposal({ proposalId: 'r' })).proposal;
    expect(proposal.status).toBe('rejected');
    expect(proposal.actionOutcome).toBeNull();
    expect(d.sm.agentKeys().keys.has('erin')).toBe(true);
  });
});

describe('refusals', () => {
  const council = { members: ['alice', 'bob', 'carol'], threshold: 2 };

  it('NOT_COUNCIL: proposing or voting an action from outside the council', () => {
    const d = new Driver({ council });
    expect(proposeAction(d, 'dave', 'x', actions.removeAgent('erin'))).toMatchObject({
      ok: false,
      code: 'NOT_COUNCIL',
    });
    proposeAction(d, 'alice', 'y', actions.removeAgent('erin'));
    expect(d.vote('y', 'dave', 'approve')).toMatchObject({ ok: false, code: 'NOT_COUNCIL' });
  });

  it.each<[string, () => GovernanceAction, string]>([
    [
      'a join statement not signed by its key',
      () => actions.registerAgent({ joinStatement: joinOf('frank', 'frank', 'mallory') }),
      'INVALID_JOIN',
    ],
    [
      "someone else's key without its proof",
      () => actions.registerAgent({ joinStatement: joinOf('mallory', 'bob', 'mallory') }),
      'INVALID_JOIN',
    ],
    [
      'bytes that are no join statement',
      () => actions.registerAgent({ joinStatement: new Uint8Array([1, 2, 3]) }),
      'INVALID_JOIN',
    ],
    [
      'a statement for another id',
      () => actions.rotateAgentKey('bob', joinOf('carol', 'bob#2')),
      'INVALID_JOIN',
    ],
    [
      'an id registered already',
      () => actions.registerAgent({ joinStatement: joinOf('bob', 'bob#2') }),
      'AGENT_EXISTS',
    ],
    ['removing an unknown agent', () => actions.removeAgent('nobody'), 'UNKNOWN_AGENT'],
    ['rotating an unknown agent', () => actions.rotateAgentKey('nobody', joinOf('nobody')), 'UNKNOWN_AGENT'],
    ['weighting an unknown agent', () => actions.setAgentWeight('nobody', 2), 'UNKNOWN_AGENT'],
    ['a council with an unknown member', () => actions.setCouncil(['alice', 'nobody'], 1), 'UNKNOWN_AGENT'],
    [
      'a key registered to another agent',
      () => actions.registerAgent({ joinStatement: joinOf('frank', 'bob') }),
      'KEY_IN_USE',
    ],
    [
      "rotating to another agent's key",
      () => actions.rotateAgentKey('bob', joinOf('bob', 'carol')),
      'KEY_IN_USE',
    ],
    ['rotating to the current key', () => actions.rotateAgentKey('bob', joinOf('bob')), 'KEY_IN_USE'],
    ['an empty council', () => actions.setCouncil([], 1), 'INVALID_ACTION'],
    ['a zero threshold', () => actions.setCouncil(['alice'], 0), 'INVALID_ACTION'],
    ['a threshold above the members', () => actions.setCouncil(['alice', 'bob'], 3), 'INVALID_ACTION'],
    [
      'a quota above the global limit',
      () => actions.registerAgent({ joinStatement: joinOf('frank'), quotas: { locksPerAgentMax: 9 } }),
      'INVALID_ACTION',
    ],
    ['removing a member the council needs', () => actions.removeAgent('alice'), 'INVALID_ACTION'],
  ])('%s is refused when proposed', (_name, action, code) => {
    const d = new Driver({ council: { members: ['alice', 'bob'], threshold: 2 } });
    expect(proposeAction(d, 'alice', 'x', action())).toMatchObject({ ok: false, code });
  });

  it('KEY_IN_USE: a key used before by anyone, even a removed agent, is never registered again', () => {
    const d = new Driver();
    pass(d, 'rm', actions.removeAgent('erin'));
    d.batch();
    expect(
      proposeAction(d, 'alice', 'x', actions.registerAgent({ joinStatement: joinOf('frank', 'erin') })),
    ).toMatchObject({ ok: false, code: 'KEY_IN_USE' });
    // A removed id may come back, with a new key; its history continues.
    pass(d, 'back', actions.registerAgent({ joinStatement: joinOf('erin', 'erin#2') }));
    expect(agentOf(d, 'erin')?.keys.map((k) => k.publicKey)).toEqual([
      keyPairOf('erin').publicKey,
      keyPairOf('erin#2').publicKey,
    ]);
  });

  it('REGISTRY_FULL: agentsMax records, removed ones included', () => {
    const d = new Driver({ limits: { agentsMax: 5 } });
    expect(
      proposeAction(d, 'alice', 'x', actions.registerAgent({ joinStatement: joinOf('frank') })),
    ).toMatchObject({ ok: false, code: 'REGISTRY_FULL' });
    pass(d, 'rm', actions.removeAgent('erin'));
    d.batch();
    expect(
      proposeAction(d, 'alice', 'y', actions.registerAgent({ joinStatement: joinOf('frank') })),
    ).toMatchObject({ ok: false, code: 'REGISTRY_FULL' });
  });

  it('INVALID: malformed actions are refused by the decoder', () => {
    const d = new Driver();
    const bad = encodeCanonical(['propose_action', 'x', '', DEADLINE, ['launch_missiles']]);
    d.error('alice', bad, 'INVALID');
    const unsorted = encodeCanonical([
      'propose_action',
      'x',
      '',
      DEADLINE,
      [
        'set_agent_quotas',
        'bob',
        [
          ['tasksPerAgentMax', 1],
          ['locksPerAgentMax', 1],
        ],
      ],
    ]);
    d.error('alice', unsorted, 'INVALID');
    const weightless = encodeCanonical(['propose_action', 'x', '', DEADLINE, ['set_agent_weight', 'bob', 0]]);
    d.error('alice', weightless, 'INVALID');
  });
});

describe('genesis council and weights', () => {
  it('is validated: members registered, threshold in 1..members', () => {
    const agents = identities(['a', 'b']);
    const make = (council: { members: string[]; threshold: number }) => () =>
      new CoordinationStateMachine({ crypto, agents, council });
    expect(make({ members: ['a', 'x'], threshold: 1 })).toThrow(CoordinationConfigError);
    expect(make({ members: ['a'], threshold: 0 })).toThrow(/threshold/);
    expect(make({ members: ['a', 'b'], threshold: 3 })).toThrow(/threshold/);
    expect(make({ members: [], threshold: 1 })).toThrow(/empty/);
    expect(make({ members: ['b', 'a'], threshold: 2 })).not.toThrow();
    expect(() => new CoordinationStateMachine({ crypto, agents: [{ ...agents[0]!, weight: 0 }] })).toThrow(
      /weight/,
    );
  });

  it('defaults to every genesis agent with a majority threshold; weights come from the agents', () => {
    const d = new Driver({ names: ['a', 'b', 'c', 'd'], weights: { b: 4 } });
    expect(d.queryOk('council', ops.getCouncil()).council).toEqual({
      members: ['a', 'b', 'c', 'd'],
      threshold: 3,
    });
    expect(agentOf(d, 'b')?.weight).toBe(4);
  });
});
