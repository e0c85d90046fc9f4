/**
 * stranger-flood: strangers with fresh keys and unregistered agent ids dial every replica over
 * and over. Each handshake they finish is refused with UNKNOWN_AGENT, which the replica signs
 * (so an agent can trust it): the attack measures what that signature costs honest agents.
 */
import { randomBytes } from 'node:crypto';
import { nodeCrypto, publicKeyOf } from '@conclave/core';
import { dialOptions, directoryOf, loadClusterFile } from '@conclave/node';
import { agentPeer, type Transport, webSocketTransport } from '@conclave/transport';
import { type Attack, sleep } from './context.ts';

/** Strangers dialling at once; each dials every replica and redials on refusal. */
export const STRANGER_FLOOD_TRANSPORTS = 64;
/** How long a generation of strangers keeps dialling before fresh ones replace it. */
const GENERATION_MS = 1_000;

export const strangerFlood: Attack = async (context) => {
  const crypto = nodeCrypto();
  const file = loadClusterFile(context.dir);
  const replicas = directoryOf(file).replicas;
  let generation = 0;
  while (!context.signal.aborted) {
    const strangers: Transport[] = [];
    for (let i = 0; i < STRANGER_FLOOD_TRANSPORTS; i++) {
      const secretKey = crypto.keyPairFromSeed(new Uint8Array(randomBytes(32))).secretKey;
      const id = `stranger-${generation}-${i}`;
      const transport = webSocketTransport({
        identity: { peer: agentPeer(id), secretKey },
        directory: { replicas, agents: [{ id, publicKey: publicKeyOf(secretKey) }] },
        crypto,
        ...dialOptions(context.dir, file),
      });
      transport.onRefused((_peer, reason) => context.count(`refused_${reason}`));
      strangers.push(transport);
      await transport.start().then(
        () => context.count('started'),
        () => context.count('start_failed'),
      );
    }
    await sleep(GENERATION_MS, context.signal).catch(() => undefined);
    await Promise.allSettled(strangers.map((t) => t.close()));
    generation++;
  }
};
