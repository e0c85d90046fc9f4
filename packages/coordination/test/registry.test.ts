/**
 * The registry seen from agents and verifiers: self-service rotate_key and revoke_self,
 * agentKeys() versions, key history through list_agents and keyInForce, evidence across a
 * rotation, snapshot/restore and determinism with registry changes.
 */
import { bytesEqual, type RequestEquivocation } from '@conclave/core';
import { describe, expect, it } from 'vitest';
import {
  actions,
  CoordinationStateMachine,
  decodeResult,
  type GovernanceAction,
  keyInForce,
  ops,
  verifyEvidence,
} from '../src/index.ts';
import { crypto, Driver, identities, joinOf, keyPairOf } from './support.ts';

const DEADLINE = 1_000;

function pass(d: Driver, proposalId: string, action: GovernanceAction): void {
  d.ok('proposal', 'alice', ops.proposeAction({ proposalId, deadline: DEADLINE, action }));
  for (const voter of ['alice', 'bob', 'carol']) d.vote(proposalId, voter, 'approve');
}

const agentsOf = (d: Driver) => d.queryOk('agents', ops.listAgents()).agents;

describe('rotate_key', () => {
  it("replaces the signer's key from the next sequence; the old key stays in its history", () => {
    const d = new Driver();
    d.batch();
    const version = d.sm.agentKeys().version;
    const result = d.ok('agent', 'bob', ops.rotateKey({ joinStatement: joinOf('bob', 'bob#2') }));
    const at = d.sequence;
    expect(result.effectiveFrom).toBe(at + 1);
    expect(result.agent.publicKey).toEqual(keyPairOf('bob#2').publicKey);
    expect(d.sm.agentKeys().version).toBeGreaterThan(version);
    expect(d.sm.agentKeys().keys.get('bob')).toEqual(keyPairOf('bob#2').publicKey);
    const history = agentsOf(d);
    expect(keyInForce(history, 'bob', at)).toEqual(keyPairOf('bob').publicKey);
    expect(keyInForce(history, 'bob', at + 1)).toEqual(keyPairOf('bob#2').publicKey);
    expect(keyInForce(history, 'bob', at + 1000)).toEqual(keyPairOf('bob#2').publicKey);
    expect(keyInForce(history, 'nobody', at)).toBeUndefined();
  });

  it('rotating twice in one sequence keeps only the last new key (the first was never in force)', () => {
    const d = new Driver();
    d.batch();
    d.ok('agent', 'bob', ops.rotateKey({ joinStatement: joinOf('bob', 'bob#2') }));
    d.ok('agent', 'bob', ops.rotateKey({ joinStatement: joinOf('bob', 'bob#3') }));
    const bob = agentsOf(d).find((a) => a.id === 'bob');
    expect(bob?.keys.map((k) => [k.from, k.until])).toEqual([
      [0, d.sequence + 1],
      [d.sequence + 1, null],
    ]);
    expect(bob?.publicKey).toEqual(keyPairOf('bob#3').publicKey);
  });

  it.each([
    ['a statement for another id', () => joinOf('carol', 'bob#2'), 'INVALID_JOIN'],
    ['a statement without proof of possession', () => joinOf('bob', 'bob#2', 'bob'), 'INVALID_JOIN'],
    ["another agent's key", () => joinOf('bob', 'alice'), 'KEY_IN_USE'],
    ['its own current key', () => joinOf('bob'), 'KEY_IN_USE'],
  ])('refuses %s', (_name, statement, code) => {
    const d = new Driver();
    d.error('bob', ops.rotateKey({ joinStatement: statement() }), code);
  });

  it('refuses going back to a key the agent used before', () => {
    const d = new Driver();
    d.ok('agent', 'bob', ops.rotateKey({ joinStatement: joinOf('bob', 'bob#2') }));
    d.batch();
    d.error('bob', ops.rotateKey({ joinStatement: joinOf('bob', 'bob') }), 'KEY_IN_USE');
  });
});

describe('revoke_self', () => {
  it('removes the signer from the next sequence, and from the council', () => {
    const d = new Driver();
    d.batch();
    const result = d.ok('agent', 'erin', ops.revokeSelf());
    expect(result.agent).toMatchObject({ removed: true, publicKey: null, council: false });
    // A second request in the same sequence still runs (core accepted it), but there is nothing left to revoke.
    d.error('erin', ops.revokeSelf(), 'UNKNOWN_AGENT');
    d.error('erin', ops.rotateKey({ joinStatement: joinOf('erin', 'erin#2') }), 'UNKNOWN_AGENT');
    expect(d.sm.agentKeys().keys.has('erin')).toBe(false);
    d.batch();
    d.error('erin', ops.kvGet({ key: 'k' }), 'FORBIDDEN');
    expect(d.queryOk('council', ops.getCouncil()).council.members).not.toContain('erin');
  });

  it('is refused when the council would be left unable to reach its threshold', () => {
    const d = new Driver({ council: { members: ['alice', 'bob'], threshold: 2 } });
    d.error('alice', ops.revokeSelf(), 'INVALID_ACTION');
    // Not a member: leaving is always allowed.
    d.ok('agent', 'carol', ops.revokeSelf());
  });
});

