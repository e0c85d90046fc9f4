import { describe, expect, it } from 'vitest';
import { MessageType } from '../src/index.ts';
import { TestCluster } from './support/cluster.ts';

describe('view change timing', () => {
  /** The ticks at which replica `observer`'s view changed, over `ticks` ticks. */
  function viewChangeTicks(c: TestCluster, observer: number, ticks: number): number[] {
    const at: number[] = [];
    let lastView = 0;
    for (let tick = 1; tick <= ticks; tick++) {
      c.run(1);
      const view = c.replicas[observer]!.status().view;
      if (view !== lastView) {
        at.push(tick);
        lastView = view;
      }
    }
    return at;
  }

  it('doubles the timeout on consecutive view changes and still makes progress (n=7, view 1 never starts)', () => {
    const c = new TestCluster(7, 1);
    c.down.add(0);
    // Replica 1 is alive (it votes, so no one passes over it) but its new-views are lost.
    c.interceptor = (envelope, frame) =>
      frame?.body.type === MessageType.newView && envelope.from === 'r1' ? [] : undefined;
    const id = c.submit(0, 'k', 'v');
    const viewAt = viewChangeTicks(c, 2, 600);
    expect(c.accepted(0, id)).toBeDefined();
    expect(c.replicas[2]!.status().view).toBe(2);
    // View 1 started after one request timeout (50 ticks); view 2 only after the view-change
    // timer ran for twice as long, since view 1's new-view never arrived.
    expect(viewAt[0]).toBeGreaterThanOrEqual(50);
    expect(viewAt[1]! - viewAt[0]!).toBeGreaterThanOrEqual(100);
    c.checkAgreement([2, 3, 4, 5, 6]);
  });

  it('passes over a next primary that has long been silent within a few ticks, not a timeout (n=7)', () => {
    const c = new TestCluster(7, 1);
    c.down.add(1); // the next in line has been down all along
    c.submit(0, 'k', 'v');
    c.run(150);
    c.down.add(0); // then the primary fails
    const id = c.submit(0, 'k2', 'v2');
    const viewAt = viewChangeTicks(c, 2, 400);
    expect(c.accepted(0, id)).toBeDefined();
    expect(c.replicas[2]!.status().view).toBe(2);
    // View 1's primary is suspected as soon as the view change starts: f+1 suspicions and a
    // message delay later the replicas are changing into view 2, with no view-change timeout.
    expect(viewAt[1]! - viewAt[0]!).toBeLessThanOrEqual(5);
    c.checkAgreement([2, 3, 4, 5, 6]);
  });

  it('a replica that has not timed out joins once f+1 others ask for a higher view', () => {
    const c = new TestCluster(4, 1);
    // The primary keeps sending heartbeats but never sees this agent's request; replica 3 never
    // sees it either, so its own timers never fire: only the join rule can move it.
    c.interceptor = (envelope, frame) => {
      if (frame?.body.type === MessageType.request && (envelope.to === 'r0' || envelope.to === 'r3'))
        return [];
      return undefined;
    };
    const id = c.submit(0, 'k', 'v', [1, 2]);
    let othersLeftAt: number | undefined;
    let joinedAt: number | undefined;
    for (let tick = 1; tick <= 300 && joinedAt === undefined; tick++) {
      c.run(1);
      if (
        othersLeftAt === undefined &&
        c.replicas[1]!.status().view >= 1 &&
        c.replicas[2]!.status().view >= 1
      )
        othersLeftAt = tick;
      if (c.replicas[3]!.status().view >= 1) joinedAt = tick;
    }
    expect(othersLeftAt).toBeDefined();
    // Joined in the same tick the f+1 view-changes arrived, not a timeout (50 ticks) later.
    expect(joinedAt).toBe(othersLeftAt);
    expect(c.replicas[3]!.status().view).toBe(1);
    c.interceptor = undefined;
    c.run(200);
    expect(c.accepted(0, id)).toBeDefined();
    c.checkAgreement();
  });
});

describe('idle primary detection', () => {
  it('a replica that never heard from the primary (still connecting) does not start a view change alone', () => {
    const c = new TestCluster(4, 1);
    let connected = false;
    c.interceptor = (envelope) =>
      !connected && (envelope.to === 'r3' || envelope.from === 'r3') ? [] : undefined;
    c.run(400); // many timeouts long
    expect(c.replicas[3]!.status()).toMatchObject({ view: 0, changingView: false });
    connected = true;
    const id = c.submit(0, 'k', 'v', [0]);
    c.run(150);
    expect(c.accepted(0, id)).toBeDefined();
    expect(c.replicas.map((r) => r.status().view)).toEqual([0, 0, 0, 0]);
    expect(c.replicas[3]!.status().lastExecuted).toBe(c.replicas[0]!.status().lastExecuted);
  });

  it('a primary that falls silent after being heard is replaced even with no requests, so agreed time moves on', () => {
    const c = new TestCluster(4, 1);
    c.run(60); // heartbeats: every backup hears from the primary
    c.down.add(0);
    c.run(200);
    for (const r of [1, 2, 3])
      expect(c.replicas[r]!.status()).toMatchObject({ view: 1, changingView: false });
    const before = c.replicas[1]!.status().agreedTime;
    c.run(100);
    expect(c.replicas[1]!.status().agreedTime).toBeGreaterThan(before);
  });
});
