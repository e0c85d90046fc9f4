/**
 * Return (replica/return.ts): a replica stranded in a view change the others did not follow asks
 * to go back (RETURN), the replicas working in that view skip the views it leaves, durably, and
 * acknowledge (RETURN-ACK); with 2f acknowledgements (and the NEW-VIEW of the view when it never
 * was in it) it goes back. Skipped views are never entered.
 */
import { describe, expect, it } from 'vitest';
import {
  type Body,
  encodeFrame,
  MessageType,
  type NewView,
  type Replica,
  type Return,
  type ReturnAck,
  type Suspect,
  signBody,
  type ViewChange,
} from '../src/index.ts';
import type { ReplicaOutput } from '../src/types.ts';
import { TEST_PROTOCOL, TestCluster } from './support/cluster.ts';

const RETRY = TEST_PROTOCOL.retryTicks as number;
const HEARTBEAT = TEST_PROTOCOL.heartbeatTicks as number;

/** A frame of `body`, signed with the key of the replica it names. */
function signedBy(c: TestCluster, replica: number, body: Body): Uint8Array {
  return encodeFrame(signBody(body, c.crypto, c.replicaKeys[replica]!.secretKey));
}

function suspicion(c: TestCluster, from: number, view: number): Uint8Array {
  const body: Suspect = { type: MessageType.suspect, view, round: c.ticks + 1, replica: from };
  return signedBy(c, from, body);
}

function returnFrame(c: TestCluster, from: number, view: number, through: number, left: number): Uint8Array {
  const body: Return = { type: MessageType.return, view, through, left, replica: from };
  return signedBy(c, from, body);
}

/** A view-change into `newView` with nothing prepared and no stable checkpoint (always valid). */
function emptyViewChange(c: TestCluster, from: number, newView: number) {
  const body: ViewChange = {
    type: MessageType.viewChange,
    newView,
    stableSequence: 0,
    checkpointProof: [],
    prepared: [],
    replica: from,
  };
  return signBody(body, c.crypto, c.replicaKeys[from]!.secretKey);
}

/** A valid NEW-VIEW for `view` from its primary, built from empty view-changes of `from`. */
function emptyNewView(c: TestCluster, view: number, from: readonly number[]): Uint8Array {
  const primary = view % c.replicas.length;
  const body: NewView = {
    type: MessageType.newView,
    view,
    viewChanges: from.map((replica) => emptyViewChange(c, replica, view)),
    prePrepares: [],
    replica: primary,
  };
  return signedBy(c, primary, body);
}

const sent = (out: ReplicaOutput, type: number) => out.send.filter((s) => s.type === type);
const rejectedWith = (out: ReplicaOutput, code: string) => out.rejected.filter((r) => r.code === code);

/** Runs a request per `every` ticks through the cluster for `ticks` ticks. */
function load(c: TestCluster, ticks: number, every = 5): void {
  for (let tick = 0; tick < ticks; tick++) {
    if (tick % every === 0) c.submit(0, `k${c.ticks % 7}`, `v${c.ticks}`);
    c.run(1);
  }
}

/**
 * `replica` leaves its view on f+1 suspicions of it (from `suspecters`, whose suspicions lapse
 * at once: they never reach anyone else) and crashes right after, before anything it sent (its
 * VIEW-CHANGE, the suspicions it relays) leaves: it restarts from its durable state, changing views
 * on its own. Further views can be left the same way (`views`).
 */
function strand(c: TestCluster, replica: number, suspecters: readonly number[], views: readonly number[]) {
  c.down.add(replica);
  for (const view of views) for (const from of suspecters) c.inject(replica, suspicion(c, from, view));
  c.deliverAll(); // what it sent is lost with it
  c.restart(replica);
  c.down.delete(replica);
}

/** Steps until `done` holds, one tick at a time (at most `ticks`); returns the ticks it took. */
function until(c: TestCluster, done: () => boolean, ticks: number): number | undefined {
  const start = c.ticks;
  for (let tick = 0; tick < ticks; tick++) {
    c.run(1);
    if (done()) return c.ticks - start;
  }
  return undefined;
}

