/**
 * The daemon's inbox on a fake clock: one agent's flood cannot delay another agent's frame or
 * the replicas', and every refusal says which agent and why.
 */
import {
  createFetchReceipt,
  createQuery,
  createRequest,
  encodeCanonical,
  MessageType,
  nodeCrypto,
} from '@conclave/core';
import { describe, expect, it } from 'vitest';
import {
  AGENT_MESSAGE_TYPES,
  agentFrameKind,
  DEFAULT_AGENT_LIMITS,
  isReplicaOnlyFrame,
  resolveAgentLimits,
} from '../src/agent-limits.ts';
import { ROUND_INPUTS_MAX } from '../src/daemon.ts';
import { DeficitRoundRobin } from '../src/deficit-round-robin.ts';
import { AGENT_FRAMES_QUEUED_MAX, FairInbox, REPLICA_ROUND_SHARE } from '../src/fair-inbox.ts';
import { TokenBucket } from '../src/token-bucket.ts';
import { largestPrePrepare } from './support/forged-pre-prepare.ts';

const crypto = nodeCrypto();
const keys = crypto.keyPairFromSeed(new Uint8Array(32).fill(3));
const query = createQuery(
  { agent: 'flooder', queryId: 1, operation: new Uint8Array(8) },
  crypto,
  keys.secretKey,
).frame;
const request = createRequest(
  { agent: 'honest', requestId: 1, operation: new Uint8Array(8) },
  crypto,
  keys.secretKey,
).frame;

const flooder = { kind: 'agent', id: 'flooder' } as const;
const honest = { kind: 'agent', id: 'honest' } as const;
const replica1 = { kind: 'replica', id: 1 } as const;

/** An inbox whose items are labels, on a clock the test moves. */
const unlimitedRates = { readsPerSecond: 1e9, burstFrames: 1e9, bytesPerSecond: 1e12, burstBytes: 1e12 };

function inbox(limits = {}) {
  const clock = { nowMs: 0 };
  const box = new FairInbox<string>(resolveAgentLimits(limits), 4, () => clock.nowMs);
  return { clock, box };
}

describe('agentFrameKind', () => {
  it('tells a request from a query by peeking, without decoding', () => {
    expect(agentFrameKind(request)).toBe('request');
    expect(agentFrameKind(query)).toBe('read');
    expect(agentFrameKind(new Uint8Array([1, 2, 3]))).toBe('read');
    expect(agentFrameKind(new Uint8Array(0))).toBe('read');
  });
});

/** A canonical frame `[body, signature, []]` whose body is `[type, 0]`: enough for the type peek. */
const frameOfType = (type: number) => encodeCanonical([encodeCanonical([type, 0]), new Uint8Array(64), []]);
const fetchReceipt = createFetchReceipt(
  { agent: 'honest', requestId: 1, sequence: 1 },
  crypto,
  keys.secretKey,
);
const replicaOnlyTypes = Object.values(MessageType).filter((type) => !AGENT_MESSAGE_TYPES.has(type));

describe('isReplicaOnlyFrame', () => {
  it('knows every type but request, query and fetchReceipt as a replica’s, from a peek', () => {
    expect(replicaOnlyTypes).toHaveLength(16);
    for (const type of replicaOnlyTypes)
      expect(isReplicaOnlyFrame(frameOfType(type)), `type ${type}`).toBe(true);
    expect(isReplicaOnlyFrame(largestPrePrepare(true))).toBe(true);
    for (const frame of [request, query, fetchReceipt]) expect(isReplicaOnlyFrame(frame)).toBe(false);
    // Unknown types and frames that do not peek are left to the decoder.
    for (const frame of [frameOfType(0), frameOfType(20), new Uint8Array([0x93]), new Uint8Array(0)])
      expect(isReplicaOnlyFrame(frame)).toBe(false);
  });
});

