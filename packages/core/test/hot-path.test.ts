/**
 * What the hot path saves must not change what the protocol decides: requests that arrive
 * together share a batch, votes that cannot change anything are dropped before their signature
 * is checked, each valid signature is checked once, and replies can be authenticated by the
 * channel instead of a signature.
 */
import { describe, expect, it } from 'vitest';
import {
  CHANNEL_AUTHENTICATOR,
  type CryptoBackend,
  channelReplies,
  channelReplyVerifier,
  createRequest,
  DEFAULT_DECODE_LIMITS,
  decodeFrame,
  encodeFrame,
  encodeKvOperation,
  KvStateMachine,
  MessageType,
  nodeCrypto,
  openAnswer,
  type Prepare,
  Replica,
  signBody,
  signedReplyVerifier,
  verifyCache,
} from '../src/index.ts';
import { seedOf, TEST_PROTOCOL, TestCluster } from './support/cluster.ts';

function countingCrypto(): CryptoBackend & { verifies: number } {
  const base = nodeCrypto();
  const counting = {
    ...base,
    verifies: 0,
    verify(data: Uint8Array, signature: Uint8Array, publicKey: Uint8Array) {
      counting.verifies++;
      return base.verify(data, signature, publicKey);
    },
  };
  return counting;
}

describe('verifyCache', () => {
  const base = countingCrypto();
  const keys = base.keyPairFromSeed(seedOf('cache', 0));
  const other = base.keyPairFromSeed(seedOf('cache', 1));
  const data = new TextEncoder().encode('a message');
  const signature = base.sign(data, keys.secretKey);

  it('checks a valid signature once, and never lets it vouch for other bytes or another key', () => {
    base.verifies = 0;
    const crypto = verifyCache(base);
    expect(crypto.verify(data, signature, keys.publicKey)).toBe(true);
    expect(
      crypto.verify(new Uint8Array(data), new Uint8Array(signature), new Uint8Array(keys.publicKey)),
    ).toBe(true);
    expect(base.verifies).toBe(1);
    expect(crypto.stats).toMatchObject({ hits: 1, misses: 1, size: 1 });
    const tampered = new Uint8Array(data);
    tampered[0] = (tampered[0] as number) ^ 1;
    expect(crypto.verify(tampered, signature, keys.publicKey)).toBe(false);
    expect(crypto.verify(data, signature, other.publicKey)).toBe(false);
    expect(base.verifies).toBe(3);
  });

  it('remembers invalid verdicts too, without letting them shadow a valid signature for long', () => {
    base.verifies = 0;
    const crypto = verifyCache(base);
    const forged = new Uint8Array(signature);
    forged[0] = (forged[0] as number) ^ 1;
    crypto.remember(data, forged, keys.publicKey, false); // the pool said no
    expect(crypto.verify(data, forged, keys.publicKey)).toBe(false);
    expect(base.verifies).toBe(0);
    // Someone sends the honest signature over other bytes first: refused, then the honest
    // message is still accepted (checked again, and remembered as valid).
    expect(crypto.verify(new TextEncoder().encode('other'), signature, keys.publicKey)).toBe(false);
    expect(crypto.verify(data, signature, keys.publicKey)).toBe(true);
    expect(crypto.verify(data, signature, keys.publicKey)).toBe(true);
    expect(base.verifies).toBe(2);
  });

  it('tells a pool what it already knows, for exactly the same bytes and key, without checking', () => {
    base.verifies = 0;
    const crypto = verifyCache(base);
    expect(crypto.known(data, signature, keys.publicKey)).toBeUndefined();
    crypto.verify(data, signature, keys.publicKey);
    expect(crypto.known(new Uint8Array(data), signature, keys.publicKey)).toBe(true);
    expect(crypto.known(new TextEncoder().encode('other'), signature, keys.publicKey)).toBeUndefined();
    expect(crypto.known(data, signature, other.publicKey)).toBeUndefined();
    expect(base.verifies).toBe(1);
    expect(crypto.stats).toMatchObject({ hits: 0, misses: 1 });
  });

  it('takes signatures checked elsewhere, and forgets the oldest beyond its size', () => {
    base.verifies = 0;
    const crypto = verifyCache(base, 2);
    const messages = [0, 1, 2].map((i) => new TextEncoder().encode(`m${i}`));
    const signatures = messages.map((m) => base.sign(m, keys.secretKey));
    messages.forEach((m, i) => {
      crypto.remember(m, signatures[i] as Uint8Array, keys.publicKey);
    });
    expect(crypto.stats.size).toBe(2);
    expect(crypto.verify(messages[2] as Uint8Array, signatures[2] as Uint8Array, keys.publicKey)).toBe(true);
    expect(crypto.verify(messages[1] as Uint8Array, signatures[1] as Uint8Array, keys.publicKey)).toBe(true);
    expect(base.verifies).toBe(0);
    expect(crypto.verify(messages[0] as Uint8Array, signatures[0] as Uint8Array, keys.publicKey)).toBe(true);
    expect(base.verifies).toBe(1); // evicted: checked again
  });
});

