/**
 * The event log: every state change, in order, that agents page through with `events` reads.
 * An event's cursor is (sequence, index within it).
 *
 * Each event is charged to its producer: the agent whose operation made it, or whose lock,
 * claim, task, proposal or evidence a timer acted on. The log keeps at most `eventsPerAgentMax`
 * events per producer, and an agent's new event evicts its own oldest one, so one agent cannot
 * evict anyone else's events. Its operations may also produce at most
 * `eventsPerWindowPerAgentMax` events per window of `eventWindowTicks` agreed ticks; an operation
 * of an agent over that rate is refused (`QUOTA`, resource `events`). Timer events are never
 * refused; they are bounded by the agent's other quotas (locks, claims, proposals, tasks).
 */
import type { LogPosition } from '../evidence.ts';
import type { ReadOperation } from '../operations.ts';
import type {
  CoordinationEvent,
  CoordinationResult,
  ErrorResult,
  EventBody,
  EventCursor,
} from '../results.ts';
import { type DomainContext, type QuotaUsage, quota, sortedEntries } from './shared.ts';

/** Events one agent produced in the rate window that starts at `windowStart`. */
interface RateRecord {
  windowStart: number;
  count: number;
}

/** The event log's part of the snapshot record. */
export interface EventLogSnapshot {
  /** The index the next event of the current sequence gets. */
  readonly eventIndex: number;
  readonly events: readonly CoordinationEvent[];
  /** The cursor of the newest event dropped from the log; null while none has been. */
  readonly eventsDroppedThrough: EventCursor | null;
  /** Per producer, sorted: events produced in its current rate window. */
  readonly eventRates: readonly (RateRecord & { readonly agent: string })[];
}

/** Compares event cursors. */
function compareCursors(a: EventCursor, b: EventCursor): number {
  return a.sequence !== b.sequence ? a.sequence - b.sequence : a.index - b.index;
}

/** The log every domain emits into (through `DomainContext.emit`). */
export class EventLog {
  readonly #context: Pick<DomainContext, 'limits' | 'position' | 'quotaOf'>;
  #events: CoordinationEvent[] = [];
  /** Events in the log per producer (derived from `#events`; rebuilt on restore). */
  #kept = new Map<string, number>();
  #rates = new Map<string, RateRecord>();
  #droppedThrough: EventCursor | null = null;
  #nextIndex = 0;

  constructor(context: Pick<DomainContext, 'limits' | 'position' | 'quotaOf'>) {
    this.#context = context;
  }

  /** A batch of another sequence began: its events are numbered from 0. */
  startSequence(): void {
    this.#nextIndex = 0;
  }

  /** The refusal when `agent` has used its event rate in the current window; undefined otherwise. */
  checkRate(agent: string): ErrorResult | undefined {
    const eventsPerWindowPerAgentMax = this.#context.quotaOf(agent, 'eventsPerWindowPerAgentMax');
    const used = this.#rateOf(agent).count;
    if (used < eventsPerWindowPerAgentMax) return undefined;
    return quota('events', agent, used, eventsPerWindowPerAgentMax, 'eventsPerWindowPerAgentMax');
  }

  /** Events `producer` has in the log, and in the current rate window. Never mutates (a read). */
  usageOf(producer: string): QuotaUsage {
    const rate = this.#rates.get(producer);
    const inWindow = rate !== undefined && rate.windowStart === this.#windowStart() ? rate.count : 0;
    return { eventsPerAgentMax: this.#kept.get(producer) ?? 0, eventsPerWindowPerAgentMax: inWindow };
  }

  #windowStart(): number {
    const now = this.#context.position().timestamp;
    return now - (now % this.#context.limits.eventWindowTicks);
  }

  /** Appends an event stamped with the current position; beyond its share, the producer's oldest event gives way. */
  append(body: EventBody, producer: string): void {
    const position: LogPosition = this.#context.position();
    this.#events.push({
      ...body,
      producer,
      sequence: position.sequence,
      index: this.#nextIndex,
      timestamp: position.timestamp,
    });
    this.#nextIndex += 1;
    this.#rateOf(producer).count += 1;
    const kept = (this.#kept.get(producer) ?? 0) + 1;
    this.#kept.set(producer, kept);
    if (kept > this.#context.quotaOf(producer, 'eventsPerAgentMax')) this.#dropOldestOf(producer);
  }

  /** The `events` read: up to `limit` events at or after the cursor, and where to continue. */
  read(op: Extract<ReadOperation, { op: 'events' }>): CoordinationResult {
    const from: EventCursor = { sequence: op.fromSequence, index: op.fromIndex };
    const events: CoordinationEvent[] = [];
    let next: EventCursor = from;
    for (const event of this.#events) {
      if (compareCursors(event, from) < 0) continue;
      if (events.length === op.limit) {
        next = { sequence: event.sequence, index: event.index };
        break;
      }
      events.push(event);
      next = { sequence: event.sequence, index: event.index + 1 };
    }
    const dropped = this.#droppedThrough;
    return {
      ok: true,
      kind: 'events',
      at: this.#context.position(),
      events,
      earliestSequence: this.#events[0]?.sequence ?? null,
      missed: dropped !== null && compareCursors(dropped, from) >= 0,
      gapFreeFrom: dropped === null ? { sequence: 0, index: 0 } : { ...dropped, index: dropped.index + 1 },
      next,
    };
  }

  snapshot(): EventLogSnapshot {
    return {
      eventIndex: this.#nextIndex,
      events: this.#events,
      eventsDroppedThrough: this.#droppedThrough,
      eventRates: sortedEntries(this.#rates).map(([agent, rate]) => ({ agent, ...rate })),
    };
  }

  restore(record: EventLogSnapshot): void {
    this.#nextIndex = record.eventIndex;
    this.#events = [...record.events];
    this.#droppedThrough = record.eventsDroppedThrough;
    this.#rates = new Map(
      record.eventRates.map((r) => [r.agent, { windowStart: r.windowStart, count: r.count }]),
    );
    this.#kept = new Map();
    for (const event of this.#events)
      this.#kept.set(event.producer, (this.#kept.get(event.producer) ?? 0) + 1);
  }

  /** `agent`'s rate record for the current window (a new window starts the count at 0). */
  #rateOf(agent: string): RateRecord {
    const windowStart = this.#windowStart();
    const rate = this.#rates.get(agent);
    if (rate !== undefined && rate.windowStart === windowStart) return rate;
    const fresh = { windowStart, count: 0 };
    this.#rates.set(agent, fresh);
    return fresh;
  }

  /** Removes `producer`'s oldest event, remembering the newest cursor ever dropped. */
  #dropOldestOf(producer: string): void {
    const at = this.#events.findIndex((event) => event.producer === producer);
    if (at < 0) return;
    const [dropped] = this.#events.splice(at, 1);
    if (dropped === undefined) return;
    this.#kept.set(producer, (this.#kept.get(producer) ?? 1) - 1);
    const cursor = { sequence: dropped.sequence, index: dropped.index };
    if (this.#droppedThrough === null || compareCursors(cursor, this.#droppedThrough) > 0)
      this.#droppedThrough = cursor;
  }
}
