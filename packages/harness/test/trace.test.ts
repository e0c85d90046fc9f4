import { describe, expect, it } from 'vitest';
import { traceRun } from '../src/html.ts';
import type { Envelope } from '../src/network.ts';
import { scenarioFromSeed } from '../src/scenario.ts';
import { runScenario } from '../src/simulation.ts';
import {
  compareVectors,
  happenedBefore,
  type NodeEvent,
  type TracedEvent,
  type TraceEvent,
  traceCollector,
} from '../src/trace.ts';

function nodeEvents(events: readonly TracedEvent[]): NodeEvent[] {
  return events.filter((event): event is NodeEvent => event.node !== undefined);
}

function envelope(from: number, to: number, frame: Uint8Array, sentAt: number, deliverAt: number): Envelope {
  return { from, to, type: 3, frame, sentAt, deliverAt, order: 0 };
}

describe('trace clocks on a simulated run', () => {
  const options = scenarioFromSeed(2, { replicas: 4, byzantine: 1 });
  const { result, trace } = traceRun(options);
  const events = nodeEvents(trace.events);

  it('tracing only observes: the traced run is the untraced run', () => {
    const plain = runScenario(options);
    expect(result.violations).toEqual(plain.violations);
    expect(result.stats).toEqual(plain.stats);
    expect(result.record.replicas).toEqual(plain.record.replicas);
  });

  it('records every delivery, each matched to its send, which comes first in both clocks', () => {
    const deliveries = events.filter((event) => event.kind === 'deliver');
    expect(trace.eventsDropped).toBe(0);
    expect(deliveries.length).toBe(result.stats.network.delivered);
    for (const deliver of deliveries) {
      expect(deliver.send).toBeDefined();
      const send = trace.events[deliver.send as number];
      if (send?.kind !== 'send') throw new Error(`delivery ${deliver.index} matched no send`);
      expect(send.deliveries).toContain(deliver.index);
      expect(send.node).toBe(deliver.from);
      expect(send.tick).toBeLessThan(deliver.tick);
      expect(send.lamport).toBeLessThan(deliver.lamport);
      expect(compareVectors(send.vector, deliver.vector)).toBe('before');
      expect(happenedBefore(send, deliver)).toBe(true);
      expect(happenedBefore(deliver, send)).toBe(false);
    }
  });

  it('advances each node by exactly one own component and one Lamport step or more per event', () => {
    const last = new Map<string, NodeEvent>();
    for (const event of events) {
      const own = trace.nodes.indexOf(event.node);
      const before = last.get(String(event.node));
      expect(event.vector[own]).toBe((before?.vector[own] ?? 0) + 1);
      if (before !== undefined) {
        expect(event.lamport).toBeGreaterThan(before.lamport);
        expect(compareVectors(before.vector, event.vector)).toBe('before');
      }
      last.set(String(event.node), event);
    }
    expect(last.size).toBe(trace.nodes.length);
  });

  it('keeps the clock condition: whenever a happened before b, a has the smaller Lamport time', () => {
    let related = 0;
    let concurrent = 0;
    const stride = Math.max(1, Math.floor(events.length / 300));
    for (let i = 0; i < events.length; i += stride) {
      for (let j = i + 1; j < events.length; j += stride * 7) {
        const a = events[i] as NodeEvent;
        const b = events[j] as NodeEvent;
        const order = compareVectors(a.vector, b.vector);
        expect(order).not.toBe('after'); // events are recorded in an order consistent with causality
        if (order === 'before') {
          related++;
          expect(a.lamport).toBeLessThan(b.lamport);
        } else if (order === 'concurrent') concurrent++;
      }
    }
    expect(related).toBeGreaterThan(0);
    expect(concurrent).toBeGreaterThan(0);
  });

  it('caps the number of events and says where the trace stops', () => {
    const capped = traceRun(options, 100);
    expect(capped.trace.events.length).toBe(100);
    expect(capped.trace.eventsDropped).toBeGreaterThan(0);
    expect(capped.trace.cappedAtTick).toBeGreaterThanOrEqual(0);
    expect(capped.trace.events.map((event) => event.kind)).toEqual(
      trace.events.slice(0, 100).map((event) => event.kind),
    );
    expect(capped.result.violations).toEqual(result.violations);
  });
});

