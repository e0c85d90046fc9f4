/**
 * The attacker's process: `node --import tsx attacker-process.ts DIR AGENT HONEST REPLICAS NAME
 * DURATION_MS`. Runs one attack until DURATION_MS has passed or SIGTERM arrives, and tells the
 * runner what it did as JSON lines on stdout: {"event":"ready"}, {"event":"exhausted",
 * "reason"}, {"event":"stats","stats":{…}} (every STATS_EVERY_MS and at the end).
 */
import type { AttackContext } from './attacks/context.ts';
import { attackNamed } from './catalog.ts';

const STATS_EVERY_MS = 500;
/** After the attack's own time is up, how long it may take to wind down before exiting anyway. */
const WIND_DOWN_MS = 2_000;

function emit(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(argv: readonly string[]): Promise<void> {
  const [dir, agent, honestAgent, replicasText, name, durationText] = argv;
  const entry = name === undefined ? undefined : attackNamed(name);
  const durationMs = Number(durationText);
  if (dir === undefined || agent === undefined || honestAgent === undefined || entry === undefined)
    throw new Error(
      `usage: attacker-process DIR AGENT HONEST REPLICAS NAME DURATION_MS (got ${argv.join(' ')})`,
    );
  if (!Number.isFinite(durationMs) || durationMs <= 0) throw new Error(`bad DURATION_MS ${durationText}`);
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), durationMs);
  process.once('SIGTERM', () => stop.abort());
  // The runner holds our stdin: when it goes, however it goes, so do we.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
  const stats: Record<string, number | string> = {};
  let exhaustedSent = false;
  const context: AttackContext = {
    dir,
    agent,
    honestAgent,
    replicas: Number(replicasText),
    signal: stop.signal,
    count: (key, by = 1) => {
      stats[key] = ((stats[key] as number | undefined) ?? 0) + by;
    },
    set: (key, value) => {
      stats[key] = value;
    },
    exhausted: (reason) => {
      if (exhaustedSent) return;
      exhaustedSent = true;
      emit({ event: 'exhausted', reason });
    },
    flush: () => emit({ event: 'stats', stats }),
  };
  const reporter = setInterval(context.flush, STATS_EVERY_MS);
  emit({ event: 'ready' });
  try {
    await entry.run(context);
  } finally {
    stop.abort();
    clearTimeout(timer);
    clearInterval(reporter);
    context.flush();
  }
}

main(process.argv.slice(2)).then(
  () => setTimeout(() => process.exit(0), WIND_DOWN_MS).unref(),
  (error: unknown) => {
    emit({ event: 'error', message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  },
);
