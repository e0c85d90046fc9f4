/**
 * `genesis.json`: a cluster config (every field of cluster.json, so the daemon and the tools load
 * it through the same code) assembled from the parties' join statements, plus
 *
 * - `proof` on every replica and agent: its join statement's signature (proof of possession,
 *   over the entry's own role, id, key and, for a replica, host and port);
 * - `council`: who approves governance actions, and how many must;
 * - `hash`: hex SHA-256 of `encodeCanonical(['conclave/genesis/v1', canonicalJson(body)])`, the
 *   body being everything except `hash` and `signatures`;
 * - `signatures`: `[{replica, signature}]`, each replica operator's Ed25519 signature, with its
 *   replica key, over `encodeCanonical(['conclave/genesis-signature/v1', hashBytes])` (tagged, so
 *   such a signature can mean nothing else). Complete when every replica has signed.
 */
import { createHash } from 'node:crypto';
import { encodeCanonical, fromHex, type JoinClaim } from '@conclave/core';
import { canonicalJson } from './canonical-json.ts';
import type { ClusterFile, ReplicaEntry } from './cluster-file.ts';
import type { Council } from './council.ts';

export const GENESIS_FILE = 'genesis.json';
export const GENESIS_TAG = 'conclave/genesis/v1';
export const GENESIS_SIGNATURE_TAG = 'conclave/genesis-signature/v1';

export interface GenesisReplica extends ReplicaEntry {
  /** The join statement's signature (hex). */
  readonly proof: string;
}

export interface GenesisAgent {
  readonly id: string;
  readonly publicKey: string;
  readonly proof: string;
  readonly weight?: number;
  readonly observer?: boolean;
}

/** What the hash covers. */
export interface GenesisBody extends Omit<ClusterFile, 'replicas' | 'agents' | 'council'> {
  readonly replicas: readonly GenesisReplica[];
  readonly agents: readonly GenesisAgent[];
  readonly council: Council;
}

export interface GenesisSignature {
  readonly replica: number;
  readonly signature: string;
}

export interface GenesisFile extends GenesisBody {
  readonly hash: string;
  readonly signatures: readonly GenesisSignature[];
}

/** Everything the hash covers: the file without `hash` and `signatures`. */
export function genesisBodyOf(file: object): Record<string, unknown> {
  const { hash: _hash, signatures: _signatures, ...body } = file as Record<string, unknown>;
  return body;
}

/** The genesis hash (hex) of a genesis file or body; `hash` and `signatures` are left out. */
export function genesisHashOf(file: object): string {
  const bytes = encodeCanonical([GENESIS_TAG, canonicalJson(genesisBodyOf(file))]);
  return createHash('sha256').update(bytes).digest('hex');
}

/** What a replica operator signs: the tagged hash. */
export function genesisSignedBytes(hash: string): Uint8Array {
  return encodeCanonical([GENESIS_SIGNATURE_TAG, fromHex(hash)]);
}

/** The join claim a replica entry's `proof` signs. */
export function replicaClaim(entry: ReplicaEntry): JoinClaim {
  return {
    role: 'replica',
    id: String(entry.id),
    publicKey: fromHex(entry.publicKey),
    host: entry.host,
    port: entry.port,
  };
}

/** The join claim an agent entry's `proof` signs. */
export function agentClaim(entry: { readonly id: string; readonly publicKey: string }): JoinClaim {
  return { role: 'agent', id: entry.id, publicKey: fromHex(entry.publicKey), host: '', port: 0 };
}
