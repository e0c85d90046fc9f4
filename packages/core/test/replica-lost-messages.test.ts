/**
 * Lost messages in a working view (replica/retransmit.ts, the silence timeout in
 * replica/context.ts): the network losing agreement messages — a peer not connected yet, a
 * partition that healed — must not cost the view its primary.
 */
import { describe, expect, it } from 'vitest';
import { MessageType } from '../src/index.ts';
import { TEST_PROTOCOL, TestCluster } from './support/cluster.ts';

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
    c.run(4 * TEST_PROTOCOL.retryTicks);
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
    c.run(TEST_PROTOCOL.retryTicks);
    expect(c.replicas[1]?.status().redundantVotesDropped).toBe(before + 2);
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
    expect(status?.silenceTimeoutTicks).toBe(TEST_PROTOCOL.requestTimeoutTicks);
  });
});
