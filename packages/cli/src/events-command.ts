/**
 * `conclave events watch`: committed events in log order, one line (or one JSON object) each.
 * Bounded: without `--follow` it stops once it has caught up with the log; with `--follow` it
 * waits for new events until `--limit` events were printed, or SIGINT/SIGTERM (Ctrl-C).
 * Pages are quorum reads, like the SDK's `watch`, and a gap (events dropped from the replicas'
 * bounded log before they were read) is an error, never skipped silently.
 */
import { type CoordinationEvent, decodeResult, type EventCursor, ops } from '@conclave/coordination';
import { CliError } from '@conclave/node';
import { AbortedError, ConclaveError, type Coordination, refusalError } from '@conclave/sdk';
import { asAgent, noMoreThan } from './agent-session.ts';
import { integer, print, UsageError, type Values } from './args.ts';

const POLL_MS = 200;

export async function eventsCommand(args: readonly string[], values: Values): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'watch') throw new UsageError('events takes watch');
  noMoreThan(rest, 0);
  const from = values.from === undefined ? undefined : integer(values.from, '--from');
  if (from !== undefined && from < 0) throw new UsageError(`--from takes a sequence ≥ 0, got ${from}`);
  const limit = values.limit === undefined ? undefined : integer(values.limit, '--limit');
  if (limit !== undefined && limit < 1) throw new UsageError(`--limit takes a positive number, got ${limit}`);
  const follow = values.follow === true;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    let printed = 0;
    await asAgent(values, async (c) => {
      for await (const event of pages(c, from, follow, stop.signal)) {
        print(values.json ? JSON.stringify(event) : eventLine(event));
        printed += 1;
        if (limit !== undefined && printed >= limit) return;
      }
    });
    if (!values.json && printed === 0) process.stderr.write('no events\n');
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * The events from `from` (default: where the replicas' log has no gap), page by page. Ends when
 * a page comes back empty, unless `follow`; then it polls until `signal` aborts.
 */
async function* pages(
  c: Coordination,
  from: number | undefined,
  follow: boolean,
  signal: AbortSignal,
): AsyncGenerator<CoordinationEvent> {
  let started = from !== undefined;
  let cursor: EventCursor = { sequence: from ?? 0, index: 0 };
  while (!signal.aborted) {
    const answer = await c.client
      .query(ops.events({ fromSequence: cursor.sequence, fromIndex: cursor.index }), 'quorum', { signal })
      .catch((error: unknown) => {
        if (error instanceof AbortedError) return undefined;
        if (follow && error instanceof ConclaveError && ['NO_QUORUM', 'TIMEOUT'].includes(error.code))
          return undefined;
        throw error;
      });
    if (answer !== undefined) {
      const page = decodeResult(answer.result);
      if (!page.ok) throw refusalError(page.code, page.message, page.resource);
      if (page.kind !== 'events') throw new CliError('REJECTED', `expected events, got ${page.kind}`);
      if (page.missed && !started) {
        started = true;
        cursor = page.gapFreeFrom;
        continue;
      }
      if (page.missed)
        throw new CliError(
          'EVENTS_LOST',
          `EVENTS_LOST: events after ${cursor.sequence}:${cursor.index} were dropped; the oldest kept is at sequence ${page.earliestSequence}`,
        );
      started = true;
      for (const event of page.events) yield event;
      cursor = page.next;
      if (page.events.length > 0) continue;
      if (!follow) return;
    }
    await sleep(POLL_MS, signal);
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((done) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        done();
      },
      { once: true },
    );
  });

/** `SEQ:INDEX KIND field=value…`: the event's own fields after its position and kind. */
export function eventLine(event: CoordinationEvent): string {
  const { sequence, index, kind, timestamp: _timestamp, ...fields } = event;
  const rest = Object.entries(fields)
    .filter(([, value]) => value !== null)
    .map(([name, value]) => `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [`${sequence}:${index}`, kind, ...rest].join(' ');
}