describe('agentKeys', () => {
  it('is the genesis keys at version 0, the same object until a change, a new version after each', () => {
    const d = new Driver();
    const genesis = d.sm.agentKeys();
    expect(genesis.version).toBe(0);
    expect([...genesis.keys.entries()]).toEqual(identities().map((a) => [a.id, a.publicKey]));
    d.batch();
    d.ok('kv', 'alice', ops.kvPut({ key: 'k', value: new Uint8Array(1) }));
    expect(d.sm.agentKeys()).toBe(genesis);
    pass(d, 'w', actions.setAgentWeight('bob', 2));
    const weighted = d.sm.agentKeys();
    expect(weighted.version).toBe(1);
    d.ok('agent', 'bob', ops.rotateKey({ joinStatement: joinOf('bob', 'bob#2') }));
    expect(d.sm.agentKeys().version).toBe(2);
    d.ok('agent', 'erin', ops.revokeSelf());
    expect(d.sm.agentKeys().version).toBe(3);
    expect([...d.sm.agentKeys().keys.keys()]).toEqual(['alice', 'bob', 'carol', 'dave']);
  });
});

describe('evidence and receipts across a rotation', () => {
  it('ballot equivocation across a rotation names both keys and verifies against the key history', () => {
    const d = new Driver();
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
        ],
        deadline: DEADLINE,
      }),
    );
    d.vote('p', 'bob', 'approve');
    d.ok('agent', 'bob', ops.rotateKey({ joinStatement: joinOf('bob', 'bob#2') }));
    d.batch();
    d.error('bob', d.voteOp({ proposalId: 'p', agent: 'bob', choice: 'reject' }, 'bob#2'), 'EQUIVOCATION');
    const [evidence] = d.queryOk('evidence', ops.listEvidence()).evidence;
    expect(evidence?.keys).toEqual([keyPairOf('bob').publicKey, keyPairOf('bob#2').publicKey]);
    if (evidence === undefined) throw new Error('no evidence');
    expect(verifyEvidence(evidence, agentsOf(d), crypto)).toEqual({ ok: true });
    // The current identity alone no longer covers the first ballot.
    const current = [{ id: 'bob', publicKey: keyPairOf('bob#2').publicKey }];
    expect(verifyEvidence(evidence, current, crypto).ok).toBe(false);
  });

  it('a request equivocation reported after a rotation is checked against the old key', () => {
    const d = new Driver();
    d.batch();
    const first = d.signedRequest('bob', 7, ops.kvGet({ key: 'a' }));
    const second = d.signedRequest('bob', 7, ops.kvGet({ key: 'b' }));
    d.ok('agent', 'bob', ops.rotateKey({ joinStatement: joinOf('bob', 'bob#2') }));
    d.batch();
    const report: RequestEquivocation = { agent: 'bob', requestId: 7, first, second };
    d.sm.onEquivocation(report, { sequence: d.sequence, timestamp: d.time });
    const [evidence] = d.queryOk('evidence', ops.listEvidence()).evidence;
    expect(evidence).toMatchObject({ kind: 'request', agent: 'bob', requestId: 7 });
    expect(evidence?.keys.every((k) => bytesEqual(k, keyPairOf('bob').publicKey))).toBe(true);
  });

  it('a ballot records the key it was checked against', () => {
    const d = new Driver();
    d.ok(
      'proposal',
      'alice',
      ops.proposeAction({ proposalId: 'a', deadline: DEADLINE, action: actions.setAgentWeight('bob', 2) }),
    );
    d.vote('a', 'bob', 'approve');
    const ballot = d.queryOk('ballot', ops.getBallot({ proposalId: 'a', agent: 'bob' }));
    expect(ballot.publicKey).toEqual(keyPairOf('bob').publicKey);
    expect(ballot.keyFrom).toBe(0);
  });
});

/** The same registry changes on a driver; used for restore and determinism. */
function churn(d: Driver): void {
  d.batch(5);
  pass(
    d,
    'join',
    actions.registerAgent({ joinStatement: joinOf('frank'), weight: 2, quotas: { locksPerAgentMax: 2 } }),
  );
  d.ok('agent', 'bob', ops.rotateKey({ joinStatement: joinOf('bob', 'bob#2') }));
  d.batch(6);
  d.ok('agent', 'erin', ops.revokeSelf());
  pass(d, 'council', actions.setCouncil(['alice', 'carol', 'frank'], 2));
  d.batch(7);
  d.ok('kv', 'frank', ops.kvPut({ key: 'frank/x', value: new Uint8Array(3) }));
}

describe('snapshot and determinism', () => {
  it('restore preserves registry, history and council (digest equal, agentKeys equal)', () => {
    const d = new Driver();
    churn(d);
    const copy = new CoordinationStateMachine({ crypto, agents: identities(), limits: { agentsMax: 16 } });
    copy.restore(d.sm.snapshot());
    expect(copy.digest()).toEqual(d.sm.digest());
    expect(copy.agentKeys()).toEqual(d.sm.agentKeys());
    for (const op of [ops.listAgents(), ops.getCouncil(), ops.getProposal({ proposalId: 'join' })])
      expect(decodeResult(copy.query(op))).toEqual(d.query(op));
    expect(copy.snapshot()).toEqual(d.sm.snapshot());
  });

  it('two machines given the same operations reach the same digest', () => {
    const a = new Driver();
    const b = new Driver();
    churn(a);
    churn(b);
    expect(a.sm.digest()).toEqual(b.sm.digest());
    expect(a.sm.agentKeys()).toEqual(b.sm.agentKeys());
  });
});
