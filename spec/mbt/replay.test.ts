/**
 * Model-based tests: traces of the Quint model, generated now with fixed seeds, replayed against
 * real replicas (spec/mbt/replay.ts). Every step must agree: the messages each honest replica
 * sends, and every honest replica's view, log, execution and stable checkpoint.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type ItfTrace, type ReplayResult, replayTrace } from './replay.ts';

const specDirectory = dirname(dirname(fileURLToPath(import.meta.url)));
const root = dirname(specDirectory);
const output = mkdtempSync(join(tmpdir(), 'conclave-mbt-'));

/** Model instances (spec/conclave.qnt) and their Byzantine replicas. */
const INSTANCES = [
  { main: 'n4', byzantine: [0], seed: '0x44', traces: 12 },
  { main: 'n4backup', byzantine: [1], seed: '0x45', traces: 12 },
] as const;
const MBT_STEPS_MAX = 200;
/**
 * The return rule's replay: traces of `quietReturnStep` (shorter: most replays stop early, at a
 * documented difference), and how much of the rule they must exercise.
 */
const RETURN_STEPS_MAX = 100;
const RETURN_INSTANCES = [
  { main: 'n4', byzantine: [0], seed: '0x46', traces: 10, returnsMin: 10, acknowledgedMin: 3 },
  { main: 'n4backup', byzantine: [1], seed: '0x47', traces: 10, returnsMin: 10, acknowledgedMin: 3 },
] as const;