const inNormal = (c: TestCluster, replica: number, view: number) => {
  const status = c.replicas[replica]!.status();
  return status.view === view && !status.changingView;
};

describe('return', () => {
  it('a replica stranded by a crash right after leaving its view returns to it, keeps its log and executes with the others', () => {
    // Checkpoints far apart, so that the log it had before is still there when it is back.
    const c = new TestCluster(4, 1, { ...TEST_PROTOCOL, checkpointInterval: 32, watermarkWindow: 64 });
    load(c, 30);
    const logBefore = c.replicas[3]!.inspect().log;
    const executedBefore = c.replicas[3]!.status().lastExecuted;
    expect(logBefore.length).toBeGreaterThan(0);
    strand(c, 3, [1, 2], [0]);
    expect(c.replicas[3]!.status()).toMatchObject({ view: 1, changingView: true });
    expect(c.durable[3]).toMatchObject({ view: 1, changingView: true, leftView: 0, skips: [] });
    // Nothing else leads the others out of view 0: the return is the only way back.
    let othersLeft = false;
    c.observer = () => {
      for (const r of [0, 1, 2]) if (!inNormal(c, r, 0)) othersLeft = true;
    };
    // Its log at the moment it is back in view 0.
    let logAfter: ReturnType<Replica['inspect']>['log'] | undefined;
    const observe = c.observer;
    c.observer = (step) => {
      observe?.(step);
      if (logAfter === undefined && step.replica === 3 && inNormal(c, 3, 0))
        logAfter = c.replicas[3]!.inspect().log;
    };
    const took = until(c, () => inNormal(c, 3, 0), 200);
    // 2 retry periods after it started changing, the others' next votes (heartbeats at least),
    // then one exchange.
    expect(took).toBeDefined();
    expect(took!).toBeLessThanOrEqual(2 * RETRY + HEARTBEAT + 2);
    expect(othersLeft).toBe(false);
    // Back with its log as it was: nothing of view 0 was replaced or dropped.
    expect(logAfter).toBeDefined();
    for (const entry of logBefore) {
      const kept = logAfter!.find((e) => e.sequence === entry.sequence);
      expect(kept?.view).toBe(0);
      expect(kept?.committed).toEqual(entry.committed);
    }
    expect(c.replicas[3]!.status().lastExecuted).toBeGreaterThanOrEqual(executedBefore);
    // The skip is durable at the returner and at its acknowledgers.
    expect(c.durable[3]).toMatchObject({ view: 0, changingView: false, leftView: 0 });
    for (const r of [0, 1, 2, 3]) expect(c.durable[r]!.skips).toEqual([{ above: 0, through: 1 }]);
    // It works with the others again: new requests execute at it too.
    c.observer = undefined;
    const id = c.submit(0, 'after', 'return');
    c.run(40);
    expect(c.accepted(0, id)).toBeDefined();
    const executed = c.executed[3]!.flatMap((b) => b.requests.map((r) => `${r.agent}:${r.requestId}`));
    expect(executed).toContain(`agent-0:${id}`);
    expect(c.replicas[3]!.status().lastExecuted).toBe(c.replicas[0]!.status().lastExecuted);
    for (const r of [0, 1, 2, 3]) expect(inNormal(c, r, 0)).toBe(true);
    c.checkAgreement();
  });

  it('n=7: the stranded replica returns with 2f = 4 acknowledgements, under load', () => {
    const c = new TestCluster(7, 1);
    load(c, 30);
    strand(c, 6, [1, 2, 3], [0]);
    expect(c.replicas[6]!.status()).toMatchObject({ view: 1, changingView: true });
    const took = until(c, () => inNormal(c, 6, 0), 200);
    expect(took).toBeDefined();
    expect(took!).toBeLessThanOrEqual(2 * RETRY + HEARTBEAT + 2);
    load(c, 60);
    c.run(40);
    for (let r = 0; r < 7; r++) expect(inNormal(c, r, 0)).toBe(true);
    expect(c.replicas[6]!.status().lastExecuted).toBe(c.replicas[0]!.status().lastExecuted);
    c.checkAgreement();
  });

  it('fewer than 2f acknowledgements do not take it back', () => {
    const c = new TestCluster(4, 1);
    load(c, 30);
    strand(c, 3, [1, 2], [0]);
    // Only replica 0's acknowledgement reaches it.
    let acks = 0;
    c.interceptor = (envelope, frame) => {
      if (frame?.body.type !== MessageType.returnAck || envelope.to !== 'r3') return undefined;
      acks++;
      return envelope.from === 'r0' ? undefined : [];
    };
    c.run(150);
    expect(acks).toBeGreaterThan(2); // replicas 1 and 2 did acknowledge (dropped)
    expect(c.replicas[3]!.status()).toMatchObject({ view: 1, changingView: true });
    expect(c.durable[3]!.skips).toEqual([]);
    // Once the acknowledgements arrive (the RETURN is re-sent), it goes back.
    c.interceptor = undefined;
    expect(until(c, () => inNormal(c, 3, 0), RETRY + 1)).toBeDefined();
  });

  it('a replica stranded two views up returns above the view it left, by the NEW-VIEW an acknowledger sends', () => {
    const c = new TestCluster(4, 1);
    load(c, 30);
    // Replica 3 is down while the others change to view 1 (on suspicions that then lapse).
    c.down.add(3);
    for (const r of [0, 1, 2])
      for (const from of [0, 1, 2]) if (from !== r) c.inject(r, suspicion(c, from, 0));
    c.run(5);
    for (const r of [0, 1, 2]) expect(inNormal(c, r, 1)).toBe(true);
    c.down.delete(3);
    // Replica 3 then leaves view 0, and view 1 too (it never hears of its NEW-VIEW), and crashes.
    strand(c, 3, [1, 2], [0, 1]);
    expect(c.replicas[3]!.status()).toMatchObject({ view: 2, changingView: true });
    expect(c.durable[3]).toMatchObject({ view: 2, changingView: true, leftView: 0 });
    const returns: Return[] = [];
    const newViewsToIt: number[] = [];
    c.interceptor = (envelope, frame) => {
      if (frame?.body.type === MessageType.return && envelope.from === 'r3') returns.push(frame.body);
      if (frame?.body.type === MessageType.newView && envelope.to === 'r3')
        newViewsToIt.push(frame.body.view);
      return undefined;
    };
    const took = until(c, () => !c.replicas[3]!.status().changingView, 200);
    expect(took).toBeDefined();
    expect(took!).toBeLessThanOrEqual(2 * RETRY + HEARTBEAT + 2);
    expect(returns[0]).toMatchObject({ view: 1, through: 2, left: 0, replica: 3 });
    expect(newViewsToIt).toContain(1);
    expect(c.replicas[3]!.status()).toMatchObject({ view: 1, changingView: false });
    expect(c.durable[3]).toMatchObject({ view: 1, changingView: false, leftView: 1 });
    for (const r of [0, 1, 2, 3]) expect(c.durable[r]!.skips).toEqual([{ above: 1, through: 2 }]);
    c.interceptor = undefined;
    const id = c.submit(0, 'after', 'return');
    c.run(60);
    expect(c.accepted(0, id)).toBeDefined();
    expect(c.replicas[3]!.status().lastExecuted).toBe(c.replicas[1]!.status().lastExecuted);
    for (const r of [0, 1, 2, 3]) expect(inNormal(c, r, 1)).toBe(true);
    c.checkAgreement();
  });

  it('skipped views are never entered: after a return the next view change passes over them', () => {
    const c = new TestCluster(4, 1);
    load(c, 30);
    strand(c, 3, [1, 2], [0]);
    expect(until(c, () => inNormal(c, 3, 0), 200)).toBeDefined();
    // The primary of view 0 crashes: view 1 is skipped by everyone, so view 2 it is.
    c.down.add(0);
    let enteredOne = false;
    c.observer = () => {
      for (const r of [1, 2, 3]) if (c.replicas[r]!.status().view === 1) enteredOne = true;
    };
    const id = c.submit(0, 'k', 'v', [1, 2, 3]);
    c.run(300);
    expect(enteredOne).toBe(false);
    for (const r of [1, 2, 3]) expect(inNormal(c, r, 2)).toBe(true);
    expect(c.accepted(0, id)).toBeDefined();
    c.checkAgreement([1, 2, 3]);
  });
});

