import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Commit,
  createRequest,
  encodeCanonical,
  encodeFrame,
  encodeKvOperation,
  MessageType,
  type PrePrepare,
  type Prepare,
  signBody,
} from '../src/index.ts';
import { TestCluster } from './support/cluster.ts';

function vote(c: TestCluster, signer: number, claimed: number, fields: Partial<Prepare> = {}) {
  return encodeFrame(
    signBody<Prepare>(
      {
        type: MessageType.prepare,
        view: 0,
        sequence: 1,
        digest: new Uint8Array(32).fill(9),
        replica: claimed,
        ...fields,
      },
      c.crypto,
      c.replicaKeys[signer]!.secretKey,
    ),
  );
}

describe('bad input is rejected with a typed reason and counted, never thrown', () => {
  it('a forged sender: replica 3 signs a prepare claiming to be replica 2', () => {
    const c = new TestCluster();
    const out = c.inject(1, vote(c, 3, 2));
    expect(out.rejected.map((r) => r.code)).toEqual(['BAD_SIGNATURE']);
    expect(c.replicas[1]!.rejections().BAD_SIGNATURE).toBe(1);
  });

  it('a bad signature', () => {
    const c = new TestCluster();
    const frame = vote(c, 2, 2);
    const decoded = c.decode(frame)!;
    const badSignature = new Uint8Array(decoded.signature);
    badSignature[0] = (badSignature[0] as number) ^ 0xff;
    const out = c.inject(1, encodeFrame({ ...decoded, signature: badSignature }));
    expect(out.rejected.map((r) => r.code)).toEqual(['BAD_SIGNATURE']);
    expect(out.send).toHaveLength(0);
  });

  it('a replayed message from an old view', () => {
    const c = new TestCluster();
    c.down.add(0);
    c.submit(0, 'k', 'v');
    c.run(200); // view change to 1
    expect(c.replicas[1]!.status().view).toBeGreaterThanOrEqual(1);
    const before = c.replicas[1]!.rejections().STALE_VIEW ?? 0;
    const out = c.inject(1, vote(c, 2, 2, { view: 0 }));
    expect(out.rejected.map((r) => r.code)).toEqual(['STALE_VIEW']);
    expect(c.replicas[1]!.rejections().STALE_VIEW).toBe(before + 1);
  });

  it('a sequence outside the watermarks', () => {
    const c = new TestCluster();
    const high = c.replicas[1]!.status().highWatermark;
    for (const sequence of [0, high + 1, 10_000]) {
      const out = c.inject(1, vote(c, 2, 2, { sequence }));
      expect(out.rejected.map((r) => r.code)).toEqual(['OUT_OF_WATERMARKS']);
    }
    const commit = encodeFrame(
      signBody<Commit>(
        { type: MessageType.commit, view: 0, sequence: high + 1, digest: new Uint8Array(32), replica: 2 },
        c.crypto,
        c.replicaKeys[2]!.secretKey,
      ),
    );
    expect(c.inject(1, commit).rejected.map((r) => r.code)).toEqual(['OUT_OF_WATERMARKS']);
    expect(c.replicas[1]!.rejections().OUT_OF_WATERMARKS).toBe(4);
  });

  it('a pre-prepare from a backup, a prepare from the primary, a conflicting pre-prepare and a double vote', () => {
    const c = new TestCluster();
    const pp = (signer: number, digest: number) =>
      encodeFrame(
        signBody<PrePrepare>(
          {
            type: MessageType.prePrepare,
            view: 0,
            sequence: 1,
            digest: new Uint8Array(32).fill(digest),
            replica: signer,
          },
          c.crypto,
          c.replicaKeys[signer]!.secretKey,
        ),
      );
    expect(c.inject(1, pp(2, 1)).rejected.map((r) => r.code)).toEqual(['NOT_PRIMARY']);
    expect(c.inject(1, vote(c, 0, 0)).rejected.map((r) => r.code)).toEqual(['PREPARE_FROM_PRIMARY']);
    // A real pre-prepare, then a second one for the same (view, sequence).
    c.submit(0, 'k', 'v', [0]);
    c.deliverAll();
    const batchless = c.inject(1, pp(0, 5));
    expect(batchless.rejected.map((r) => r.code)).toEqual(['CONFLICTING_PRE_PREPARE']);
    expect(
      c.inject(1, vote(c, 2, 2, { digest: new Uint8Array(32).fill(1) })).rejected.map((r) => r.code),
    ).toEqual(['CONFLICTING_VOTE']);
  });

  it('an unknown agent, a stale request, and a request signed by another agent', () => {
    const c = new TestCluster(4, 2);
    const stranger = c.crypto.keyPairFromSeed(new Uint8Array(32).fill(99));
    const op = encodeKvOperation({ op: 'put', key: 'k', value: 'v' });
    const unknown = createRequest(
      { agent: 'mallory', requestId: 1, operation: op },
      c.crypto,
      stranger.secretKey,
    );
    expect(c.inject(0, unknown.frame).rejected.map((r) => r.code)).toEqual(['UNKNOWN_SENDER']);
    const impersonation = createRequest(
      { agent: 'agent-0', requestId: 1, operation: op },
      c.crypto,
      c.agentKeys[1]!.secretKey,
    );
    // Naming its own key, the request names a key that is not agent-0's in force.
    expect(c.inject(0, impersonation.frame).rejected.map((r) => r.code)).toEqual(['REVOKED_KEY']);
    // Naming agent-0's key, the signature does not verify under it.
    const claimed = createRequest(
      { agent: 'agent-0', requestId: 1, operation: op, publicKey: c.agentKeys[0]!.publicKey },
      c.crypto,
      c.agentKeys[1]!.secretKey,
    );
    expect(c.inject(0, claimed.frame).rejected.map((r) => r.code)).toEqual(['BAD_SIGNATURE']);
    c.submit(0, 'k', 'v', [0]);
    c.submit(0, 'k', 'w', [0]);
    c.run(3);
    const stale = createRequest(
      { agent: 'agent-0', requestId: 1, operation: op },
      c.crypto,
      c.agentKeys[0]!.secretKey,
    );
    // requestId 1 was executed and superseded by 2: it is neither executed again nor answered.
    expect(c.inject(0, stale.frame).rejected.map((r) => r.code)).toEqual(['STALE_REQUEST']);
  });

  it('garbage and wrong-but-well-formed frames never throw and are always counted', () => {
    const c = new TestCluster();
    const replica = c.replicas[1]!;
    let counted = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc
            .tuple(
              fc.integer({ min: 0, max: 13 }),
              fc.nat(),
              fc.nat(),
              fc.uint8Array({ minLength: 32, maxLength: 32 }),
              fc.integer({ min: 0, max: 5 }),
            )
            .map(([type, view, sequence, digest, replicaId]) =>
              encodeCanonical([
                encodeCanonical([type, view, sequence, digest, replicaId]),
                new Uint8Array(64),
                [],
              ]),
            ),
        ),
        (frame) => {
          const out = replica.step({ kind: 'message', frame });
          expect(out.rejected).toHaveLength(1);
          expect(out.send).toHaveLength(0);
          counted++;
        },
      ),
      { numRuns: 500 },
    );
    const total = Object.values(replica.rejections()).reduce((a, b) => a + (b ?? 0), 0);
    expect(total).toBe(counted);
  });
});
