/**
 * Property: whatever sequence of governance actions and self-service changes runs (most of them
 * refused), the registry keeps its invariants: keys unique across every record's history,
 * intervals non-empty, ordered and non-overlapping with only the last open, bounded records and
 * history, and a council that is non-empty, registered and able to reach its threshold.
 */
import { bytesEqual, toHex } from '@conclave/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AgentView,
  actions,
  CoordinationStateMachine,
  type GovernanceAction,
  ops,
} from '../src/index.ts';
import { crypto, Driver, joinOf } from './support.ts';

const IDS = ['a', 'b', 'c', 'd', 'e', 'f', 'g'] as const;
const LIMITS = { agentsMax: 6, keyHistoryMax: 3 };

type Step =
  | { readonly kind: 'action'; readonly action: GovernanceAction }
  | { readonly kind: 'rotate'; readonly agent: string; readonly key: number }
  | { readonly kind: 'revoke'; readonly agent: string }
  | { readonly kind: 'batch' };

const id = fc.constantFrom(...IDS);
const keyIndex = fc.integer({ min: 0, max: 4 });
const keyName = (agent: string, key: number) => (key === 0 ? agent : `${agent}#${key}`);

const action: fc.Arbitrary<GovernanceAction> = fc.oneof(
  fc
    .tuple(id, id, keyIndex, fc.integer({ min: 1, max: 3 }))
    .map(([agent, keyOwner, key, weight]) =>
      actions.registerAgent({ joinStatement: joinOf(agent, keyName(keyOwner, key)), weight }),
    ),
  id.map((agent) => actions.removeAgent(agent)),
  fc
    .tuple(id, id, keyIndex)
    .map(([agent, keyOwner, key]) => actions.rotateAgentKey(agent, joinOf(agent, keyName(keyOwner, key)))),
  fc
    .tuple(id, fc.integer({ min: 1, max: 3 }))
    .map(([agent, weight]) => actions.setAgentWeight(agent, weight)),
  fc
    .tuple(fc.subarray([...IDS]), fc.integer({ min: 0, max: 4 }))
    .map(([members, t]) => actions.setCouncil(members, t)),
);

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: action.map((a) => ({ kind: 'action' as const, action: a })), weight: 4 },
  {
    arbitrary: fc.tuple(id, keyIndex).map(([agent, key]) => ({ kind: 'rotate' as const, agent, key })),
    weight: 2,
  },
  { arbitrary: id.map((agent) => ({ kind: 'revoke' as const, agent })), weight: 1 },
  { arbitrary: fc.constant({ kind: 'batch' as const }), weight: 2 },
);

let proposals = 0;

/** Runs one step: an action is proposed by a council member and approved by the whole council, in one batch. */
function run(d: Driver, s: Step): void {
  if (s.kind === 'batch') {
    d.batch(d.time + 1);
    return;
  }
  if (s.kind === 'rotate') {
    d.apply(s.agent, ops.rotateKey({ joinStatement: joinOf(s.agent, keyName(s.agent, s.key)) }));
    return;
  }
  if (s.kind === 'revoke') {
    d.apply(s.agent, ops.revokeSelf());
    return;
  }
  // A fresh batch, so every council member's key in force is its current one.
  d.batch(d.time + 1);
  const { members } = d.queryOk('council', ops.getCouncil()).council;
  const proposalId = `p${proposals++}`;
  const proposed = d.apply(
    members[0] ?? 'a',
    ops.proposeAction({ proposalId, deadline: d.time + 100, action: s.action }),
  );
  if (!proposed.ok) return;
  for (const member of members) d.vote(proposalId, member, 'approve');
}

function checkInvariants(
  agents: readonly AgentView[],
  council: { members: readonly string[]; threshold: number },
) {
  expect(agents.length).toBeLessThanOrEqual(LIMITS.agentsMax);
  const seen = new Set<string>();
  for (const agent of agents) {
    expect(agent.keys.length).toBeGreaterThan(0);
    expect(agent.keys.length).toBeLessThanOrEqual(LIMITS.keyHistoryMax);
    agent.keys.forEach((k, i) => {
      const hex = toHex(k.publicKey);
      expect(seen.has(hex), `key ${hex} appears twice`).toBe(false);
      seen.add(hex);
      if (k.until !== null) expect(k.from).toBeLessThan(k.until);
      else expect(i).toBe(agent.keys.length - 1);
      const next = agent.keys[i + 1];
      if (next !== undefined) expect(k.until ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(next.from);
    });
    const last = agent.keys.at(-1);
    expect(agent.removed).toBe(last?.until !== null);
    if (!agent.removed)
      expect(bytesEqual(agent.publicKey as Uint8Array, last?.publicKey as Uint8Array)).toBe(true);
  }
  expect(council.members.length).toBeGreaterThan(0);
  expect(council.threshold).toBeGreaterThanOrEqual(1);
  expect(council.threshold).toBeLessThanOrEqual(council.members.length);
  for (const member of council.members)
    expect(agents.find((a) => a.id === member)?.removed, `${member} is registered`).toBe(false);
}

describe('registry invariants', () => {
  it('hold after any sequence of actions, rotations and revocations; restore reproduces the state', () => {
    let changes = 0;
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
        const d = new Driver({ names: ['a', 'b', 'c'], limits: LIMITS });
        for (const s of steps) {
          run(d, s);
          checkInvariants(
            d.queryOk('agents', ops.listAgents()).agents,
            d.queryOk('council', ops.getCouncil()).council,
          );
        }
        changes += d.sm.agentKeys().version;
        const copy = new CoordinationStateMachine({ crypto, agents: d.agents, limits: LIMITS });
        copy.restore(d.sm.snapshot());
        expect(copy.digest()).toEqual(d.sm.digest());
        expect(copy.agentKeys()).toEqual(d.sm.agentKeys());
      }),
      { numRuns: 60, seed: 16 },
    );
    // The runs did change the registry (not only refusals): the property is about something.
    expect(changes).toBeGreaterThan(60);
  });
});