describe('acknowledging a return', () => {
  it('the skip is durable before the ack leaves, and survives a restart: a NEW-VIEW for a skipped view is SKIPPED_VIEW, a view change goes past it', () => {
    const c = new TestCluster(4, 1);
    load(c, 30);
    strand(c, 3, [1, 2], [0]);
    const ackSteps: ReplicaOutput[] = [];
    c.observer = (step) => {
      if (step.replica === 2 && sent(step.output, MessageType.returnAck).length > 0)
        ackSteps.push(step.output);
    };
    expect(until(c, () => inNormal(c, 3, 0), 200)).toBeDefined();
    c.observer = undefined;
    // The step that sent the first acknowledgement persisted the skip (the host writes before it sends).
    expect(ackSteps.length).toBeGreaterThan(0);
    expect(ackSteps[0]!.persist).toContainEqual({ kind: 'skips', intervals: [{ above: 0, through: 1 }] });
    const ack = c.decode(sent(ackSteps[0]!, MessageType.returnAck)[0]!.frame)!.body as ReturnAck;
    expect(ack).toEqual({ type: MessageType.returnAck, view: 0, through: 1, returner: 3, replica: 2 });
    expect(c.durable[2]!.skips).toEqual([{ above: 0, through: 1 }]);

    // A NEW-VIEW for view 1 that a replica which skipped nothing enters...
    const newView = emptyNewView(c, 1, [0, 1, 3]);
    const control = new TestCluster(4, 1);
    control.inject(2, newView);
    expect(inNormal(control, 2, 1)).toBe(true);
    // ...is refused by the acknowledger, even after a crash.
    c.restart(2);
    expect(inNormal(c, 2, 0)).toBe(true);
    const refused = c.inject(2, newView);
    expect(rejectedWith(refused, 'SKIPPED_VIEW')).toHaveLength(1);
    expect(c.replicas[2]!.rejections().SKIPPED_VIEW).toBe(1);
    expect(inNormal(c, 2, 0)).toBe(true);
    // A view change that would go to view 1 goes to view 2, the first view it did not skip.
    c.inject(2, suspicion(c, 0, 0));
    const left = c.inject(2, suspicion(c, 1, 0));
    expect(c.replicas[2]!.status()).toMatchObject({ view: 2, changingView: true });
    const viewChange = sent(left, MessageType.viewChange).map((s) => c.decode(s.frame)!.body as ViewChange);
    expect(viewChange.map((vc) => vc.newView)).toEqual([2]);
    expect(c.durable[2]).toMatchObject({ view: 2, changingView: true });
  });

  it('a re-sent RETURN is answered with the same ack, without a new durable write or rate limiting', () => {
    const c = new TestCluster(4, 1);
    load(c, 20);
    const first = c.inject(0, returnFrame(c, 3, 0, 1, 0));
    expect(first.persist).toEqual([{ kind: 'skips', intervals: [{ above: 0, through: 1 }] }]);
    const firstAck = sent(first, MessageType.returnAck);
    expect(firstAck).toHaveLength(1);
    expect(firstAck[0]!.to).toEqual({ kind: 'replica', id: 3 });
    // Returning to the view it left: no NEW-VIEW is sent along.
    expect(sent(first, MessageType.newView)).toHaveLength(0);
    c.run(1);
    const again = c.inject(0, returnFrame(c, 3, 0, 1, 0));
    expect(again.rejected).toEqual([]);
    expect(again.persist).toEqual([]);
    const againAck = sent(again, MessageType.returnAck);
    expect(againAck).toHaveLength(1);
    expect(Buffer.from(againAck[0]!.frame).equals(Buffer.from(firstAck[0]!.frame))).toBe(true);
  });

  it('only a replica in normal mode in exactly the view returned to acknowledges', () => {
    const c = new TestCluster(4, 1);
    load(c, 20);
    // Replica 0 works in view 0: a return into view 1 (where it is not) gets nothing.
    const other = c.inject(0, returnFrame(c, 3, 1, 2, 0));
    expect(other).toMatchObject({ persist: [], rejected: [] });
    expect(sent(other, MessageType.returnAck)).toHaveLength(0);
    // Nor does a replica changing into the view returned to (it is not working there yet).
    strand(c, 2, [0, 1], [0]);
    expect(c.replicas[2]!.status()).toMatchObject({ view: 1, changingView: true });
    const changing = c.inject(2, returnFrame(c, 3, 1, 2, 0));
    expect(changing).toMatchObject({ persist: [], rejected: [] });
    expect(sent(changing, MessageType.returnAck)).toHaveLength(0);
    expect(c.durable[0]!.skips).toEqual([]);
    expect(c.durable[2]!.skips).toEqual([]);
  });

  it("a replica that holds another replica's suspicion of the view does not acknowledge a return into it", () => {
    const c = new TestCluster(4, 1);
    load(c, 20);
    // Replica 1 suspects view 0 (one suspicion: replica 0 stays in it). A view being given up
    // is no view to return into: were replica 0 to skip view 1, the others could form view 1
    // without it, with a returner that lied about being stranded.
    c.inject(0, suspicion(c, 1, 0));
    expect(inNormal(c, 0, 0)).toBe(true);
    const refused = c.inject(0, returnFrame(c, 3, 0, 1, 0));
    expect(sent(refused, MessageType.returnAck)).toHaveLength(0);
    expect(c.durable[0]!.skips).toEqual([]);
    // The returner's own suspicion does not count against its return: control on replica 2.
    c.inject(2, suspicion(c, 3, 0));
    const acked = c.inject(2, returnFrame(c, 3, 0, 1, 0));
    expect(sent(acked, MessageType.returnAck)).toHaveLength(1);
  });

  it("the returner's view-change into a view it returns over is dropped: it no longer counts towards a join", () => {
    const c = new TestCluster(4, 1);
    load(c, 20);
    // Replica 0 holds replica 3's view-change into view 1...
    c.inject(0, encodeFrame(emptyViewChange(c, 3, 1)));
    expect(inNormal(c, 0, 0)).toBe(true);
    // ...until replica 3 returns over view 1.
    c.inject(0, returnFrame(c, 3, 0, 1, 0));
    // One more replica's view-change into view 1 is then one, not f+1: no join.
    c.inject(0, encodeFrame(emptyViewChange(c, 2, 1)));
    expect(inNormal(c, 0, 0)).toBe(true);

    // Control: without the return, the same two view-changes make replica 0 join.
    const control = new TestCluster(4, 1);
    load(control, 20);
    control.inject(0, encodeFrame(emptyViewChange(control, 3, 1)));
    control.inject(0, encodeFrame(emptyViewChange(control, 2, 1)));
    expect(control.replicas[0]!.status().changingView).toBe(true);
  });

  it.each([
    ['through equal to view', 0, 0, 0],
    ['through below view', 1, 0, 0],
    ['a span above RETURN_SPAN_MAX', 0, 3, 0],
    ['left above view', 0, 1, 1],
  ])('a RETURN with %s is INVALID_RETURN: no skip, no ack', (_, view, through, left) => {
    const c = new TestCluster(4, 1);
    load(c, 20);
    const out = c.inject(0, returnFrame(c, 3, view, through, left));
    expect(rejectedWith(out, 'INVALID_RETURN')).toHaveLength(1);
    expect(c.replicas[0]!.rejections().INVALID_RETURN).toBe(1);
    expect(out.persist).toEqual([]);
    expect(sent(out, MessageType.returnAck)).toHaveLength(0);
    expect(c.durable[0]!.skips).toEqual([]);
  });

  it('a RETURN of the largest span with left equal to its view is valid', () => {
    const c = new TestCluster(4, 1);
    load(c, 20);
    const out = c.inject(0, returnFrame(c, 3, 0, 2, 0));
    expect(out.rejected).toEqual([]);
    expect(sent(out, MessageType.returnAck)).toHaveLength(1);
    expect(c.durable[0]!.skips).toEqual([{ above: 0, through: 2 }]);
  });

  /** Replicas 0-2 in view 1 (left view 0 on suspicions that then lapsed), replica 3 in view 0. */
  function othersInViewOne(): TestCluster {
    const c = new TestCluster(4, 1);
    load(c, 30);
    c.down.add(3);
    for (const r of [0, 1, 2])
      for (const from of [0, 1, 2]) if (from !== r) c.inject(r, suspicion(c, from, 0));
    c.run(20);
    c.down.delete(3);
    return c;
  }

  it('an acknowledger sends the NEW-VIEW of its view along when the returner never was in it', () => {
    const c = othersInViewOne();
    for (const r of [0, 1, 2]) expect(inNormal(c, r, 1)).toBe(true);
    const out = c.inject(0, returnFrame(c, 3, 1, 2, 0));
    expect(sent(out, MessageType.returnAck)).toHaveLength(1);
    const newViews = sent(out, MessageType.newView);
    expect(newViews).toHaveLength(1);
    expect(newViews[0]!.to).toEqual({ kind: 'replica', id: 3 });
    expect(c.decode(newViews[0]!.frame)!.body).toMatchObject({ type: MessageType.newView, view: 1 });
    expect(c.durable[0]!.skips).toEqual([{ above: 1, through: 2 }]);
  });

  // A 76-byte RETURN replayed by a Byzantine replica must not draw a NEW-VIEW of kilobytes
  // (megabytes with prepared batches) per copy: at most one per retryTicks.
  it('a replayed RETURN does not make the acknowledger resend its NEW-VIEW per copy', () => {
    const c = othersInViewOne();
    const frame = returnFrame(c, 3, 1, 2, 0);
    let newViews = 0;
    let bytes = 0;
    for (let copy = 0; copy < 100; copy++) {
      for (const s of sent(c.inject(0, frame), MessageType.newView)) {
        newViews++;
        bytes += s.frame.byteLength;
      }
    }
    expect(
      newViews,
      `${newViews} NEW-VIEWs (${bytes} bytes) for 100 copies of a ${frame.byteLength}-byte RETURN`,
    ).toBeLessThanOrEqual(2);
  });

  it('a Byzantine replica flooding new RETURNs is RETURN_RATE_LIMITED; the skips stay bounded and the cluster works', () => {
    const c = new TestCluster(4, 1);
    load(c, 20);
    const honest = [0, 1, 2];
    const limited = honest.map(() => 0);
    const skipWrites = honest.map(() => 0);
    /** Per honest replica, the returns it handled anew (its ack changed), and when. */
    const handled = honest.map(() => [] as number[]);
    const lastAck = honest.map(() => '');
    const ticks = 200;
    for (let tick = 0; tick < ticks; tick++) {
      // Replica 3 sends every replica two different returns every tick.
      for (const r of honest) {
        for (const through of [1, 2]) {
          const out = c.inject(r, returnFrame(c, 3, 0, through, 0));
          limited[r]! += rejectedWith(out, 'RETURN_RATE_LIMITED').length;
          skipWrites[r]! += out.persist.filter((p) => p.kind === 'skips').length;
          for (const ack of sent(out, MessageType.returnAck)) {
            const body = c.decode(ack.frame)!.body as ReturnAck;
            const key = `${body.view}:${body.through}`;
            if (key !== lastAck[r]) handled[r]!.push(c.ticks);
            lastAck[r] = key;
          }
        }
      }
      if (tick % 5 === 0) c.submit(0, `k${tick % 3}`, `v${tick}`);
      c.run(1);
    }
    for (const r of honest) {
      expect(limited[r]).toBeGreaterThanOrEqual(ticks / 2);
      // A new return at most once per retry period.
      expect(handled[r]!.length).toBeLessThanOrEqual(ticks / RETRY + 1);
      for (let i = 1; i < handled[r]!.length; i++)
        expect(handled[r]![i]! - handled[r]![i - 1]!).toBeGreaterThanOrEqual(RETRY);
      // The skips joined into one interval of at most RETURN_SPAN_MAX views, written twice.
      expect(skipWrites[r]).toBeLessThanOrEqual(2);
      expect(c.durable[r]!.skips).toEqual([{ above: 0, through: 2 }]);
      expect(inNormal(c, r, 0)).toBe(true);
    }
    const id = c.submit(0, 'after', 'flood');
    c.run(40);
    expect(c.accepted(0, id)).toBeDefined();
    c.checkAgreement();
  });
});
