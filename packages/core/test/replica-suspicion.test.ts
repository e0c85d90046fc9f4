/**
 * Suspicion (replica/suspicion.ts): a replica leaves a view only on f+1 suspicions, and one that
 * fell behind the others' view is handed the NEW-VIEW that proves where they are.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame, MessageType, type Suspect, signBody } from '../src/index.ts';
import { type Envelope, TEST_PROTOCOL, TestCluster } from './support/cluster.ts';

/** Counts the frames of one type a replica sends, through the cluster's interceptor. */
function countSends(c: TestCluster, type: number, from: string): { count: number } {
  const counter = { count: 0 };
  const previous = c.interceptor;
  c.interceptor = (envelope, frame) => {
    if (frame?.body.type === type && envelope.from === from) counter.count++;
    return previous?.(envelope, frame);
  };
  return counter;
}

/** Drops every frame between `replica` and the others while `cut()` holds. */
function isolate(c: TestCluster, replica: number, cut: () => boolean): void {
  const name = `r${replica}`;
  const touches = (e: Envelope) => e.from === name || e.to === name;
  c.interceptor = (envelope) => (cut() && touches(envelope) ? [] : undefined);
}

describe('suspicion', () => {
  it('a replica whose timer alone fires suspects its view but stays in it, and goes on working there', () => {
    const c = new TestCluster(4, 1);
    let cut = false;
    // Replica 3 hears nothing for a while, and is not heard (a paused or cut-off backup).
    isolate(c, 3, () => cut);
    const suspicions = countSends(c, MessageType.suspect, 'r3');
    c.submit(0, 'a', '1');
    c.run(30);
    cut = true;
    c.run(120); // well past the 50-tick timeout: no progress reaches it
    expect(suspicions.count).toBeGreaterThan(0);
    cut = false;
    const id = c.submit(0, 'b', '2');
    c.run(100);
    for (const replica of c.replicas)
      expect(replica.status()).toMatchObject({ view: 0, changingView: false });
    expect(c.accepted(0, id)).toBeDefined();
    c.checkAgreement();
    expect(c.replicas[3]!.status().lastExecuted).toBe(c.replicas[0]!.status().lastExecuted);
    // Its own 120-tick silence is no busy primary's jitter: its silence timeout does not stretch.
    expect(c.replicas[3]!.status().progressGapPeakTicks).toBeLessThan(50);
  });

  it('f+1 suspicions move every replica, one whose own timer never fired included', () => {
    const c = new TestCluster(4, 1);
    c.down.add(0);
    // Only replicas 1 and 2 learn of the request, so only their timers fire.
    const id = c.submit(0, 'k', 'v', [1, 2]);
    let cause: readonly { replica: number; view: number }[] = [];
    c.observer = (step) => {
      const replica = c.replicas[step.replica]!;
      if (step.replica === 1 && cause.length === 0 && replica.status().changingView)
        cause = replica.viewChangeCause();
    };
    c.run(150);
    c.observer = undefined;
    // Replica 1 says why it left: the suspicions of view 0 by replicas 1 and 2.
    expect([...cause].sort((a, b) => a.replica - b.replica)).toEqual([
      { replica: 1, view: 0 },
      { replica: 2, view: 0 },
    ]);
    for (const id of [1, 2, 3])
      expect(c.replicas[id]!.status()).toMatchObject({ view: 1, changingView: false });
    expect(c.accepted(0, id)).toBeDefined();
  });

  it('a replica cut off while the others changed views rejoins their view once it hears them (n=7)', () => {
    const c = new TestCluster(7, 1);
    let cut = true;
    isolate(c, 6, () => cut);
    c.down.add(0);
    c.submit(0, 'k', 'v', [1, 2, 3, 4, 5]);
    c.run(200);
    expect(c.replicas[1]!.status()).toMatchObject({ view: 1, changingView: false });
    expect(c.replicas[6]!.status().view).toBe(0);
    cut = false;
    const healedAt = c.ticks;
    let rejoinedAt: number | undefined;
    for (let tick = 0; tick < 200 && rejoinedAt === undefined; tick++) {
      c.run(1);
      const status = c.replicas[6]!.status();
      if (status.view === 1 && !status.changingView) rejoinedAt = c.ticks;
    }
    // It sees f+1 replicas' messages of view 1 (heartbeats at least every 20 ticks), suspects
    // view 0, and is answered with view 1's NEW-VIEW: a few heartbeats, not a timeout.
    expect(rejoinedAt).toBeDefined();
    expect(rejoinedAt! - healedAt).toBeLessThan(50);
    const id = c.submit(0, 'k2', 'v2', [1, 2, 3, 4, 5, 6]);
    c.run(60);
    expect(c.accepted(0, id)).toBeDefined();
    expect(c.replicas[6]!.status().lastExecuted).toBe(c.replicas[1]!.status().lastExecuted);
    c.checkAgreement([1, 2, 3, 4, 5, 6]);
  });

  it('a replica that missed the NEW-VIEW gets it from a backup when the new primary never resends it', () => {
    const c = new TestCluster(4, 1);
    c.down.add(0);
    // The primary of view 1 never sends replica 3 its NEW-VIEW (it may be Byzantine); the rest
    // of what it sends arrives.
    c.interceptor = (envelope, frame) =>
      frame?.body.type === MessageType.newView && envelope.from === 'r1' && envelope.to === 'r3'
        ? []
        : undefined;
    const relayed = countSends(c, MessageType.newView, 'r2');
    const id = c.submit(0, 'k', 'v');
    c.run(200);
    expect(relayed.count).toBeGreaterThan(0);
    for (const id of [1, 2, 3])
      expect(c.replicas[id]!.status()).toMatchObject({ view: 1, changingView: false });
    expect(c.accepted(0, id)).toBeDefined();
  });

  it('a Byzantine replica cannot replay an honest suspicion its author dropped to reach f+1 with its own', () => {
    const c = new TestCluster(4, 1);
    let cut = false;
    const captured: Uint8Array[] = [];
    // Replica 3 is cut off, but its suspicions reach replica 1 (and are kept by "Byzantine" replica 2).
    c.interceptor = (envelope, frame) => {
      if (!cut || (envelope.from !== 'r3' && envelope.to !== 'r3')) return undefined;
      if (frame?.body.type === MessageType.suspect && envelope.from === 'r3' && envelope.to === 'r1') {
        captured.push(envelope.frame);
        return undefined;
      }
      return [];
    };
    c.submit(0, 'a', '1');
    c.run(30);
    cut = true;
    c.run(100);
    cut = false;
    c.run(100); // replica 3 catches up and stops suspecting; its suspicion lapses at replica 1
    expect(captured.length).toBeGreaterThan(0);
    const liar = signBody<Suspect>(
      { type: MessageType.suspect, view: 0, round: 1_000_000, replica: 2 },
      c.crypto,
      c.replicaKeys[2]!.secretKey,
    );
    c.inject(1, captured[0]!);
    c.inject(1, encodeFrame(liar));
    expect(c.replicas[1]!.status()).toMatchObject({ view: 0, changingView: false });
  });
});

