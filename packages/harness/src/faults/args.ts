/** The flags of `pnpm faults`; bad ones throw FaultsUsageError with a one-line message. */
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CHAOS_LIMITS } from '../chaos/chaos-options.ts';
import { FAULT_KINDS, FAULTS_LIMITS, type FaultKind, type FaultsOptions } from './options.ts';

export const FAULTS_USAGE = `usage: pnpm faults [--kinds K,K] [--faults N] [--downtime S] [--pause S] [--seed N] [--replicas n] [--agents a] [--sync full|buffered] [--source] [--json FILE] [--keep]
  --kinds K,K    faults to play (default all): ${FAULT_KINDS.join(', ')}
  --faults N     faults of each kind (default 10), one at a time, the kinds taking turns
  --downtime S   seconds from kill -9 to the restart (default 3)
  --pause S      seconds from SIGSTOP to SIGCONT (default 2)
  --seed N       which backup each backup fault hits (default: random, printed)
  --replicas n   3f+1 replicas (default 4)
  --agents a     agents writing all through the run (default 4)
  --sync MODE    the daemons' --sync: full (default) or buffered
  --source       run the daemons from the TypeScript sources (tsx) instead of a bundle
  --json FILE    also write every fault's record and the per-kind summary to FILE
  --keep         keep the cluster directory (it is always kept when a check fails)
Prints one line per fault and a table per kind against issue 15's targets (PASS/MISS).
Exit 0 when the run completed and its safety checks held, whatever the targets; 1 when a
daemon stopped by itself, a check failed or the run overran its bound; 2 on bad usage.`;

export class FaultsUsageError extends Error {
  readonly code = 'FAULTS_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'FaultsUsageError';
  }
}

export type ParsedArgs =
  | { readonly help: true }
  | {
      readonly help: false;
      readonly options: FaultsOptions;
      /** Run the daemons from the sources instead of building a bundle for the run. */
      readonly source: boolean;
      readonly json: string | undefined;
    };

export function parseFaultsArgs(argv: readonly string[]): ParsedArgs {
  const values = parseFlags(argv);
  if (values.help === true) return { help: true };
  const replicas = wholeNumber(values.replicas, '--replicas', 4);
  if (replicas < 4 || (replicas - 1) % 3 !== 0 || replicas > CHAOS_LIMITS.replicasMax)
    throw new FaultsUsageError(`--replicas takes 3f+1 with f >= 1, at most ${CHAOS_LIMITS.replicasMax}`);
  const agents = wholeNumber(values.agents, '--agents', 4);
  if (agents < 1 || agents > CHAOS_LIMITS.agentsMax)
    throw new FaultsUsageError(`--agents takes 1..${CHAOS_LIMITS.agentsMax}`);
  const faultsPerKind = wholeNumber(values.faults, '--faults', 10);
  if (faultsPerKind < 1 || faultsPerKind > FAULTS_LIMITS.faultsPerKindMax)
    throw new FaultsUsageError(`--faults takes 1..${FAULTS_LIMITS.faultsPerKindMax}`);
  const sync = values.sync ?? 'full';
  if (sync !== 'full' && sync !== 'buffered') throw new FaultsUsageError('--sync takes full or buffered');
  const json = values.json;
  if (json === '') throw new FaultsUsageError('--json takes a file name');
  const options: FaultsOptions = {
    replicas,
    agents,
    kinds: kindsOf(values.kinds),
    faultsPerKind,
    downtimeMs: seconds(values.downtime, '--downtime', 3, FAULTS_LIMITS.downtimeMsMax),
    pauseMs: seconds(values.pause, '--pause', 2, FAULTS_LIMITS.pauseMsMax),
    seed: wholeNumber(values.seed, '--seed', randomInt(1, 2 ** 31)),
    sync,
    keepDirectory: values.keep === true,
  };
  return { help: false, options, source: values.source === true, json };
}

/** The flags as given, before they are checked. */
interface Flags {
  readonly kinds?: string;
  readonly faults?: string;
  readonly downtime?: string;
  readonly pause?: string;
  readonly seed?: string;
  readonly replicas?: string;
  readonly agents?: string;
  readonly sync?: string;
  readonly source?: boolean;
  readonly json?: string;
  readonly keep?: boolean;
  readonly help?: boolean;
}

function parseFlags(argv: readonly string[]): Flags {
  try {
    return parseArgs({
      args: argv.filter((arg) => arg !== '--'),
      strict: true,
      allowPositionals: false,
      options: {
        kinds: { type: 'string' },
        faults: { type: 'string' },
        downtime: { type: 'string' },
        pause: { type: 'string' },
        seed: { type: 'string' },
        replicas: { type: 'string' },
        agents: { type: 'string' },
        sync: { type: 'string' },
        source: { type: 'boolean' },
        json: { type: 'string' },
        keep: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    // node:util's own message names the flag ("Unknown option '--x'", "… argument missing").
    throw new FaultsUsageError((error as Error).message);
  }
}

function kindsOf(value: string | undefined): FaultKind[] {
  if (value === undefined) return [...FAULT_KINDS];
  const names = value.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(FAULT_KINDS as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0)
    throw new FaultsUsageError(
      `--kinds takes some of ${FAULT_KINDS.join(', ')}; got ${JSON.stringify(value)}`,
    );
  return [...new Set(names as FaultKind[])];
}

function wholeNumber(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new FaultsUsageError(`${flag} takes a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Seconds, decimals allowed (`--pause 0.5`), as milliseconds in 1 ms .. maxMs. */
function seconds(value: string | undefined, flag: string, fallbackS: number, maxMs: number): number {
  if (value === undefined) return fallbackS * 1000;
  const ms = /^\d+(\.\d+)?$/.test(value) ? Math.round(Number(value) * 1000) : NaN;
  if (!(ms >= 1 && ms <= maxMs))
    throw new FaultsUsageError(
      `${flag} takes seconds in 0.001..${maxMs / 1000}, got ${JSON.stringify(value)}`,
    );
  return ms;
}
