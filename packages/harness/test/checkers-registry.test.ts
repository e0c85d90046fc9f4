import { describe, expect, it } from 'vitest';
import { checkRun, isSafetyViolation } from '../src/checkers.ts';
import { checkMembershipOutcomes } from '../src/membership-outcomes.ts';
import type {
  ExecutedRecord,
  ExpectedOutcomeRecord,
  RegistryRecord,
  ReplicaRecord,
  RunRecord,
} from '../src/record.ts';
import { checkKeyValidity, checkRegistryAgreement } from '../src/registry-checkers.ts';
import { registryDigest } from '../src/registry-record.ts';

// A hand-made membership run: agent a rotates from key A1 to A2 at sequence 2 (in force from 3);
// b is removed at sequence 3 (gone from 4). Three honest replicas, one Byzantine.

const GENESIS: RegistryRecord = { a: 'a1'.repeat(16), b: 'b1'.repeat(16) };
const ROTATED: RegistryRecord = { a: 'a2'.repeat(16), b: 'b1'.repeat(16) };
const REMOVED: RegistryRecord = { a: 'a2'.repeat(16) };

/** Sequence → [requests as agent:key, the registry after it when it changed]. */
const LOG: Record<number, { requests: [string, string][]; after?: RegistryRecord }> = {
  1: { requests: [['a', GENESIS.a as string]] },
  2: { requests: [['b', GENESIS.b as string]], after: ROTATED },
  3: { requests: [['a', ROTATED.a as string]], after: REMOVED },
  4: { requests: [['a', ROTATED.a as string]] },
};

function registryAfter(sequence: number): RegistryRecord {
  let registry = GENESIS;
  for (let s = 1; s <= sequence; s++) registry = LOG[s]?.after ?? registry;
  return registry;
}

function entry(sequence: number): ExecutedRecord {
  const log = LOG[sequence] as (typeof LOG)[number];
  return {
    tick: sequence * 10,
    sequence,
    view: 0,
    digest: `d${sequence}`,
    timestamp: sequence,
    via: 'protocol',
    requests: log.requests.map(([agent, publicKey], i) => ({
      agent,
      requestId: sequence * 10 + i,
      result: 'ok',
      publicKey,
    })),
    ...(log.after === undefined ? {} : { agentKeys: log.after }),
    registry: registryDigest(registryAfter(sequence)),
  };
}

function replica(id: number, executed = [1, 2, 3, 4].map(entry)): ReplicaRecord {
  return {
    id,
    honest: true,
    executed,
    final: { lastExecuted: 4, stateDigest: 's4', view: 0, registry: registryDigest(REMOVED) },
  };
}

function run(replicas: ReplicaRecord[], extra: Partial<RunRecord> = {}): RunRecord {
  return {
    replicaCount: 4,
    faultsMax: 1,
    checkpointInterval: 100,
    replicas: [...replicas, { id: 3, honest: false, executed: [] }],
    agents: [],
    created: new Map(),
    batches: new Map(),
    healTick: 0,
    endTick: 100,
    agentsDone: true,
    genesisAgentKeys: GENESIS,
    ...extra,
  };
}

const GOOD = run([replica(0), replica(1), replica(2)]);

/** Replica 1's log with sequence `sequence` replaced. */
function withEntry(sequence: number, change: (e: ExecutedRecord) => ExecutedRecord): RunRecord {
  const executed = [1, 2, 3, 4].map((s) => (s === sequence ? change(entry(s)) : entry(s)));
  return run([replica(0), replica(1, executed), replica(2)]);
}

