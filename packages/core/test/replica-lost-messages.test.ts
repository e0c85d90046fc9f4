/**
 * Lost messages in a working view (replica/retransmit.ts, the silence timeout in
 * replica/context.ts): the network losing agreement messages — a peer not connected yet, a
 * partition that healed — must not cost the view its primary.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame, MessageType } from '../src/index.ts';
import { TEST_PROTOCOL, TestCluster } from './support/cluster.ts';

const RETRY_TICKS = TEST_PROTOCOL.retryTicks as number;

const AGREEMENT_TYPES: ReadonlySet<number> = new Set([
  MessageType.prePrepare,
  MessageType.prepare,
  MessageType.commit,
]);

describe('lost agreement messages', () => {
  it('when every pre-prepare, prepare and commit of a sequence is lost once, the replicas re-send theirs and it executes in the same view', () => {
    const c = new TestCluster(4, 1);
    const seen = new Set<string>();
    let dropped = 0;
    c.interceptor = (envelope, frame) => {
      if (frame === undefined || !AGREEMENT_TYPES.has(frame.body.type)) return undefined;
      const key = `${envelope.from}>${envelope.to}:${frame.body.type}`;
      if (seen.has(key)) return undefined;
      seen.add(key);
      dropped++;
      return [];
    };
    const id = c.submit(0, 'k', 'v');
    c.run(1);
    expect(c.accepted(0, id)).toBeUndefined(); // the first copies are gone
    // The pre-prepare is re-sent a retry period after it stopped executing; the prepares and
    // commits it starts are lost too, and re-sent a retry period later each.
    c.run(4 * RETRY_TICKS);
    expect(dropped).toBeGreaterThanOrEqual(3 + 3 * 3 + 4 * 3);
    expect(c.accepted(0, id)).toBeDefined();
    for (const replica of c.replicas)
      expect(replica.status()).toMatchObject({ view: 0, changingView: false });
    c.checkAgreement();
  });

  it('a replica that holds a re-sent vote drops the copy before checking its signature', () => {
    const c = new TestCluster(4, 1);
    c.interceptor = (envelope, frame) =>
      frame?.body.type === MessageType.commit && envelope.to === 'r3' ? [] : undefined;
    c.submit(0, 'k', 'v');
    c.run(1);
    // r3 prepared but cannot commit; the others executed. Before it fetches the certificate, r3
    // re-sends its prepare and commit once; r1 holds both already.
    expect(c.replicas[3]?.status().lastExecuted).toBe(0);
    const before = c.replicas[1]?.status().redundantVotesDropped ?? 0;
    c.run(RETRY_TICKS);
    expect(c.replicas[1]?.status().redundantVotesDropped).toBe(before + 2);
  });
  it('a copy of a logged pre-prepare is dropped before any signature is checked', () => {
    const c = new TestCluster(4, 1);
    let prePrepare: Uint8Array | undefined;
    c.interceptor = (envelope, frame) => {
      if (frame?.body.type === MessageType.prePrepare && envelope.to === 'r1') prePrepare = envelope.frame;
      // Commits never reach r1, so it keeps the sequence in its log, prepared, in view 0.
      return frame?.body.type === MessageType.commit && envelope.to === 'r1' ? [] : undefined;
    };
    c.submit(0, 'k', 'v');
    c.run(1);
    // A copy with a broken signature: were it checked, it would be refused as BAD_SIGNATURE.
    const decoded = c.decode(prePrepare as Uint8Array)!;
    const signature = Uint8Array.from(decoded.signature);
    signature[0] = (signature[0] as number) ^ 0xff;
    const copy = encodeFrame({ ...decoded, signature }, decoded.batches);
    const r1 = c.replicas[1]!;
    const before = r1.status().redundantVotesDropped;
    const output = c.inject(1, copy);
    expect(output.rejected).toEqual([]);
    expect(r1.status().redundantVotesDropped).toBe(before + 1);
  });
});

describe('lost requests', () => {
  it('a request only a backup holds, whose forward to the primary was lost, is forwarded again and executes in the same view', () => {
    const c = new TestCluster(4, 1);
    let lost = 0;
    c.interceptor = (envelope, frame) => {
      if (frame?.body.type !== MessageType.request || envelope.from !== 'r1' || lost > 0) return undefined;
      lost++;
      return [];
    };
    const id = c.submit(0, 'k', 'v', [1]); // an agent that tells one backup only
    c.run(1);
    expect(lost).toBe(1);
    c.run(3 * RETRY_TICKS);
    expect(c.accepted(0, id)).toBeDefined();
    for (const replica of c.replicas)
      expect(replica.status()).toMatchObject({ view: 0, changingView: false });
  });
});

describe('silence timeout before the view has a rhythm', () => {
  it('a backup that has measured few gaps between messages waits the full timeout, not the short floor', () => {
    const c = new TestCluster(4, 1);
    // Commits never reach r1: it holds a prepared sequence it cannot execute (work outstanding)
    // after seeing only a handful of messages.
    c.interceptor = (envelope, frame) =>
      frame?.body.type === MessageType.commit && envelope.to === 'r1' ? [] : undefined;
    c.submit(0, 'k', 'v');
    c.run(1);
    const status = c.replicas[1]?.status();
    expect(status?.lastExecuted).toBe(0);
    expect(status?.silenceTimeoutTicks).toBe(TEST_PROTOCOL.requestTimeoutTicks as number);
  });
});
