/**
 * connection-flood: one agent, with its own valid key, opens many authenticated connections to
 * every replica and keeps them open.
 */
import { agentTransport } from '@conclave/cli';
import { nodeCrypto } from '@conclave/core';
import type { Transport } from '@conclave/transport';
import { type Attack, sleep } from './context.ts';

/** Transports the attacker opens; each dials every replica. */
export const CONNECTION_FLOOD_TRANSPORTS = 64;
const REPORT_EVERY_MS = 250;

export const connectionFlood: Attack = async (context) => {
  const crypto = nodeCrypto();
  const transports: Transport[] = [];
  for (let i = 0; i < CONNECTION_FLOOD_TRANSPORTS && !context.signal.aborted; i++) {
    const { transport } = agentTransport({ dir: context.dir, agent: context.agent, crypto });
    transports.push(transport);
    await transport.start().then(
      () => context.count('started'),
      () => context.count('start_failed'),
    );
  }
  try {
    while (!context.signal.aborted) {
      context.set(
        'links',
        transports.reduce((sum, t) => sum + t.connected().length, 0),
      );
      await sleep(REPORT_EVERY_MS, context.signal);
    }
  } finally {
    await Promise.allSettled(transports.map((t) => t.close()));
  }
};
