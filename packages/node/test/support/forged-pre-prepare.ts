/**
 * A prePrepare as large as a replica's decoder admits (64 batches of 64 requests), for counting
 * what a forged one costs. Request signatures are garbage, distinct per request (the verdict cache
 * is keyed by signature): only how many checks are asked matters.
 */
import {
  type ClusterConfig,
  type CryptoBackend,
  DEFAULT_PROTOCOL_CONFIG,
  encodeBody,
  encodeFrame,
  KvStateMachine,
  MessageType,
  makeBatch,
  nodeCrypto,
  Replica,
  type Request,
  type Signed,
  signBody,
} from '@conclave/core';

export const BATCHES = DEFAULT_PROTOCOL_CONFIG.watermarkWindow; // 64: the decoder's entriesMax
export const REQUESTS_PER_BATCH = DEFAULT_PROTOCOL_CONFIG.batchSizeMax; // 64

const real = nodeCrypto();
const replicaKeys = [0, 1, 2, 3].map((id) => real.keyPairFromSeed(new Uint8Array(32).fill(id + 1)));
const agentKeys = Array.from({ length: REQUESTS_PER_BATCH }, (_, index) =>
  real.keyPairFromSeed(new Uint8Array(32).fill(100 + index)),
);

export const cluster: ClusterConfig = {
  replicas: replicaKeys.map((keys, id) => ({ id, publicKey: keys.publicKey })),
  agents: agentKeys.map((keys, index) => ({ id: `agent-${index}`, publicKey: keys.publicKey })),
};

/** Replica 1, a backup of view 0, checking signatures with `crypto`. */
export function backup(crypto: CryptoBackend): Replica {
  return new Replica({
    id: 1,
    cluster,
    crypto,
    secretKey: (replicaKeys[1] as { secretKey: Uint8Array }).secretKey,
    stateMachine: new KvStateMachine(crypto.hash),
  });
}

/**
 * A prePrepare for sequence 1 of view 0 claiming to be from the primary (replica 0), carrying
 * BATCHES × REQUESTS_PER_BATCH requests of registered agents. `forged`: its outer signature is
 * 64 bytes of garbage, as from anyone without the primary's key.
 */
export function largestPrePrepare(forged: boolean): Uint8Array {
  const batches = Array.from({ length: BATCHES }, (_, b) =>
    makeBatch(
      1_000 + b,
      Array.from({ length: REQUESTS_PER_BATCH }, (_, r) =>
        fakeSignedRequest(`agent-${r}`, b + 1, b * REQUESTS_PER_BATCH + r),
      ),
      real.hash,
    ),
  );
  const body = {
    type: MessageType.prePrepare,
    view: 0,
    sequence: 1,
    digest: (batches[0] as { digest: Uint8Array }).digest,
    replica: 0,
  } as const;
  const signed = signBody(body, real, (replicaKeys[0] as { secretKey: Uint8Array }).secretKey);
  return encodeFrame(forged ? { ...signed, signature: new Uint8Array(64).fill(0x5a) } : signed, batches);
}

function fakeSignedRequest(agent: string, requestId: number, index: number): Signed<Request> {
  const body: Request = {
    type: MessageType.request,
    agent,
    requestId,
    operation: new Uint8Array(8),
    publicKey: new Uint8Array(32),
  };
  const signature = new Uint8Array(64).fill(0x77);
  new DataView(signature.buffer).setUint32(0, index);
  return { body, bytes: encodeBody(body), signature };
}

/** A backend that counts the signatures it verifies. */
export function countingCrypto(): CryptoBackend & { verified: number } {
  const counting = {
    ...real,
    verified: 0,
    verify(data: Uint8Array, signature: Uint8Array, publicKey: Uint8Array) {
      counting.verified++;
      return real.verify(data, signature, publicKey);
    },
  };
  return counting;
}