describe('FairInbox', () => {
  it('refuses a replica’s message type from an agent before any work, counted by agent', () => {
    const { box } = inbox();
    let made = 0;
    const make = () => {
      made++;
      return 'made';
    };
    for (const frame of [largestPrePrepare(true), ...replicaOnlyTypes.map(frameOfType)])
      expect(box.offer(flooder, frame, make)).toEqual({
        ok: false,
        lane: 'agent',
        agent: 'flooder',
        reason: 'REPLICA_ONLY_TYPE',
      });
    expect(made).toBe(0);
    expect(box.agentFrames).toBe(0);
    // The same frames from a replica are admitted; the agent's own kinds still are.
    expect(box.offer(replica1, largestPrePrepare(true), make).ok).toBe(true);
    for (const frame of [request, query, fetchReceipt]) expect(box.offer(flooder, frame, make).ok).toBe(true);
    expect(made).toBe(4);
  });

  it('does not spend an agent’s budget on a refused replica type', () => {
    const { box } = inbox({ readsPerSecond: 1, burstFrames: 1 });
    for (let i = 0; i < 10; i++) box.offer(flooder, frameOfType(MessageType.prepare), () => 'p');
    expect(box.offer(flooder, query, () => 'q').ok).toBe(true);
  });

  it('puts an honest agent’s one frame in the next round, behind 10,000 of a flooder', () => {
    const { box } = inbox(unlimitedRates);
    let admitted = 0;
    for (let i = 0; i < 10_000; i++) if (box.offer(flooder, query, () => `flood-${i}`).ok) admitted++;
    expect(admitted).toBe(DEFAULT_AGENT_LIMITS.queueFramesMax); // its own queue bounds it
    expect(box.offer(honest, request, () => 'honest').ok).toBe(true);
    const round = box.nextRound(8);
    expect(round).toContain('honest');
    expect(round).toHaveLength(8);
  });

  it('still serves the honest frame first round when 20 flooders fill more than a round', () => {
    const { box } = inbox(unlimitedRates);
    for (let a = 0; a < 20; a++)
      for (let i = 0; i < 100; i++) box.offer({ kind: 'agent', id: `f${a}` }, query, () => `flood-${a}`);
    box.offer(honest, request, () => 'honest');
    expect(box.agentFrames).toBe(20 * 64 + 1);
    expect(box.nextRound(ROUND_INPUTS_MAX)).toContain('honest');
  });

  it('refuses a flooder by reason and agent: queue full, then rate', () => {
    const { box, clock } = inbox({ readsPerSecond: 10, burstFrames: 5, queueFramesMax: 3 });
    const reasons = Array.from({ length: 6 }, () => box.offer(flooder, query, () => 'q'));
    expect(reasons.slice(0, 3).every((offer) => offer.ok)).toBe(true);
    expect(reasons[3]).toEqual({ ok: false, lane: 'agent', agent: 'flooder', reason: 'AGENT_QUEUE_FULL' });
    box.nextRound(100);
    expect(box.offer(flooder, query, () => 'q').ok).toBe(true);
    expect(box.offer(flooder, query, () => 'q').ok).toBe(true);
    expect(box.offer(flooder, query, () => 'q')).toMatchObject({ ok: false, reason: 'READ_RATE' });
    // Reads spent do not touch the request budget.
    expect(box.offer(flooder, request, () => 'r').ok).toBe(true);
    box.nextRound(100);
    clock.nowMs += 100; // one read's worth of refill at 10/s
    expect(box.offer(flooder, query, () => 'q').ok).toBe(true);
    expect(box.offer(flooder, query, () => 'q')).toMatchObject({ ok: false, reason: 'READ_RATE' });
  });

  it('does no work for a refused frame', () => {
    const { box } = inbox({ queueFramesMax: 1 });
    box.offer(flooder, query, () => 'q');
    let made = 0;
    box.offer(flooder, query, () => {
      made++;
      return 'q';
    });
    expect(made).toBe(0);
  });

  it('limits bytes separately, and lets a frame bigger than the burst through when the bucket is full', () => {
    const { box, clock } = inbox({ bytesPerSecond: 1_000, burstBytes: 1_000 });
    const big = new Uint8Array(5_000);
    expect(box.offer(honest, big, () => 'big').ok).toBe(true); // full bucket: in, now in debt
    expect(box.offer(honest, query, () => 'q')).toMatchObject({ ok: false, reason: 'BYTE_RATE' });
    clock.nowMs += 4_000; // still 1,000 - 5,000 + 4,000 = 0 < the query's bytes
    expect(box.offer(honest, query, () => 'q')).toMatchObject({ ok: false, reason: 'BYTE_RATE' });
    clock.nowMs += 1_000;
    expect(box.offer(honest, query, () => 'q').ok).toBe(true);
  });

  it('serves replicas first and keeps their share whatever agents queue', () => {
    const { box } = inbox({ queueFramesMax: 64 });
    for (let a = 0; a < 64; a++)
      for (let i = 0; i < 64; i++) box.offer({ kind: 'agent', id: `a${a}` }, query, () => `agent-${a}`);
    for (let i = 0; i < 2_000; i++) box.offer(replica1, query, () => `replica-${i}`);
    const round = box.nextRound(1_024);
    expect(round.slice(0, REPLICA_ROUND_SHARE).every((item) => item.startsWith('replica-'))).toBe(true);
    expect(round.filter((item) => item.startsWith('agent-'))).toHaveLength(1_024 - REPLICA_ROUND_SHARE);
    expect(round[0]).toBe('replica-0'); // in order within a replica
    expect(box.replicaFrames).toBe(2_000 - REPLICA_ROUND_SHARE);
  });

  it('lets replicas use what agents leave of a round', () => {
    const { box } = inbox();
    for (let i = 0; i < 1_000; i++) box.offer(replica1, query, () => 'r');
    box.offer(honest, request, () => 'honest');
    const round = box.nextRound(1_024);
    expect(round).toHaveLength(1_001);
    expect(round).toContain('honest');
  });

  it('bounds what all agents together hold', () => {
    const { box } = inbox({ queueFramesMax: 64 });
    let refusal: unknown;
    for (let a = 0; a < AGENT_FRAMES_QUEUED_MAX / 64 + 1 && refusal === undefined; a++)
      for (let i = 0; i < 64; i++) {
        const offer = box.offer({ kind: 'agent', id: `a${a}` }, query, () => 'q');
        if (!offer.ok) refusal = offer;
      }
    expect(box.agentFrames).toBe(AGENT_FRAMES_QUEUED_MAX);
    expect(refusal).toMatchObject({ ok: false, reason: 'AGENTS_BUSY' });
  });
});

