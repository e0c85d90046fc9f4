/**
 * The one place a cluster config (cluster.json or genesis.json) becomes the coordination state
 * machine's options: the genesis agents with their council weights, the council and its
 * threshold (the approving weight a governance action needs), the replicas' keys (which no agent
 * may register), and the limits.
 */
import type { CoordinationOptions } from '@conclave/coordination';
import { type CryptoBackend, fromHex } from '@conclave/core';
import { type ClusterFile, resolvedCoordinationLimits } from './cluster-file.ts';

export function coordinationOptionsOf(file: ClusterFile, crypto: CryptoBackend): CoordinationOptions {
  return {
    crypto,
    agents: file.agents.map((agent) => ({
      id: agent.id,
      publicKey: fromHex(agent.publicKey),
      ...(agent.weight === undefined ? {} : { weight: agent.weight }),
      ...(agent.observer === true ? { observer: true } : {}),
    })),
    ...(file.council === undefined ? {} : { council: file.council }),
    reservedKeys: file.replicas.map((replica) => fromHex(replica.publicKey)),
    limits: resolvedCoordinationLimits(file),
  };
}
