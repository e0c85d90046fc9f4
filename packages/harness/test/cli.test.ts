import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SIM = fileURLToPath(new URL('../src/cli/sim.ts', import.meta.url));

function sim(...args: string[]): { status: number | null; lines: string[]; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', SIM, ...args], { encoding: 'utf8' });
  return { status: run.status, lines: run.stdout.trimEnd().split('\n'), stderr: run.stderr };
}

describe('pnpm sim', () => {
  it('ends with "N passed, M failed" and exits 0 when all pass', () => {
    const { status, lines } = sim('--seeds', '2');
    expect(lines.at(-1)).toBe('2 passed, 0 failed');
    expect(lines.at(-2)).toMatch(/scenarios\/s, \d+ simulated messages\/s, \d+ simulated requests\/s$/);
    // The default suite is held to the random-fault bounds: their figures, then the heal's.
    expect(lines.at(-3)).toMatch(
      /^ {2}random faults \(2 seeds\): stall after the faults median \d+, worst \d+ .*\[bound 360\]/,
    );
    expect(lines.at(-4)).toMatch(
      /^liveness after the heal: longest stall \d+ ticks \(seed \d\); one view after at most \d+ ticks \(seed \d\)/,
    );
    expect(status).toBe(0);
  });

  it('prints each failed seed with its replay command and exits 1', () => {
    const { status, lines } = sim('--replicas', '4', '--byzantine', '2', '--seeds', '3', '--start', '1');
    expect(lines.at(-1)).toMatch(/^\d passed, [1-3] failed$/);
    expect(
      lines.some(
        (line) => line.includes('replay: pnpm sim --suite default --seed') && line.includes('--byzantine 2'),
      ),
    ).toBe(true);
    expect(status).toBe(1);
  });

  it('runs one seed verbosely', () => {
    const { status, lines } = sim('--seed', '3');
    expect(lines[0]).toBe('seed 3: n=4 f=1, 3 agents x 6 requests');
    expect(
      lines.some((line) =>
        /^ {2}liveness from tick \d+: (no stall|longest stall \d+ ticks \(ended at tick \d+\)); honest replicas (shared one view after \d+ ticks|never shared one view by the end)$/.test(
          line,
        ),
      ),
    ).toBe(true);
    expect(lines.at(-1)).toBe('1 passed, 0 failed');
    expect(status).toBe(0);
  });

  it('exits 2 with a clear message on bad flags', () => {
    for (const args of [
      ['--bogus', '1'],
      ['--seeds', 'x'],
      ['--replicas', '3'],
      ['--replicas', '4', '--byzantine', '4'],
      ['--seed', '1', '--seeds', '2'],
    ]) {
      const { status, stderr } = sim(...args);
      expect(status, args.join(' ')).toBe(2);
      expect(stderr).toMatch(/^pnpm sim: /);
    }
  });
});
