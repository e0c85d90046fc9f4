/**
 * The event log: every state change, in order, in a ring buffer of `eventsMax` events that
 * agents page through with `events` reads. An event's cursor is (sequence, index within it).
 */
import type { LogPosition } from '../evidence.ts';
import type { ReadOperation } from '../operations.ts';
import type { CoordinationEvent, CoordinationResult, EventBody, EventCursor } from '../results.ts';
import { type DomainContext, present } from './shared.ts';

/** The event log's part of the snapshot record. */
export interface EventLogSnapshot {
  /** The index the next event of the current sequence gets. */
  readonly eventIndex: number;
  readonly events: readonly CoordinationEvent[];
  /** The cursor of the newest event dropped from the buffer; null while none has been. */
  readonly eventsDroppedThrough: EventCursor | null;
}

/** Compares event cursors. */
function compareCursors(a: EventCursor, b: EventCursor): number {
  return a.sequence !== b.sequence ? a.sequence - b.sequence : a.index - b.index;
}

/** The log every domain emits into (through `DomainContext.emit`). */
export class EventLog {
  readonly #context: Pick<DomainContext, 'limits' | 'position'>;
  #events: CoordinationEvent[] = [];
  #droppedThrough: EventCursor | null = null;
  #nextIndex = 0;

  constructor(context: Pick<DomainContext, 'limits' | 'position'>) {
    this.#context = context;
  }

  /** A batch of another sequence began: its events are numbered from 0. */
  startSequence(): void {
    this.#nextIndex = 0;
  }

  /** Appends an event stamped with the current position, dropping the oldest beyond `eventsMax`. */
  append(body: EventBody): void {
    const position: LogPosition = this.#context.position();
    const event = {
      ...body,
      sequence: position.sequence,
      index: this.#nextIndex,
      timestamp: position.timestamp,
    };
    this.#nextIndex += 1;
    this.#events.push(event);
    while (this.#events.length > this.#context.limits.eventsMax) {
      const dropped = present(this.#events.shift(), 'the log holds more than eventsMax ≥ 1 events');
      this.#droppedThrough = { sequence: dropped.sequence, index: dropped.index };
    }
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
      next,
    };
  }

  snapshot(): EventLogSnapshot {
    return { eventIndex: this.#nextIndex, events: this.#events, eventsDroppedThrough: this.#droppedThrough };
  }

  restore(record: EventLogSnapshot): void {
    this.#nextIndex = record.eventIndex;
    this.#events = [...record.events];
    this.#droppedThrough = record.eventsDroppedThrough;
  }
}
