/**
 * An authenticated transport as the attacker, without the SDK: for attacks that send frames the
 * SDK never would (replays, malformed frames) and do not wait for answers.
 */
import { agentTransport } from '@conclave/cli';
import { nodeCrypto } from '@conclave/core';
import { type PeerId, replicaPeer, type SendResult, type Transport } from '@conclave/transport';
import { type AttackContext, sleep } from './context.ts';

const CONNECT_WAIT_MS = 30_000;
const CONNECT_POLL_MS = 50;

export interface RawLink {
  readonly transport: Transport;
  readonly replicas: readonly PeerId[];
  readonly secretKey: Uint8Array;
  readonly crypto: ReturnType<typeof nodeCrypto>;
}

/** Starts a transport as the attacker and waits (bounded) until every replica is connected. */
export async function openRawLink(context: AttackContext): Promise<RawLink> {
  const crypto = nodeCrypto();
  const { transport, identity } = agentTransport({ dir: context.dir, agent: context.agent, crypto });
  context.signal.addEventListener('abort', () => void transport.close(), { once: true });
  await transport.start();
  const replicas = Array.from({ length: context.replicas }, (_, id) => replicaPeer(id));
  const deadline = Date.now() + CONNECT_WAIT_MS;
  while (transport.connected().length < replicas.length && Date.now() < deadline && !context.signal.aborted)
    await sleep(CONNECT_POLL_MS, context.signal);
  return { transport, replicas, secretKey: identity.secretKey, crypto };
}

/** Sends and counts the outcome by name (`sent_queued`, `sent_queue-full`…). */
export function sendCounted(
  context: AttackContext,
  link: RawLink,
  to: PeerId,
  frame: Uint8Array,
): SendResult {
  const result = link.transport.send(to, frame);
  context.count(`sent_${result}`);
  return result;
}
