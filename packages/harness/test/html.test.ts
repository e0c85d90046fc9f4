import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  escapeHtml,
  firstViolation,
  namedNodes,
  renderRunHtml,
  traceRun,
  VIOLATION_WINDOW_TICKS_AFTER,
  VIOLATION_WINDOW_TICKS_BEFORE,
} from '../src/html.ts';
import { scenarioFromSeed } from '../src/scenario.ts';
import type { ScenarioResult } from '../src/simulation.ts';
import { nodeName, type RunTrace } from '../src/trace.ts';

interface Traced {
  readonly result: ScenarioResult;
  readonly trace: RunTrace;
}

/** The first seed whose run matches, as simulation.test.ts finds its must-fail seed. */
function findRun(byzantine: number, seeds: number, wanted: (result: ScenarioResult) => boolean): Traced {
  for (let seed = 1; seed <= seeds; seed++) {
    const traced = traceRun(scenarioFromSeed(seed, { replicas: 4, byzantine }));
    if (wanted(traced.result)) return traced;
  }
  throw new Error(`no matching seed among the first ${seeds}`);
}

function expectSelfContained(html: string): void {
  expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
  expect(html.trimEnd().endsWith('</html>')).toBe(true);
  expect(html.match(/<svg[\s>]/g)?.length).toBe(1);
  expect(html.match(/<\/svg>/g)?.length).toBe(1);
  expect(html.match(/<script>/g)?.length).toBe(1);
  expect(html.match(/<\/script>/g)?.length).toBe(1);
  for (const external of ['http://', 'https://', '<script src', '<link', '@import', ' src=', 'url(http']) {
    expect(html).not.toContain(external);
  }
}

function expectLanes(html: string, trace: RunTrace): void {
  const lanes = [...html.matchAll(/<line class="lane[^"]*" data-node="([^"]+)"/g)].map((match) => match[1]);
  expect(lanes).toEqual(trace.nodes.map(nodeName));
}

const failing = findRun(2, 40, (result) => result.violations.some((v) => v.checker === 'agreement'));
const passing = findRun(1, 40, (result) => result.violations.length === 0);

describe('renderRunHtml', () => {
  it('draws a passing run: one self-contained svg, a lane per node, no violation marker', () => {
    const html = renderRunHtml(passing.trace, passing.result);
    expectSelfContained(html);
    expectLanes(html, passing.trace);
    expect(html).not.toContain('id="first-violation"');
    expect(html).toContain('passed');
    expect(html).toContain(`pnpm sim --seed ${passing.result.seed} --replicas 4 --byzantine 1`);
    expect(html).toMatch(/class="msg m-prepare"/);
    expect(html).toMatch(/Lamport \d+, vector \[r0:\d+ r1:\d+ r2:\d+ r3:\d+ agent-0:\d+/);
  });

  it('draws a must-fail run (n=4, 2 Byzantine) with its first violation highlighted', () => {
    const { result, trace } = failing;
    const html = renderRunHtml(trace, result);
    expectSelfContained(html);
    expectLanes(html, trace);
    const first = firstViolation(result.violations);
    if (first === undefined) throw new Error('the must-fail run has no violation');
    expect(html.match(/id="first-violation"/g)?.length).toBe(1);
    expect(html).toContain(`data-tick="${first.tick}"`);
    expect(html).toContain('FAILED (SAFETY)');
    expect(html).toContain(`pnpm sim --seed ${result.seed} --replicas 4 --byzantine 2`);
    for (const violation of result.violations) expect(html).toContain(escapeHtml(violation.message));
    // Every replica the first violation names is outlined.
    const named = namedNodes(first.message, trace.nodes);
    expect(named.size).toBeGreaterThan(0);
    expect(html.match(/class="lane-bg named"/g)?.length).toBe(named.size);
    expect(html).toMatch(/class="exec[^"]* culprit"/);
  });

  it('picks the earliest violation by tick and reads the nodes it names', () => {
    expect(
      firstViolation([
        { checker: 'replicaCrash', message: 'late', tick: 100 },
        { checker: 'liveness', message: 'untimed' },
        { checker: 'agreement', message: 'early', tick: 69 },
      ])?.message,
    ).toBe('early');
    const named = namedNodes(
      'agent agent-1 accepted ... but honest replica 3 executed it; replicas 0 and 2 differ; agent-10 too',
      [0, 1, 2, 3, 'agent-1', 'agent-10', 'agent-2'],
    );
    expect([...named].sort()).toEqual([0, 2, 3, 'agent-1', 'agent-10'].sort());
  });

  it('thins arrows beyond the cap, says so, and keeps every arrow near the first violation', () => {
    const { result, trace } = failing;
    const first = firstViolation(result.violations);
    const focus = first?.tick as number;
    const near = (t1: number, t2: number) =>
      t2 >= focus - VIOLATION_WINDOW_TICKS_BEFORE && t1 <= focus + VIOLATION_WINDOW_TICKS_AFTER;
    const arrows = (html: string) =>
      [...html.matchAll(/<line class="msg[^"]*" data-t="(\d+)"(?: data-t2="(\d+)")?/g)].map((match) => {
        const t1 = Number(match[1]);
        return { t1, t2: match[2] === undefined ? t1 : Number(match[2]) };
      });
    const all = arrows(renderRunHtml(trace, result));
    const nearCount = all.filter((arrow) => near(arrow.t1, arrow.t2)).length;
    expect(all.length).toBeGreaterThan(nearCount + 40);
    const cap = nearCount + 20;
    const thinned = renderRunHtml(trace, result, { arrowsMax: cap });
    expectSelfContained(thinned);
    expect(thinned).toContain(`Thinned: ${cap} of ${all.length} message arrows drawn`);
    const kept = arrows(thinned);
    expect(kept.length).toBe(cap);
    expect(kept.filter((arrow) => near(arrow.t1, arrow.t2)).length).toBe(nearCount);
    expect(renderRunHtml(trace, result)).not.toContain('Thinned');
  });

  it('notes a capped trace', () => {
    const capped = traceRun(failing.result.options, 200);
    const html = renderRunHtml(capped.trace, capped.result);
    expect(html).toContain(`Trace capped at 200 events: ${capped.trace.eventsDropped} later events`);
  });

  it('escapes what it prints', () => {
    const result: ScenarioResult = {
      ...failing.result,
      violations: [{ checker: 'agreement', message: '<script>alert("x")</script> replica 1 & co', tick: 5 }],
    };
    const html = renderRunHtml(failing.trace, result);
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; replica 1 &amp; co');
    expectSelfContained(html);
  });
});

describe('pnpm sim --html', () => {
  const SIM = fileURLToPath(new URL('../src/cli/sim.ts', import.meta.url));
  const sim = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', SIM, ...args], { encoding: 'utf8' });

  it('writes the picture of one seed and prints its path before the summary', () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-html-'));
    try {
      const file = join(dir, 'run.html');
      const seed = String(failing.result.seed);
      const run = sim('--seed', seed, '--replicas', '4', '--byzantine', '2', '--html', file);
      const lines = run.stdout.trimEnd().split('\n');
      expect(run.status).toBe(1);
      expect(lines.at(-1)).toBe('0 passed, 1 failed');
      expect(lines).toContain(`wrote ${file}`);
      const html = readFileSync(file, 'utf8');
      expectSelfContained(html);
      expect(html).toContain('id="first-violation"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses --html without --seed, and without a path', () => {
    expect(sim('--seeds', '2', '--html', 'x.html').status).toBe(2);
    expect(sim('--seed', '1', '--html').status).toBe(2);
  });
});
