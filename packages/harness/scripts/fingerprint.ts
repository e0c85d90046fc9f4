/**
 * `pnpm sim:fingerprint`: one SHA-256 per suite over what fixed seeds produce — every result
 * (violations, record, stats, statuses) and every traced event. A refactor that must not change
 * behaviour prints the same lines before and after; `--seeds N` widens the sample.
 */
import { createHash } from 'node:crypto';
import { traceRun } from '../src/html.ts';
import { runScenario } from '../src/simulation.ts';
import { SUITE_NAMES, SUITES, type SuiteName } from '../src/suites.ts';

/** Seeds per suite by default: enough to reach crashes, view changes and state transfer. */
const SEEDS_DEFAULT: Readonly<Record<SuiteName, number>> = {
  default: 24,
  n7: 6,
  'crash-restart': 12,
  agents: 12,
  twins: 12,
  'must-fail': 6,
  fairness: 8,
  liveness: 10,
  membership: 8,
  sealed: 4,
};

/** JSON with bytes as hex, maps and sets as arrays, so equal runs serialise equally. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item instanceof Uint8Array) return `0x${Buffer.from(item).toString('hex')}`;
    if (item instanceof Uint32Array) return Array.from(item);
    if (item instanceof Map) return [...item.entries()];
    if (item instanceof Set) return [...item.values()];
    if (typeof item === 'bigint') return `${item}n`;
    return item;
  });
}

function fingerprintSuite(name: SuiteName, seeds: number): string {
  const hash = createHash('sha256');
  for (let seed = 1; seed <= seeds; seed++) {
    const options = SUITES[name].scenario(seed, {});
    const plain = runScenario(options);
    const { result, trace } = traceRun(options);
    hash.update(canonicalJson({ plain, traced: result, trace }));
  }
  return hash.digest('hex');
}

function seedsFlag(argv: readonly string[]): number | undefined {
  const index = argv.indexOf('--seeds');
  if (index < 0) return undefined;
  const seeds = Number(argv[index + 1]);
  if (!Number.isInteger(seeds) || seeds < 1) throw new Error('--seeds takes a positive integer');
  return seeds;
}

const seeds = seedsFlag(process.argv.slice(2));
for (const name of SUITE_NAMES) {
  const count = seeds ?? SEEDS_DEFAULT[name];
  console.log(`${name.padEnd(14)} seeds 1..${String(count).padEnd(3)} ${fingerprintSuite(name, count)}`);
}