/** `quint run --mbt` with the scheduler that lets messages flow between timeouts. */
function generate(
  main: string,
  seed: string,
  traces: number,
  step = 'quietStep',
  steps = MBT_STEPS_MAX,
): ItfTrace[] {
  const result = spawnSync(
    join(root, 'node_modules', '.bin', 'quint'),
    [
      'run',
      join(specDirectory, 'conclave.qnt'),
      '--main',
      main,
      '--step',
      step,
      '--backend',
      'typescript',
      '--mbt',
      '--seed',
      seed,
      '--max-samples',
      String(traces),
      '--n-traces',
      String(traces),
      '--max-steps',
      String(steps),
      '--verbosity',
      '0',
      '--out-itf',
      join(output, `${main}_${step}_{seq}.itf.json`),
    ],
    { cwd: root, encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`quint run failed: ${result.stdout}${result.stderr}`);
  const files = readdirSync(output).filter((file) => file.startsWith(`${main}_${step}_`));
  return files.map((file) => JSON.parse(readFileSync(join(output, file), 'utf8')) as ItfTrace);
}

afterAll(() => rmSync(output, { recursive: true, force: true }));

describe('model-based tests: Quint traces replayed on real replicas', () => {
  for (const instance of INSTANCES) {
    it(`${instance.main}: ${instance.traces} traces of ${MBT_STEPS_MAX} steps (Byzantine ${instance.byzantine.join(', ')})`, () => {
      const traces = generate(instance.main, instance.seed, instance.traces);
      expect(traces.length).toBe(instance.traces);
      const results: ReplayResult[] = traces.map((trace, index) =>
        replayTrace(trace, {
          byzantine: new Set(instance.byzantine),
          label: `${instance.main} trace ${index}`,
        }),
      );
      const total = (pick: (r: ReplayResult) => Readonly<Record<string, number>>) => {
        const sum: Record<string, number> = {};
        for (const result of results)
          for (const [key, count] of Object.entries(pick(result))) sum[key] = (sum[key] ?? 0) + count;
        return sum;
      };
      const actions = total((r) => r.actions);
      const delivered = total((r) => r.delivered);
      const steps = results.reduce((sum, r) => sum + r.steps, 0);
      const distinct = new Set(
        traces.map((trace) => JSON.stringify(trace.states.map((s) => s['mbt::nondetPicks']))),
      ).size;
      expect(distinct, 'distinct traces').toBeGreaterThan(instance.traces / 2);
      console.log(
        `${instance.main}: ${results.length} traces (${distinct} distinct), ${steps} steps replayed; actions ${JSON.stringify(actions)}; ` +
          `delivered ${JSON.stringify(delivered)}; traces with a stable checkpoint ${results.filter((r) => r.stableCheckpointMax > 0).length}, ` +
          `executing all 4 sequences ${results.filter((r) => r.executedMax === 4).length}, reaching view 2 ${results.filter((r) => r.viewMax === 2).length}`,
      );
      // The traces must exercise what they claim to: every action, every message type, commits,
      // stable checkpoints and completed view changes.
      for (const action of [
        'receiveStep',
        'proposeStep',
        'timeoutStep',
        'byzantineVote',
        'byzantineCheckpoint',
        'byzantineViewChange',
        'byzantineSuspect',
      ])
        expect(actions[action] ?? 0, action).toBeGreaterThan(0);
      for (const tag of ['PrePrepare', 'Prepare', 'Commit', 'Checkpoint', 'ViewChange', 'NewView', 'Suspect'])
        expect(delivered[tag] ?? 0, tag).toBeGreaterThan(0);
      expect(results.some((r) => r.executedMax > 0)).toBe(true);
      expect(results.some((r) => r.stableCheckpointMax > 0)).toBe(true);
      expect(results.some((r) => r.viewMax > 0)).toBe(true);
      if (instance.main === 'n4backup') expect(actions.byzantineNewView ?? 0).toBeGreaterThan(0);
    });
  }

  // The return rule (`quietReturnStep`: `quietStep` plus honest and Byzantine RETURNs and Byzantine
  // RETURN-ACKs). RETURNs are delivered to real replicas (`onReturn`: the RETURN-ACK, the skipped
  // views, compared with the model's after every step); a trace stops early where a documented
  // difference of model and implementation applies (ReplayResult.stopped; see spec/README.md).
  for (const instance of RETURN_INSTANCES) {
    it(`${instance.main}: ${instance.traces} traces of ${RETURN_STEPS_MAX} steps with RETURNs (Byzantine ${instance.byzantine.join(', ')})`, () => {
      const traces = generate(
        instance.main,
        instance.seed,
        instance.traces,
        'quietReturnStep',
        RETURN_STEPS_MAX,
      );
      expect(traces.length).toBe(instance.traces);
      const results = traces.map((trace, index) =>
        replayTrace(trace, {
          byzantine: new Set(instance.byzantine),
          label: `${instance.main} return trace ${index}`,
        }),
      );
      const sum = (pick: (r: ReplayResult) => number) => results.reduce((total, r) => total + pick(r), 0);
      // Actions and deliveries up to where each replay stopped (the actions counted include the stopping one).
      const returnsDelivered = sum((r) => r.delivered.Return ?? 0);
      const acksDelivered = sum((r) => r.delivered.ReturnAck ?? 0);
      const acknowledged = sum((r) => r.returnsAcknowledged);
      const stopped = results.filter((r) => r.stopped !== undefined);
      const reasons: Record<string, number> = {};
      for (const r of stopped) {
        const reason = (r.stopped?.reason ?? '').replace(/.*?: /, '').replace(/\(.*$/, '').trim();
        reasons[reason] = (reasons[reason] ?? 0) + 1;
      }
      console.log(
        `${instance.main} (returns): ${results.length} traces, ${sum((r) => r.stopped?.step ?? r.steps)} steps replayed; ` +
          `actions sendReturnStep ${sum((r) => r.actions.sendReturnStep ?? 0)}, byzantineReturn ${sum((r) => r.actions.byzantineReturn ?? 0)}; ` +
          `RETURNs delivered ${returnsDelivered} (acknowledged ${acknowledged}), RETURN-ACKs delivered ${acksDelivered}; ` +
          `stopped early ${stopped.length}: ${JSON.stringify(reasons)}`,
      );
      expect(returnsDelivered, 'RETURNs delivered').toBeGreaterThanOrEqual(instance.returnsMin);
      expect(acknowledged, 'RETURNs acknowledged (views skipped)').toBeGreaterThanOrEqual(
        instance.acknowledgedMin,
      );
      expect(acksDelivered, 'RETURN-ACKs delivered').toBeGreaterThan(0);
      expect(
        sum((r) => r.actions.sendReturnStep ?? 0),
        'honest RETURNs',
      ).toBeGreaterThan(0);
    });
  }
});
