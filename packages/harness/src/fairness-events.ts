/**
 * What the shared event log still holds at the end of a fairness run, read from one honest
 * replica's coordination state: per retained event, its sequence and every agent it names. The
 * fairness checker asks of it whether honest agents' latest events survived the liars' churn.
 */
import { CoordinationStateMachine, decodeResult, ops } from '@conclave/coordination';
import type { StateMachine } from '@conclave/core';
import type { RetainedEventRecord } from './record.ts';

/** Pages of events read at most: far more than any event log bound used in simulations holds. */
export const EVENT_PAGES_MAX = 100;
const PAGE_EVENTS = 100;

/** The events a replica's state retains, oldest first; none for a state machine with no events. */
export function retainedEvents(stateMachine: StateMachine): RetainedEventRecord[] {
  if (!(stateMachine instanceof CoordinationStateMachine)) return [];
  const out: RetainedEventRecord[] = [];
  let cursor = { sequence: 0, index: 0 };
  for (let page = 0; page < EVENT_PAGES_MAX; page++) {
    const result = decodeResult(
      stateMachine.query(
        ops.events({ fromSequence: cursor.sequence, fromIndex: cursor.index, limit: PAGE_EVENTS }),
      ),
    );
    if (!result.ok || result.kind !== 'events' || result.events.length === 0) break;
    for (const event of result.events) {
      const agents = Object.values(event).filter((value): value is string => typeof value === 'string');
      out.push({ sequence: event.sequence, names: agents });
    }
    cursor = result.next;
  }
  return out;
}