describe('DeficitRoundRobin', () => {
  it('shares by cost: many small items against a few big ones get equal bytes', () => {
    const drr = new DeficitRoundRobin<string>(1_000, 1_000, 10_000);
    for (let i = 0; i < 100; i++) drr.push('small', 's', 100);
    for (let i = 0; i < 100; i++) drr.push('big', 'b', 1_000);
    const taken = drr.take(44);
    expect(taken.filter((x) => x === 's')).toHaveLength(40);
    expect(taken.filter((x) => x === 'b')).toHaveLength(4);
  });

  it('serves an item costlier than many quanta in one round, not after many', () => {
    const drr = new DeficitRoundRobin<string>(1_000, 10, 100);
    drr.push('huge', 'h', 1_000_000);
    expect(drr.take(10)).toEqual(['h']);
    expect(drr.size).toBe(0);
  });

  it('refuses beyond a key’s bound and the total', () => {
    const drr = new DeficitRoundRobin<string>(1_000, 2, 3);
    expect(drr.push('a', 'x', 1)).toBeUndefined();
    expect(drr.push('a', 'x', 1)).toBeUndefined();
    expect(drr.push('a', 'x', 1)).toBe('QUEUE_FULL');
    expect(drr.push('b', 'x', 1)).toBeUndefined();
    expect(drr.push('c', 'x', 1)).toBe('TOTAL_FULL');
  });
});

describe('TokenBucket and resolveAgentLimits', () => {
  it('refills at its rate up to its capacity, and never from a clock going back', () => {
    const bucket = new TokenBucket(10, 2, 0);
    expect(bucket.allows(2, 0)).toBe(true);
    bucket.take(2);
    expect(bucket.allows(1, 50)).toBe(false);
    expect(bucket.allows(1, 100)).toBe(true);
    expect(bucket.allows(3, 10_000)).toBe(true); // capped at 2, and 2 is the whole bucket
    bucket.take(2);
    expect(bucket.allows(1, 0)).toBe(false);
  });

  it('names the field that is wrong', () => {
    expect(() => resolveAgentLimits({ readsPerSecond: 0 })).toThrow(/agentLimits.readsPerSecond/);
    expect(() => resolveAgentLimits({ burstFrames: 1.5 })).toThrow(/agentLimits.burstFrames/);
    expect(() => resolveAgentLimits({ queueFramesMax: 1e6 })).toThrow(/at most/);
    expect(() => resolveAgentLimits({ framesPerSecond: 3 } as never)).toThrow(/not a setting/);
    expect(resolveAgentLimits({ readsPerSecond: 7 })).toEqual({ ...DEFAULT_AGENT_LIMITS, readsPerSecond: 7 });
  });
});
