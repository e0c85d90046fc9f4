/**
 * Floods of one validly signed frame, replayed: a query (query-flood, as fast as the link takes
 * it, or at a fixed rate) or an ordered request (request-flood). Each copy costs a replica a
 * decode and, unless it remembers the signature, a verification.
 */
import { createQuery, createRequest } from '@conclave/core';
import { ops } from '@conclave/sdk';
import { type Attack, type AttackContext, sleep } from './context.ts';
import { openRawLink, type RawLink, sendCounted } from './raw-link.ts';

/** Frames queued per replica per turn of the event loop when flooding as fast as possible. */
const FRAMES_PER_TURN = 64;
/** The fixed rate of query-flood-500, all replicas together. */
export const QUERY_FLOOD_RATE_PER_S = 500;
const RATE_TICK_MS = 10;

/** Sends `frame` to every replica as fast as the send queues take it, until the signal aborts. */
async function floodFast(context: AttackContext, link: RawLink, frame: Uint8Array): Promise<void> {
  while (!context.signal.aborted) {
    for (const replica of link.replicas)
      for (let i = 0; i < FRAMES_PER_TURN; i++) {
        if (sendCounted(context, link, replica, frame) !== 'queued') break;
      }
    // Let the socket drain (and the abort arrive) between bursts.
    await new Promise((done) => setImmediate(done));
  }
}

/** Sends `frame` at `ratePerS` in total, round-robin over the replicas. */
async function floodAtRate(context: AttackContext, link: RawLink, frame: Uint8Array, ratePerS: number) {
  const began = Date.now();
  let sent = 0;
  while (!context.signal.aborted) {
    const due = Math.floor(((Date.now() - began) / 1000) * ratePerS);
    for (; sent < due; sent++)
      sendCounted(context, link, link.replicas[sent % link.replicas.length] as string, frame);
    await sleep(RATE_TICK_MS, context.signal);
  }
}

function signedQuery(context: AttackContext, link: RawLink): Uint8Array {
  const operation = ops.kvGet({ key: 'attacker/q' });
  return createQuery({ agent: context.agent, queryId: Date.now(), operation }, link.crypto, link.secretKey)
    .frame;
}

export const queryFlood: Attack = async (context) => {
  const link = await openRawLink(context);
  await floodFast(context, link, signedQuery(context, link));
};

export const queryFlood500: Attack = async (context) => {
  const link = await openRawLink(context);
  await floodAtRate(context, link, signedQuery(context, link), QUERY_FLOOD_RATE_PER_S);
};

export const requestFlood: Attack = async (context) => {
  const link = await openRawLink(context);
  const operation = ops.kvPut({ key: 'attacker/r', value: new Uint8Array(16) });
  const { frame } = createRequest(
    { agent: context.agent, requestId: Date.now(), operation },
    link.crypto,
    link.secretKey,
  );
  await floodFast(context, link, frame);
};
