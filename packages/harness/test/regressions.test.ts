import { describe, expect, it } from 'vitest';
import { scenarioFromSeed } from '../src/scenario.ts';
import { runScenario } from '../src/simulation.ts';
import { SUITES } from '../src/suites.ts';

/**
 * Seeds that long sweeps (`pnpm sim --seeds 1000 --start 1000`) found failing, kept so that a fix
 * is proven and stays fixed. (A seed known to fail would be marked `it.fails` with its diagnosis:
 * when the replica is fixed, that test starts failing — turn it into a plain `it`.)
 */
describe('regression seeds', () => {
  // Liveness, n=4 f=1 (fixed): Byzantine replica 1 (primary of view 1, strategy `withhold`) sends its
  // NEW-VIEW only to replica 3. Replica 3 times out and moves to view 2; its VIEW-CHANGE(2) then
  // replaces its VIEW-CHANGE(1) in the others' one-per-replica `#latestViewChange`, so replicas 0
  // and 2 hold only 2 < 2f+1 view-changes for view 1: their timer never arms and only replica 3
  // is above view 1 (< f+1 to join). Replicas 0 and 2 waited in view 1 forever, 3 in view 2.
  // Fixed by counting view-changes for views at or above ours when arming the timer.
  for (const seed of [1500, 1953]) {
    it(`seed ${seed} (n=4, k=1): honest replicas split between two view changes converge`, () => {
      const result = runScenario(scenarioFromSeed(seed, { replicas: 4, byzantine: 1 }));
      expect(result.violations).toEqual([]);
    });
  }

  // Evidence, n=4, no Byzantine replica, perfect network (fixed in core): lying agent mallory-0 signs
  // two bodies A and B with requestId 1 (A to replicas 0, 2, 3; B to replica 1), then request 2.
  // Primary 0 orders A at sequence 14, its own pending request 2 at 16, and the conflict B (which
  // replica 1 forwarded) only at 17: `#propose` packs pending requests before conflicts. When 17
  // executes the agent has moved past 1, so B is skipped without evidence, and the `#conflicts`
  // sweep after 16 had already dropped it at the backups. Nothing ever records the equivocation.
  // Fixed: a replica remembers recently seen signed bodies (admitted or not), holds a conflict as
  // a pair of both bodies, orders pairs ahead of pending requests, re-forwards them until ordered,
  // and execution compares against the agent's recent executed bodies and earlier ones in the batch.
  it('agent equivocation evidence survives the agent moving on to its next request', () => {
    const base = scenarioFromSeed(2, {
      replicas: 4,
      byzantine: 0,
      byzantineAgents: 1,
      honestCrashes: 0,
      agentStrategies: ['equivocate'],
    });
    const result = runScenario({ ...base, partitions: [], faults: base.healedFaults, healTick: 0 });
    expect(result.violations).toEqual([]);
  });

  // Crash, n=4 f=1 (fixed in core): `pnpm sim --suite crash-restart --seed 83`. Shrunk: Byzantine
  // replica 0 crashes and restarts; honest replica 1 is down from tick 25 to 133 and honest
  // replica 2 from 95 to 343. Replica 2 restarts from its durable state at sequence 2 with stable
  // checkpoint 0 (high watermark 16) while 1 and 3 are at stable checkpoint 20, changing to view 2,
  // whose primary is replica 2. On their view-change it becomes primary of view 2 and asserts
  // "primary proposed above the high watermark": an honest replica throws on peer input. The same
  // assertion fires in twins seeds 55, 80, 233 and default seed 216 (a lagging replica elected
  // primary). Fixed: the invariant was stricter than the rule. A new view may begin above the new
  // primary's window; it never proposes there (the check now sits where a batch is proposed) and
  // catches up by state transfer.
  it('a lagging replica that restarted and becomes primary does not crash', () => {
    const options = SUITES['crash-restart'].scenario(83, {});
    expect(runScenario(options).violations).toEqual([]);
  });

  // Liveness, n=4 f=1 (fixed in core): `pnpm sim --suite default --seed 20207`, found by a
  // 400-seed sweep beyond the test range. After partitions healed, honest replica 1 was primary of
  // view 1 and honest replica 2 primary of view 2, each with nobody following, and replica 3 waited
  // alone for view 3: a primary never timed out, and neither saw the f+1 higher view-changes needed
  // to join. Fixed: a primary whose requests or in-flight batches do not execute within the timeout
  // gives up its view, like a backup. Seeds 20193 (liveness) and 20119 (evidence) of crash-restart
  // had the same cause.
  it('no honest replica stays primary of a view nobody follows', () => {
    for (const [suite, seed] of [
      ['default', 20207],
      ['crash-restart', 20193],
      ['crash-restart', 20119],
    ] as const) {
      expect(runScenario(SUITES[suite].scenario(seed, {})).violations, `${suite} ${seed}`).toEqual([]);
    }
  });

  // Evidence, n=4 f=1 (fixed in core): `pnpm sim --suite default --seed 30542`, found by a
  // 1,000-seed sweep beyond the test range. A lying agent sent a second body for one request id
  // to honest replica 3 alone; backups forwarded such a pair only to the primary, here the
  // Byzantine replica 0 (twins), which never ordered it, and the other honest replicas never
  // learned of it. Fixed: the pair goes to every replica, and an unordered pair times the primary
  // out like an overdue request.
  it("a Byzantine primary cannot keep an agent's equivocation out of the log", () => {
    const result = runScenario(SUITES.default.scenario(30542, {}));
    expect(result.violations).toEqual([]);
  });

  // Liveness bound, n=4 f=1 (fixed in core): `pnpm sim --suite crash-restart --seed 248`, found
  // once these runs lasted until they settle. A lying agent's request reached honest replica 0
  // alone and its one forward to the primary was lost; replica 0 timed out every primary in
  // turn, the Byzantine replica added its suspicion (f+1), and the cluster changed views every
  // ~90 ticks for good. Fixed: backups forward unordered requests to the primary every retry.
  it('a request one backup holds does not drive the cluster from view to view', () => {
    const result = runScenario(SUITES['crash-restart'].scenario(248, {}));
    expect(result.violations).toEqual([]);
  });

  // Liveness bound, n=4 f=1 (fixed in core): `pnpm sim --suite default --seed 46`. Byzantine
  // replica 0 asked to return into view 0 while the others were leaving it; honest replica 2
  // acknowledged (so skipped view 1) and the others formed view 1 with replica 0, leaving replica
  // 2 out for good. Fixed: no acknowledgement of a return into a view another replica suspects.
  it('a Byzantine RETURN cannot keep an honest replica out of the view the others form', () => {
    const result = runScenario(SUITES.default.scenario(46, {}));
    expect(result.violations).toEqual([]);
  });
});
