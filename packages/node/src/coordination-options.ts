/**
 * The one place a cluster config (cluster.json or genesis.json) becomes the coordination state
 * machine's options.
 *
 * GOVERNANCE (issue 16): `CoordinationOptions` has no `council` yet, nor `weight` on agents. When
 * packages/coordination adds `council?: {members, threshold}` and `weight?` on agents, pass
 * `file.council` and each agent's `weight` here; nothing else needs to change. Until then the
 * state machine's default council applies (every genesis agent, threshold floor(n/2)+1), which
 * is also what `conclave init` and `genesis assemble` write by default.
 */
import type { CoordinationOptions } from '@conclave/coordination';
import type { CryptoBackend } from '@conclave/core';
import { type ClusterFile, clusterConfigOf, resolvedCoordinationLimits } from './cluster-file.ts';

export function coordinationOptionsOf(file: ClusterFile, crypto: CryptoBackend): CoordinationOptions {
  return {
    crypto,
    agents: clusterConfigOf(file).agents,
    limits: resolvedCoordinationLimits(file),
  };
}