describe('silence timeout', () => {
  /** Submits a put every `every` ticks for `ticks` ticks; returns the last request id. */
  function load(c: TestCluster, ticks: number, every: number): number {
    let id = 0;
    for (let tick = 0; tick < ticks; tick++) {
      if (tick % every === 0) id = c.submit(0, `k${c.ticks}`, 'v');
      c.run(1);
    }
    return id;
  }

  it('under load, a crashed primary is suspected after the short silence timeout, not the request timeout', () => {
    const c = new TestCluster(4, 1);
    load(c, 100, 2);
    c.down.add(0);
    const crashedAt = c.ticks;
    let changedAt: number | undefined;
    for (let tick = 0; tick < 200 && changedAt === undefined; tick++) {
      load(c, 1, 2);
      if (c.replicas[1]!.status().view > 0) changedAt = c.ticks;
    }
    // silenceTimeoutMinTicks is 30, the request timeout 50: messages came every tick or two.
    expect(changedAt! - crashedAt).toBeLessThan(40);
    const id = load(c, 60, 2);
    expect(c.accepted(0, id)).toBeDefined();
  });

  it('once the load stops, idle heartbeats (every 40 ticks, above the 30-tick floor) are not taken for a silent primary', () => {
    const c = new TestCluster(4, 1, { ...TEST_PROTOCOL, heartbeatTicks: 40 });
    load(c, 100, 2);
    c.run(600);
    for (const replica of c.replicas)
      expect(replica.status()).toMatchObject({ view: 0, changingView: false });
  });
});