describe('bursts', () => {
  it('orders requests that arrive together in one batch; one at a time, the first goes alone', () => {
    const frames = (c: TestCluster) =>
      [0, 1, 2].map(
        (i) =>
          createRequest(
            {
              agent: `agent-${i}`,
              requestId: 1,
              operation: encodeKvOperation({ op: 'put', key: 'k', value: `${i}` }),
            },
            c.crypto,
            (c.agentKeys[i] as { secretKey: Uint8Array }).secretKey,
          ).frame,
      );
    const batchSizes = (sends: readonly { type: MessageType; frame: Uint8Array }[], c: TestCluster) =>
      sends
        .filter((s) => s.type === MessageType.prePrepare)
        .map((s) => c.decode(s.frame)?.batches[0]?.requests.length ?? -1);

    const together = new TestCluster(4, 3, { ...TEST_PROTOCOL, batchSizeMax: 8 });
    const out = (together.replicas[0] as Replica).step({ kind: 'messages', frames: frames(together) });
    expect(batchSizes(out.send, together)).toEqual([3]);

    const alone = new TestCluster(4, 3, { ...TEST_PROTOCOL, batchSizeMax: 8 });
    const sizes = frames(alone).flatMap((frame) =>
      batchSizes((alone.replicas[0] as Replica).step({ kind: 'message', frame }).send, alone),
    );
    expect(sizes).toEqual([1, 1, 1]);
  });

  it('gives the same decisions when every replica steps its inputs in bursts', () => {
    const c = new TestCluster(4, 2);
    const reference = new TestCluster(4, 2);
    for (const cluster of [c, reference])
      for (let i = 0; i < 8; i++) cluster.submit(i % 2, `k${i % 3}`, `v${i}`, [0]);
    c.deliverInBursts();
    reference.deliverAll();
    c.run(3);
    reference.run(3);
    c.checkAgreement();
    const executed = (cluster: TestCluster, r: number) =>
      (cluster.executed[r] ?? []).flatMap((b) => b.requests.map((q) => `${q.agent}/${q.requestId}`)).sort();
    for (const r of [0, 1, 2, 3]) {
      expect(executed(c, r)).toHaveLength(8);
      expect(executed(c, r)).toEqual(executed(reference, r));
    }
    // Fewer batches: the requests queued together went into one.
    expect((c.executed[0] ?? []).filter((b) => b.requests.length > 0).length).toBeLessThan(
      (reference.executed[0] ?? []).filter((b) => b.requests.length > 0).length,
    );
  });
});