describe('registry checkers', () => {
  it('pass a good run', () => {
    expect(checkRegistryAgreement(GOOD)).toEqual([]);
    expect(checkKeyValidity(GOOD)).toEqual([]);
  });

  it('registryAgreement fires when one replica holds another registry at a sequence', () => {
    const bad = withEntry(3, (e) => ({ ...e, registry: registryDigest(ROTATED) }));
    const found = checkRegistryAgreement(bad);
    expect(found).toHaveLength(1);
    expect(found[0]?.message).toMatch(/^sequence 3: replica 0's registry is .* but replica 1's is /);
    expect(found.every(isSafetyViolation)).toBe(true);
  });

  it('registryAgreement fires when replicas end at one sequence with different registries', () => {
    const end = { ...replica(1), final: { lastExecuted: 4, stateDigest: 's4', view: 0, registry: 'other' } };
    const found = checkRegistryAgreement(run([replica(0), end, replica(2)]));
    expect(found.map((v) => v.message)).toEqual([
      `replicas 0 and 1 both ended at sequence 4 with registries ${registryDigest(REMOVED)} and other`,
    ]);
  });

  it('keyValidity fires on a request executed under a rotated-out key', () => {
    const bad = withEntry(4, (e) => ({
      ...e,
      requests: [{ agent: 'a', requestId: 40, result: 'ok', publicKey: GENESIS.a as string }],
    }));
    const found = checkKeyValidity(bad);
    expect(found).toHaveLength(1);
    expect(found[0]?.message).toMatch(
      /replica 1 executed a#40 at sequence 4 signed with key a1a1.*key in force there is a2a2/,
    );
    expect(found.every(isSafetyViolation)).toBe(true);
  });

  it('keyValidity fires on a request of a removed agent, and on one executed before its key took effect', () => {
    const removed = withEntry(4, (e) => ({
      ...e,
      requests: [{ agent: 'b', requestId: 41, result: 'ok', publicKey: GENESIS.b as string }],
    }));
    expect(checkKeyValidity(removed)[0]?.message).toMatch(/b#41 .* none \(not registered\)/);
    // The rotation executed at 2 holds from 3: a request under the new key at 2 is too early.
    const early = withEntry(2, (e) => ({
      ...e,
      requests: [{ agent: 'a', requestId: 20, result: 'ok', publicKey: ROTATED.a as string }],
    }));
    expect(checkKeyValidity(early)).toHaveLength(1);
  });

  it('keyValidity fires on a request refused though signed with the key in force, or refused with the wrong code', () => {
    const inForce = withEntry(3, (e) => ({
      ...e,
      refused: [{ agent: 'a', requestId: 31, publicKey: ROTATED.a as string, code: 'REVOKED_KEY' }],
    }));
    expect(checkKeyValidity(inForce)[0]?.message).toMatch(/refused a#31 .* is the key in force/);
    const wrongCode = withEntry(4, (e) => ({
      ...e,
      refused: [{ agent: 'b', requestId: 42, publicKey: GENESIS.b as string, code: 'REVOKED_KEY' }],
    }));
    expect(checkKeyValidity(wrongCode)[0]?.message).toMatch(/calls for UNKNOWN_AGENT/);
    const right = withEntry(4, (e) => ({
      ...e,
      refused: [{ agent: 'a', requestId: 43, publicKey: GENESIS.a as string, code: 'REVOKED_KEY' }],
    }));
    expect(checkKeyValidity(right)).toEqual([]);
  });

  it('keyValidity fires when a replica reports another key than the one its batch on the wire names', () => {
    const batches = new Map([
      [
        'd4',
        {
          digest: 'd4',
          timestamp: 4,
          requests: [{ agent: 'a', requestId: 40, digest: 'r', publicKey: 'ff'.repeat(32) }],
        },
      ],
    ]);
    const found = checkKeyValidity({ ...GOOD, batches });
    expect(found).toHaveLength(3);
    expect(found[0]?.message).toMatch(
      /replica 0 reports a#40 at sequence 4 as signed with key a2a2.*holds it signed with ffff/,
    );
  });

  it('keyValidity reads a change from a replica that jumped past the changing batch', () => {
    // Replicas 0 and 2 skipped sequences 1..3 by state transfer; only replica 1 executed them.
    const jumped = [{ ...entry(4), agentKeys: REMOVED }];
    const record = run([replica(0, jumped), replica(1), replica(2, jumped)]);
    expect(checkKeyValidity(record)).toEqual([]);
    expect(checkRegistryAgreement(record)).toEqual([]);
  });

  it('checkRun runs them', () => {
    const bad = withEntry(4, (e) => ({
      ...e,
      registry: 'x',
      requests: [{ agent: 'a', requestId: 40, result: 'ok', publicKey: GENESIS.a as string }],
    }));
    const checkers = new Set(checkRun(bad).map((v) => v.checker));
    expect(checkers.has('registryAgreement')).toBe(true);
    expect(checkers.has('keyValidity')).toBe(true);
  });
});

describe('membership outcome checker', () => {
  const outcome = (fields: Partial<ExpectedOutcomeRecord>): ExpectedOutcomeRecord => ({
    agent: 'mallory-0',
    signedAs: 'mallory-0',
    requestId: 1,
    label: 'propose without the council',
    honest: false,
    allowed: ['NOT_COUNCIL'],
    ...fields,
  });

  it('fires on an outcome the script does not allow, and only then', () => {
    const record = run([replica(0)], {
      membership: {
        outcomes: [
          outcome({ outcome: 'ok', sequence: 5 }),
          outcome({ outcome: 'NOT_COUNCIL' }),
          outcome({}),
          outcome({ allowed: [], outcome: 'anything' }),
          outcome({
            signedAs: 'agent-2',
            allowed: ['refused:REVOKED_KEY'],
            outcome: 'ok',
            label: 'stolen key',
          }),
        ],
      },
    });
    expect(checkMembershipOutcomes(record).map((v) => v.message)).toEqual([
      'lying mallory-0 "propose without the council" (request 1) got ok at sequence 5, allowed: NOT_COUNCIL',
      'lying mallory-0 (as agent-2) "stolen key" (request 1) got ok at sequence ?, allowed: refused:REVOKED_KEY',
    ]);
    expect(checkRun(record).some((v) => v.checker === 'membership' && isSafetyViolation(v))).toBe(true);
  });
});
