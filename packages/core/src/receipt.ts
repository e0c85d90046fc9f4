/**
 * Receipts: transferable proof that a request was decided at (view, sequence).
 *
 * A receipt carries the agent's signed request, the batch's timestamp and request digests (the
 * inclusion proof: the batch digest is recomputed from them), and 2f+1 commits signed by distinct
 * replicas for that digest. Anyone holding the cluster's public keys can check it offline.
 */
import { bytesEqual, type Canonical, decodeCanonical, encodeCanonical } from './codec.ts';
import { type ClusterConfig, quorumsOf } from './config.ts';
import { type CryptoBackend, DIGEST_BYTES, SIGNATURE_BYTES } from './crypto.ts';
import { batchDigest, decodeRequestBody, MessageType, type Request } from './messages.ts';

export interface SignedBytes {
  readonly bytes: Uint8Array;
  readonly signature: Uint8Array;
}

export interface Receipt {
  readonly request: SignedBytes;
  readonly sequence: number;
  readonly view: number;
  readonly timestamp: number;
  /** Digests of every request body in the batch, in batch order. */
  readonly requestDigests: readonly Uint8Array[];
  readonly commits: readonly SignedBytes[];
}

export type ReceiptVerification =
  | {
      readonly ok: true;
      readonly request: Request;
      readonly sequence: number;
      readonly view: number;
      readonly digest: Uint8Array;
    }
  | { readonly ok: false; readonly reason: string };

const RECEIPT_VERSION = 1;

export function encodeReceipt(receipt: Receipt): Uint8Array {
  const pair = (s: SignedBytes): Canonical => [s.bytes, s.signature];
  return encodeCanonical([
    RECEIPT_VERSION,
    pair(receipt.request),
    receipt.sequence,
    receipt.view,
    receipt.timestamp,
    receipt.requestDigests as Uint8Array[],
    receipt.commits.map(pair),
  ]);
}

/** Decodes a receipt; returns undefined for bytes that are not a canonical receipt. */
export function decodeReceipt(bytes: Uint8Array): Receipt | undefined {
  const decoded = decodeCanonical(bytes);
  if (!decoded.ok || !Array.isArray(decoded.value) || decoded.value.length !== 7) return undefined;
  const [version, request, sequence, view, timestamp, digests, commits] = decoded.value as unknown[];
  const isNatural = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const isPair = (v: unknown): v is [Uint8Array, Uint8Array] =>
    Array.isArray(v) && v.length === 2 && v[0] instanceof Uint8Array && v[1] instanceof Uint8Array;
  if (
    version !== RECEIPT_VERSION ||
    !isPair(request) ||
    !isNatural(sequence) ||
    !isNatural(view) ||
    !isNatural(timestamp)
  )
    return undefined;
  if (!Array.isArray(digests) || !digests.every((d) => d instanceof Uint8Array)) return undefined;
  if (!Array.isArray(commits) || !commits.every(isPair)) return undefined;
  return {
    request: { bytes: request[0], signature: request[1] },
    sequence,
    view,
    timestamp,
    requestDigests: digests as Uint8Array[],
    commits: commits.map(([b, s]) => ({ bytes: b, signature: s })),
  };
}

/**
 * The agent's key in force when the request at `sequence` executed, or undefined when the agent
 * was not registered then. A verifier that follows a registry which changes at run time passes
 * one built from the agents' key history; by default the cluster config's agents are used.
 */
export type AgentKeyAt = (agent: string, sequence: number) => Uint8Array | undefined;

/**
 * Checks a receipt against the cluster's public keys, offline: the request is signed with its
 * agent's key in force at that sequence, it is in the batch, and 2f+1 distinct replicas signed
 * commits for that batch's digest at the receipt's (view, sequence).
 */
export function verifyReceipt(
  receipt: Receipt,
  cluster: ClusterConfig,
  crypto: CryptoBackend,
  agentKeyAt: AgentKeyAt = (agent) => cluster.agents.find((a) => a.id === agent)?.publicKey,
): ReceiptVerification {
  const request = decodeRequestBody(receipt.request.bytes);
  if (request === undefined) return { ok: false, reason: 'request is not a canonical request' };
  const { agent, publicKey } = request;
  const agentKey = agentKeyAt(agent, receipt.sequence);
  if (agentKey === undefined) return { ok: false, reason: `agent ${agent} is not registered` };
  if (!bytesEqual(agentKey, publicKey))
    return {
      ok: false,
      reason: `the request is signed with a key that was not agent ${agent}'s at sequence ${receipt.sequence}`,
    };
  if (
    receipt.request.signature.byteLength !== SIGNATURE_BYTES ||
    !crypto.verify(receipt.request.bytes, receipt.request.signature, publicKey)
  ) {
    return { ok: false, reason: 'request signature does not verify' };
  }
  const requestDigest = crypto.hash(receipt.request.bytes);
  if (!receipt.requestDigests.some((d) => d.byteLength === DIGEST_BYTES && bytesEqual(d, requestDigest))) {
    return { ok: false, reason: 'request is not in the batch' };
  }
  const digest = batchDigest(receipt.timestamp, receipt.requestDigests, crypto.hash);
  const { quorum } = quorumsOf(cluster.replicas.length);
  const signers = new Set<number>();
  for (const commit of receipt.commits) {
    const decoded = decodeCanonical(commit.bytes);
    if (!decoded.ok || !Array.isArray(decoded.value) || decoded.value.length !== 5)
      return { ok: false, reason: 'commit is not canonical' };
    const [type, view, sequence, commitDigest, replica] = decoded.value as [
      unknown,
      unknown,
      unknown,
      unknown,
      unknown,
    ];
    if (type !== MessageType.commit || view !== receipt.view || sequence !== receipt.sequence) {
      return { ok: false, reason: 'commit is for another view or sequence' };
    }
    if (!(commitDigest instanceof Uint8Array) || !bytesEqual(commitDigest, digest))
      return { ok: false, reason: 'commit is for another batch' };
    if (typeof replica !== 'number' || signers.has(replica))
      return { ok: false, reason: 'commits must come from distinct replicas' };
    const replicaKey = cluster.replicas[replica]?.publicKey;
    if (replicaKey === undefined || !crypto.verify(commit.bytes, commit.signature, replicaKey)) {
      return { ok: false, reason: `commit signature of replica ${String(replica)} does not verify` };
    }
    signers.add(replica);
  }
  if (signers.size < quorum) return { ok: false, reason: `${signers.size} commits, ${quorum} needed` };
  return { ok: true, request, sequence: receipt.sequence, view: receipt.view, digest };
}
