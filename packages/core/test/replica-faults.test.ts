import { describe, expect, it } from 'vitest';
import { encodeFrame, type Frame, MessageType, makeBatch, type PrePrepare, signBody } from '../src/index.ts';
import { type Envelope, TestCluster } from './support/cluster.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('(a) crashed primary', () => {
  it('backups change view and every request completes', () => {
    const c = new TestCluster(4, 2);
    c.down.add(0);
    const ids: [number, number][] = [];
    for (let i = 0; i < 6; i++) ids.push([i % 2, c.submit(i % 2, `k${i}`, `v${i}`)]); // agents broadcast after their timeout
    c.run(400);
    for (const [agent, id] of ids)
      expect(c.accepted(agent, id), `agent ${agent} request ${id}`).toBeDefined();
    for (const r of [1, 2, 3]) {
      expect(c.replicas[r]!.status().view).toBeGreaterThanOrEqual(1);
      expect(c.replicas[r]!.status().changingView).toBe(false);
    }
    c.checkAgreement([1, 2, 3]);
  });
});

describe('(b) equivocating primary', () => {
  it('sends different pre-prepares for one sequence to different backups: no divergence, a view change, progress', () => {
    const c = new TestCluster(4, 1);
    const primaryKey = c.replicaKeys[0]!.secretKey;
    let equivocated = 0;
    c.interceptor = (envelope: Envelope, frame: Frame | undefined) => {
      if (envelope.from !== 'r0' || frame?.body.type !== MessageType.prePrepare) return undefined;
      const body = frame.body as PrePrepare;
      if (body.view !== 0 || envelope.to === 'r1') return undefined;
      // Replicas 2 and 3 get a different batch for the same (view, sequence): same requests, another timestamp.
      const original = frame.batches[0]!;
      const other = makeBatch(original.timestamp + 1, original.requests, c.crypto.hash);
      const forged = signBody<PrePrepare>({ ...body, digest: other.digest }, c.crypto, primaryKey);
      equivocated++;
      return [{ ...envelope, frame: encodeFrame(forged, [other]) }];
    };
    const ids = [c.submit(0, 'a', '1'), c.submit(0, 'b', '2'), c.submit(0, 'c', '3')];
    c.run(600);
    expect(equivocated).toBeGreaterThan(0);
    for (const id of ids) expect(c.accepted(0, id), `request ${id}`).toBeDefined();
    c.checkAgreement();
    expect(Math.max(...c.replicas.map((r) => r.status().view))).toBeGreaterThanOrEqual(1);
  });
});

describe('(c) view change with a sequence prepared at only some replicas', () => {
  it('the new view keeps the prepared digest at its sequence', () => {
    const c = new TestCluster(4, 1);
    let proposed: string | undefined;
    // Sequence 1 prepares at replicas 1 and 2 only: replica 3 sees neither the pre-prepare nor
    // the prepares, and no commit reaches anyone, so nothing commits in view 0.
    c.interceptor = (envelope, frame) => {
      const body = frame?.body;
      if (body?.type === MessageType.prePrepare && body.view === 0) proposed ??= hex(body.digest);
      if (body?.type === MessageType.commit && body.view === 0) return [];
      if (
        (body?.type === MessageType.prePrepare || body?.type === MessageType.prepare) &&
        body.view === 0 &&
        envelope.to === 'r3'
      )
        return [];
      return undefined;
    };
    const id = c.submit(0, 'k', 'v', [0]);
    c.deliverAll();
    expect(proposed).toBeDefined();
    expect(c.executed.every((e) => e.length === 0)).toBe(true);
    // The primary crashes; the network heals for everyone else; the backups time out.
    c.down.add(0);
    c.interceptor = undefined;
    c.run(400);
    for (const r of [1, 2, 3]) {
      const atOne = c.executed[r]!.find((b) => b.sequence === 1);
      expect(atOne, `replica ${r} executed sequence 1`).toBeDefined();
      expect(hex(atOne!.digest)).toBe(proposed);
      expect(atOne!.view).toBeGreaterThanOrEqual(1);
    }
    expect(c.accepted(0, id)).toBeDefined();
    c.checkAgreement([1, 2, 3]);
  });
});

describe('(d) a replica that missed several checkpoints', () => {
  it('catches up by state transfer and then agrees', () => {
    const c = new TestCluster(4, 1);
    c.down.add(3);
    for (let i = 0; i < 20; i++) {
      c.submit(0, `k${i % 5}`, `v${i}`, [0]);
      c.run(3);
    }
    const ahead = c.replicas[0]!.status();
    expect(ahead.stableCheckpoint).toBeGreaterThanOrEqual(12); // several checkpoints (K = 4) went by
    expect(c.replicas[3]!.status().lastExecuted).toBe(0);
    c.down.delete(3);
    for (let i = 20; i < 26; i++) {
      c.submit(0, `k${i % 5}`, `v${i}`, [0]);
      c.run(20);
    }
    c.run(100);
    const lagging = c.replicas[3]!.status();
    expect(lagging.stableCheckpoint).toBeGreaterThanOrEqual(ahead.stableCheckpoint);
    expect(lagging.lastExecuted).toBeGreaterThanOrEqual(c.replicas[0]!.status().lastExecuted - 1);
    expect(c.executed[3]!.some((b) => b.sequence <= ahead.stableCheckpoint)).toBe(false); // it skipped them: state transfer
    c.checkAgreement();
    // Same state as the others once all have executed the same sequence.
    c.run(60);
    const digests = c.replicas.map((r) => `${r.status().stableCheckpoint}:${hex(r.stableStateDigest())}`);
    expect(new Set(digests).size).toBe(1);
  });
});