describe('redundant votes', () => {
  it('drops a prepare for a sequence already prepared without checking its signature', () => {
    const counting = countingCrypto();
    const c = new TestCluster(4, 1, TEST_PROTOCOL, counting);
    c.submit(0, 'k', 'v');
    c.deliverAll();
    expect(c.replicas.every((r) => r.status().lastExecuted === 1)).toBe(true);
    // Each replica checks the request, the pre-prepare (backups), the prepares it needs for 2f
    // with its own, and 2f commits: 5 each, 20 in all; the primary also checks the 3 copies of the
    // request the backups relay to it (the daemon's verifyCache answers those), and the agent
    // checks 4 replies: 27. Checking every vote that arrives would be 3 x 8 + 10 + 4 = 38.
    expect(counting.verifies).toBe(27);
    const dropped = c.replicas.reduce((sum, r) => sum + r.status().redundantVotesDropped, 0);
    expect(dropped).toBeGreaterThan(0);

    // A late prepare with a garbage signature at sequence 1: dropped, not even rejected.
    const before = c.replicas[1]?.rejections().BAD_SIGNATURE ?? 0;
    const body: Prepare = {
      type: MessageType.prepare,
      view: 0,
      sequence: 1,
      digest: (c.executed[1]?.[0]?.digest as Uint8Array) ?? new Uint8Array(32),
      replica: 2,
    };
    const signed = signBody(body, counting, (c.replicaKeys[2] as { secretKey: Uint8Array }).secretKey);
    const garbage = encodeFrame({ ...signed, signature: new Uint8Array(64).fill(7) });
    c.inject(1, garbage);
    expect(c.replicas[1]?.rejections().BAD_SIGNATURE ?? 0).toBe(before);

    // The same vote with another digest from a replica that voted is checked: equivocation is reported.
    const conflicting = encodeFrame(
      signBody(
        { ...body, digest: new Uint8Array(32).fill(9) },
        counting,
        (c.replicaKeys[2] as { secretKey: Uint8Array }).secretKey,
      ),
    );
    c.inject(1, conflicting);
    expect(c.replicas[1]?.rejections().CONFLICTING_VOTE ?? 0).toBeGreaterThan(0);
  });
});

describe('channel-authenticated replies', () => {
  it('carry no signature and are accepted only from the channel of the replica they name', () => {
    const crypto = nodeCrypto();
    const c = new TestCluster(4, 1);
    const keys = crypto.keyPairFromSeed(seedOf('replica', 1));
    const replica = new Replica({
      id: 1,
      cluster: c.cluster,
      protocol: TEST_PROTOCOL,
      crypto,
      secretKey: keys.secretKey,
      stateMachine: new KvStateMachine(crypto.hash),
      replyAuthenticator: channelReplies(),
    });
    const { frame } = createRequest(
      { agent: 'agent-0', requestId: 1, operation: encodeKvOperation({ op: 'put', key: 'k', value: 'v' }) },
      crypto,
      (c.agentKeys[0] as { secretKey: Uint8Array }).secretKey,
    );
    // Replica 1 (same key as the cluster's) answers with channel replies; the others sign.
    c.replicas[1] = replica;
    c.inject(0, frame);
    const replies: Uint8Array[] = [];
    c.interceptor = (envelope) => {
      if (envelope.from === 'r1' && envelope.to === 'agent-0') {
        replies.push(envelope.frame);
        return [];
      }
      return undefined;
    };
    c.deliverAll();
    expect(replies.length).toBe(1);
    const reply = replies[0] as Uint8Array;
    const decoded = decodeFrame(reply, DEFAULT_DECODE_LIMITS, crypto.hash);
    expect(decoded.ok && decoded.value.signature).toEqual(CHANNEL_AUTHENTICATOR);
    const verifier = channelReplyVerifier();
    expect(openAnswer(reply, verifier, crypto, undefined, 1).ok).toBe(true);
    expect(openAnswer(reply, verifier, crypto, undefined, 2).ok).toBe(false); // relayed by replica 2
    expect(openAnswer(reply, verifier, crypto).ok).toBe(false); // not from a replica's channel
    expect(openAnswer(reply, signedReplyVerifier(crypto, c.cluster), crypto, undefined, 1).ok).toBe(false);
  });
});