describe('trace clocks, by hand', () => {
  // r0 sends to r1, r1 forwards to r2; r2 and r0 act on their own meanwhile.
  const collector = traceCollector({ nodes: [0, 1, 2] });
  const first = new Uint8Array([1]);
  const second = new Uint8Array([2]);
  const feed: TraceEvent[] = [
    { kind: 'send', tick: 1, from: 0, to: 1, type: 3, frame: first, outcome: 'queued' },
    { kind: 'execute', tick: 1, replica: 2, sequence: 1, view: 0, via: 'protocol', requests: 1 },
    { kind: 'deliver', tick: 2, envelope: envelope(0, 1, first, 1, 2) },
    { kind: 'send', tick: 2, from: 1, to: 2, type: 3, frame: second, outcome: 'queued' },
    { kind: 'deliver', tick: 3, envelope: envelope(1, 2, second, 2, 3) },
    { kind: 'execute', tick: 3, replica: 0, sequence: 1, view: 0, via: 'protocol', requests: 1 },
  ];
  for (const event of feed) collector.sink(event);
  const trace = collector.finish();
  const [sendA, localC, deliverB, sendB, deliverC, localA] = nodeEvents(trace.events) as [
    NodeEvent,
    NodeEvent,
    NodeEvent,
    NodeEvent,
    NodeEvent,
    NodeEvent,
  ];

  it('orders a send before its delivery and causal chains transitively', () => {
    expect(compareVectors(sendA.vector, deliverB.vector)).toBe('before');
    expect(compareVectors(sendA.vector, deliverC.vector)).toBe('before');
    expect(compareVectors(deliverB.vector, deliverC.vector)).toBe('before');
    expect(compareVectors(localC.vector, deliverC.vector)).toBe('before');
    expect(compareVectors(sendA.vector, localA.vector)).toBe('before');
    expect([...deliverC.vector]).toEqual([1, 2, 2]);
  });

  it('finds events with no causal path concurrent, in both directions', () => {
    expect(compareVectors(sendA.vector, localC.vector)).toBe('concurrent');
    expect(compareVectors(localC.vector, sendA.vector)).toBe('concurrent');
    expect(compareVectors(localA.vector, deliverB.vector)).toBe('concurrent');
    expect(compareVectors(localA.vector, deliverC.vector)).toBe('concurrent');
    expect(compareVectors(sendB.vector, sendB.vector)).toBe('equal');
  });

  it('follows Lamport: a delivery takes max(own, message) + 1', () => {
    expect([sendA, localC, deliverB, sendB, deliverC, localA].map((event) => event.lamport)).toEqual([
      1, 1, 2, 3, 4, 2,
    ]);
  });

  it('matches both copies of a duplicate and counts copies that never arrived', () => {
    const collector = traceCollector({ nodes: [0, 1] });
    const twice = new Uint8Array([3]);
    const never = new Uint8Array([4]);
    const dropped = new Uint8Array([5]);
    collector.sink({ kind: 'send', tick: 0, from: 0, to: 1, type: 3, frame: twice, outcome: 'duplicated' });
    collector.sink({ kind: 'send', tick: 0, from: 0, to: 1, type: 3, frame: never, outcome: 'queued' });
    collector.sink({ kind: 'send', tick: 0, from: 0, to: 1, type: 3, frame: dropped, outcome: 'dropped' });
    collector.sink({ kind: 'deliver', tick: 2, envelope: envelope(0, 1, twice, 0, 2) });
    collector.sink({ kind: 'deliver', tick: 5, envelope: envelope(0, 1, twice, 0, 5) });
    const events = collector.finish().events;
    const sends = events.filter((event) => event.kind === 'send');
    expect(sends.map((send) => [send.deliveries.length, send.lost])).toEqual([
      [2, 0],
      [0, 1],
      [0, 0],
    ]);
    expect(events.filter((event) => event.kind === 'deliver').map((event) => event.send)).toEqual([0, 0]);
  });

  it('gives a node it was not told about its own component', () => {
    const collector = traceCollector({ nodes: [0] });
    const frame = new Uint8Array([6]);
    collector.sink({ kind: 'send', tick: 0, from: 0, to: 'twin-0', type: 3, frame, outcome: 'queued' });
    collector.sink({
      kind: 'deliver',
      tick: 1,
      envelope: { from: 0, to: 'twin-0', type: 3, frame, sentAt: 0, deliverAt: 1, order: 0 },
    });
    const trace = collector.finish();
    expect(trace.nodes).toEqual([0, 'twin-0']);
    expect([...(trace.events[1] as NodeEvent).vector]).toEqual([1, 1]);
  });
});
