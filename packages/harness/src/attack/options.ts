/** The options of `pnpm attack`; bad ones throw AttackUsageError with a one-line message. */
import { parseArgs } from 'node:util';
import { ATTACKS } from './catalog.ts';

export const ATTACK_DURATION_S_DEFAULT = 10;
export const ATTACK_DURATION_S_MAX = 600;
export const ATTACK_RUNS_MAX = 9;
/** The baseline window is half the attack window, at least this long. */
const BASELINE_S_MIN = 2;

export interface AttackOptions {
  readonly only: readonly string[];
  readonly durationS: number;
  readonly baselineS: number;
  /** Times each attack is measured, each on a fresh cluster; judged on the median run. */
  readonly runs: number;
  readonly json: boolean;
  /** Run the daemons from the TypeScript sources (tsx) instead of a bundle built for this run. */
  readonly source: boolean;
  readonly help: boolean;
}

export const ATTACK_USAGE = `pnpm attack [options]   each attack against a fresh cluster of four real daemons while an honest agent writes

  --only NAME[,NAME]  run only these attacks (${ATTACKS.map((a) => a.name).join(', ')})
  --duration S        seconds of each attack window (default ${ATTACK_DURATION_S_DEFAULT}); the baseline is half, at least ${BASELINE_S_MIN} s
  --runs N            measure each attack N times (default 1, at most ${ATTACK_RUNS_MAX}): speed and memory
                      are judged on the median run, everything else must hold in every run
  --json              also print every row as one JSON line before the summary line
  --source            run the daemons from the TypeScript sources instead of a bundle
  --help              this text

Exit code 0 when every attack passes, 1 when one fails, 2 when a cluster cannot be set up.
Criteria and details: docs/commands.md (pnpm attack).`;

export class AttackUsageError extends Error {
  readonly code = 'ATTACK_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'AttackUsageError';
  }
}

export function parseAttackArgs(argv: readonly string[]): AttackOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        only: { type: 'string' },
        duration: { type: 'string' },
        runs: { type: 'string' },
        json: { type: 'boolean' },
        source: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new AttackUsageError(
      `${error instanceof Error ? error.message.split('\n')[0] : String(error)} (see --help)`,
    );
  }
  const only = typeof values.only === 'string' ? values.only.split(',').filter((n) => n !== '') : [];
  const unknown = only.filter((name) => !ATTACKS.some((a) => a.name === name));
  if (unknown.length > 0)
    throw new AttackUsageError(
      `--only: unknown attack ${unknown.join(', ')} (known: ${ATTACKS.map((a) => a.name).join(', ')})`,
    );
  const durationText = values.duration as string | undefined;
  const durationS = durationText === undefined ? ATTACK_DURATION_S_DEFAULT : Number(durationText);
  if (!/^\d+(\.\d+)?$/.test(durationText ?? '1') || !(durationS > 0) || durationS > ATTACK_DURATION_S_MAX)
    throw new AttackUsageError(
      `--duration takes seconds above 0 and at most ${ATTACK_DURATION_S_MAX}, got ${JSON.stringify(durationText)}`,
    );
  const runsText = values.runs as string | undefined;
  const runs = runsText === undefined ? 1 : Number(runsText);
  if (!/^\d+$/.test(runsText ?? '1') || runs < 1 || runs > ATTACK_RUNS_MAX)
    throw new AttackUsageError(
      `--runs takes a whole number from 1 to ${ATTACK_RUNS_MAX}, got ${JSON.stringify(runsText)}`,
    );
  return {
    only,
    durationS,
    baselineS: Math.max(BASELINE_S_MIN, durationS / 2),
    runs,
    json: values.json === true,
    source: values.source === true,
    help: values.help === true,
  };
}
