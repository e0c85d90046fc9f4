/**
 * Protocol messages: their types, their canonical tuple encoding, and decoding that validates
 * shape and canonical form without ever throwing.
 *
 * Wire form of every message (a frame): `[body, signature, batches]`
 * - body: the canonical encoding of the message tuple `[type, ...fields]`; the signature covers exactly these bytes;
 * - signature: Ed25519 by the sender named inside the body (a replica id, or an agent id for requests),
 *   or, for replies, whatever the reply authenticator produces;
 * - batches: request batches that travel with the message (pre-prepare, view-change, new-view, committed),
 *   each `[timestamp, [[requestBody, requestSignature], ...]]`, authenticated by their digest inside the body.
 * Nested certificates (view-change, new-view, state) embed other signed messages as `[body, signature]`,
 * so a proof can be forwarded and checked by anyone without re-encoding.
 */
import { type Canonical, decodeCanonical, encodeCanonical } from './codec.ts';
import { LIMITS } from './config.ts';
import { DIGEST_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './crypto.ts';
import { bodyBounds, envelopeBounds } from './decode-bounds.ts';

export const MessageType = {
  request: 1,
  prePrepare: 2,
  prepare: 3,
  commit: 4,
  reply: 5,
  checkpoint: 6,
  viewChange: 7,
  newView: 8,
  fetchState: 9,
  state: 10,
  fetchCommitted: 11,
  committed: 12,
  query: 13,
  queryReply: 14,
  fetchReceipt: 15,
  receipt: 16,
  suspect: 17,
  return: 18,
  returnAck: 19,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export interface Request {
  readonly type: typeof MessageType.request;
  readonly agent: string;
  /** Increases per agent; a request at or below the last executed one is answered from the reply cache or ignored. */
  readonly requestId: number;
  readonly operation: Uint8Array;
  /**
   * The key that signed the request. A replica executes the request only if this is the agent's
   * key in force at that point of the log (the registry can change at run time), so the request
   * checks itself wherever it travels and names its key when it is evidence.
   */
  readonly publicKey: Uint8Array;
}
export interface PrePrepare {
  readonly type: typeof MessageType.prePrepare;
  readonly view: number;
  readonly sequence: number;
  readonly digest: Uint8Array;
  readonly replica: number;
}
export interface Prepare {
  readonly type: typeof MessageType.prepare;
  readonly view: number;
  readonly sequence: number;
  readonly digest: Uint8Array;
  readonly replica: number;
}
export interface Commit {
  readonly type: typeof MessageType.commit;
  readonly view: number;
  readonly sequence: number;
  readonly digest: Uint8Array;
  readonly replica: number;
}
export interface Reply {
  readonly type: typeof MessageType.reply;
  readonly view: number;
  readonly sequence: number;
  readonly agent: string;
  readonly requestId: number;
  readonly result: Uint8Array;
  readonly replica: number;
}
export interface Checkpoint {
  readonly type: typeof MessageType.checkpoint;
  readonly sequence: number;
  readonly stateDigest: Uint8Array;
  readonly replica: number;
}
/** A prepared certificate: the pre-prepare and 2f matching prepares from distinct backups. */
export interface PreparedProof {
  readonly prePrepare: Signed<PrePrepare>;
  readonly prepares: readonly Signed<Prepare>[];
}
export interface ViewChange {
  readonly type: typeof MessageType.viewChange;
  readonly newView: number;
  readonly stableSequence: number;
  /** 2f+1 checkpoints proving stableSequence (empty when stableSequence is 0). */
  readonly checkpointProof: readonly Signed<Checkpoint>[];
  readonly prepared: readonly PreparedProof[];
  readonly replica: number;
}
export interface NewView {
  readonly type: typeof MessageType.newView;
  readonly view: number;
  readonly viewChanges: readonly Signed<ViewChange>[];
  readonly prePrepares: readonly Signed<PrePrepare>[];
  readonly replica: number;
}
/**
 * "The primary of `view` has failed me": sent when a replica's timer runs out in `view`. A
 * replica leaves a view only once f+1 replicas suspect it (one of them honest), so a replica
 * whose timer alone fired stays at work; and a replica in a later view answers a suspicion of an
 * older one with the NEW-VIEW it entered by, which is how a replica that missed views catches up.
 */
export interface Suspect {
  readonly type: typeof MessageType.suspect;
  readonly view: number;
  /**
   * The suspecter's clock when it signed: it signs anew each time it renews the suspicion, so a
   * copy replayed later is never newer than what its receiver has seen, and cannot revive it.
   */
  readonly round: number;
  readonly replica: number;
}

/**
 * "I am stranded in a view change to `through` that the others did not follow; let me back into
 * `view`, where they work": sent by a replica changing views whose last view in normal mode was
 * `left` (`left` <= `view` < `through`). Whoever acknowledges it never enters the views above
 * `view` through `through`; the sender goes back once 2f replicas have (see `replica/return.ts`).
 */
export interface Return {
  readonly type: typeof MessageType.return;
  readonly view: number;
  readonly through: number;
  readonly left: number;
  readonly replica: number;
}

/**
 * "I am working in `view`, and I will never enter the views above it through `through`": the
 * acknowledgement a returning replica needs 2f of.
 */
export interface ReturnAck {
  readonly type: typeof MessageType.returnAck;
  readonly view: number;
  readonly through: number;
  readonly returner: number;
  readonly replica: number;
}
export interface FetchState {
  readonly type: typeof MessageType.fetchState;
  /** The lowest stable checkpoint the asker would accept. */
  readonly sequence: number;
  readonly replica: number;
}
export interface State {
  readonly type: typeof MessageType.state;
  readonly sequence: number;
  readonly snapshot: Uint8Array;
  readonly checkpointProof: readonly Signed<Checkpoint>[];
  readonly replica: number;
}
export interface FetchCommitted {
  readonly type: typeof MessageType.fetchCommitted;
  readonly fromSequence: number;
  readonly replica: number;
}
/** A committed batch's commit certificate: 2f+1 commits for (view, sequence, digest). */
export interface CommittedEntry {
  readonly sequence: number;
  readonly view: number;
  readonly digest: Uint8Array;
  readonly commits: readonly Signed<Commit>[];
}
export interface Committed {
  readonly type: typeof MessageType.committed;
  readonly entries: readonly CommittedEntry[];
  readonly replica: number;
}

/**
 * A read-only query, answered from a replica's executed state without ordering (PBFT's
 * read-only optimisation): fast, but only as fresh as that replica. An agent that needs the
 * latest state sends a request instead; one that accepts a consistent-but-maybe-stale answer
 * waits for 2f+1 matching query replies.
 */
export interface Query {
  readonly type: typeof MessageType.query;
  readonly agent: string;
  readonly queryId: number;
  readonly operation: Uint8Array;
}
export interface QueryReply {
  readonly type: typeof MessageType.queryReply;
  readonly agent: string;
  readonly queryId: number;
  readonly result: Uint8Array;
  /** The replica's last executed sequence and agreed time when it answered: how stale the answer may be. */
  readonly lastExecuted: number;
  readonly agreedTime: number;
  readonly replica: number;
}

/** An agent asks one replica for the receipt of its executed request. */
export interface FetchReceipt {
  readonly type: typeof MessageType.fetchReceipt;
  readonly agent: string;
  readonly requestId: number;
  readonly sequence: number;
}
/**
 * The answer: an encoded receipt (see receipt.ts), or empty bytes when the replica no longer
 * (or does not yet) hold the batch's commit certificate. The receipt proves itself: the agent
 * checks it with verifyReceipt, so one replica, honest or not, is enough to ask.
 */
export interface ReceiptReply {
  readonly type: typeof MessageType.receipt;
  readonly agent: string;
  readonly requestId: number;
  readonly receipt: Uint8Array;
  readonly replica: number;
}

export type Body =
  | Request
  | PrePrepare
  | Prepare
  | Commit
  | Reply
  | Checkpoint
  | ViewChange
  | NewView
  | FetchState
  | State
  | FetchCommitted
  | Committed
  | Query
  | QueryReply
  | FetchReceipt
  | ReceiptReply
  | Suspect
  | Return
  | ReturnAck;

/** Messages signed by an agent. */
export type AgentBody = Request | Query | FetchReceipt;
export type ReplicaBody = Exclude<Body, AgentBody | Reply | QueryReply | ReceiptReply>;

/** A message with the exact bytes its signature covers. */
export interface Signed<B extends Body = Body> {
  readonly body: B;
  readonly bytes: Uint8Array;
  readonly signature: Uint8Array;
}

export interface Batch {
  /** Agreed time of this batch, in the primary's ticks; 0 for a null batch (time does not move). */
  readonly timestamp: number;
  readonly requests: readonly Signed<Request>[];
  /** The digest of each request body, in order: computed once, for the batch digest and its users. */
  readonly requestDigests: readonly Uint8Array[];
  readonly digest: Uint8Array;
}

export interface Frame<B extends Body = Body> extends Signed<B> {
  readonly batches: readonly Batch[];
}

// ---------------------------------------------------------------------------------------------
// Encoding

function signedTuple(signed: Signed): Canonical {
  return [signed.bytes, signed.signature];
}

export function bodyTuple(body: Body): Canonical {
  switch (body.type) {
    case MessageType.request:
      return [body.type, body.agent, body.requestId, body.operation, body.publicKey];
    case MessageType.prePrepare:
    case MessageType.prepare:
    case MessageType.commit:
      return [body.type, body.view, body.sequence, body.digest, body.replica];
    case MessageType.reply:
      return [body.type, body.view, body.sequence, body.agent, body.requestId, body.result, body.replica];
    case MessageType.checkpoint:
      return [body.type, body.sequence, body.stateDigest, body.replica];
    case MessageType.viewChange:
      return [
        body.type,
        body.newView,
        body.stableSequence,
        body.checkpointProof.map(signedTuple),
        body.prepared.map((proof) => [signedTuple(proof.prePrepare), proof.prepares.map(signedTuple)]),
        body.replica,
      ];
    case MessageType.newView:
      return [
        body.type,
        body.view,
        body.viewChanges.map(signedTuple),
        body.prePrepares.map(signedTuple),
        body.replica,
      ];
    case MessageType.fetchState:
      return [body.type, body.sequence, body.replica];
    case MessageType.state:
      return [body.type, body.sequence, body.snapshot, body.checkpointProof.map(signedTuple), body.replica];
    case MessageType.fetchCommitted:
      return [body.type, body.fromSequence, body.replica];
    case MessageType.suspect:
      return [body.type, body.view, body.round, body.replica];
    case MessageType.return:
      return [body.type, body.view, body.through, body.left, body.replica];
    case MessageType.returnAck:
      return [body.type, body.view, body.through, body.returner, body.replica];
    case MessageType.query:
      return [body.type, body.agent, body.queryId, body.operation];
    case MessageType.queryReply:
      return [
        body.type,
        body.agent,
        body.queryId,
        body.result,
        body.lastExecuted,
        body.agreedTime,
        body.replica,
      ];
    case MessageType.fetchReceipt:
      return [body.type, body.agent, body.requestId, body.sequence];
    case MessageType.receipt:
      return [body.type, body.agent, body.requestId, body.receipt, body.replica];
    case MessageType.committed:
      return [
        body.type,
        body.entries.map((entry) => [
          entry.sequence,
          entry.view,
          entry.digest,
          entry.commits.map(signedTuple),
        ]),
        body.replica,
      ];
  }
}

export function encodeBody(body: Body): Uint8Array {
  return encodeCanonical(bodyTuple(body));
}

function batchTuple(batch: Batch): Canonical {
  return [batch.timestamp, batch.requests.map(signedTuple)];
}

export function encodeFrame(signed: Signed, batches: readonly Batch[] = []): Uint8Array {
  return encodeCanonical([signed.bytes, signed.signature, batches.map(batchTuple)]);
}

/** The digest a pre-prepare names: it binds the agreed timestamp and every request (by the digest of its body). */
export function batchDigest(
  timestamp: number,
  requestDigests: readonly Uint8Array[],
  hash: (data: Uint8Array) => Uint8Array,
): Uint8Array {
  return hash(encodeCanonical([timestamp, requestDigests as Uint8Array[]]));
}

export function makeBatch(
  timestamp: number,
  requests: readonly Signed<Request>[],
  hash: (data: Uint8Array) => Uint8Array,
): Batch {
  const requestDigests = requests.map((request) => hash(request.bytes));
  return { timestamp, requests, requestDigests, digest: batchDigest(timestamp, requestDigests, hash) };
}

// ---------------------------------------------------------------------------------------------
// Decoding: shape and canonical form. Signatures are checked elsewhere (they need the cluster).

export type DecodeRejection =
  | 'FRAME_TOO_LARGE'
  | 'MALFORMED'
  | 'NOT_CANONICAL'
  | 'DECLARED_TOO_LARGE'
  | 'UNKNOWN_TYPE'
  | 'BATCH_TOO_LARGE'
  | 'OPERATION_TOO_LARGE';

/** A refusal; `detail` says what a header declared when the reason is DECLARED_TOO_LARGE. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: DecodeRejection; detail?: string };

class Reject {
  constructor(
    readonly reason: DecodeRejection,
    readonly detail?: string,
  ) {}
}

function fail(reason: DecodeRejection = 'MALFORMED', detail?: string): never {
  throw new Reject(reason, detail);
}

/** Decodes one message body within the bounds of a legitimate body; refusals are thrown. */
function decodeBody(raw: Uint8Array, limits: DecodeLimits): Body {
  const decoded = decodeCanonical(raw, bodyBounds(limits));
  if (!decoded.ok) fail(decoded.reason, 'detail' in decoded ? decoded.detail : undefined);
  return bodyFrom(decoded.value, limits);
}

/** Bounds for request bodies read back from evidence and receipts: as large as any frame allows. */
const STORED_REQUEST_LIMITS: DecodeLimits = Object.freeze({
  batchSizeMax: 1,
  operationBytesMax: LIMITS.frameBytesMax,
  entriesMax: 1,
  snapshotBytesMax: 0,
});

/**
 * A request's signed body bytes (from evidence, a receipt or our own log) decoded; undefined
 * when they are not a canonical request body. Never throws.
 */
export function decodeRequestBody(bytes: Uint8Array): Request | undefined {
  try {
    const body = decodeBody(bytes, STORED_REQUEST_LIMITS);
    return body.type === MessageType.request ? body : undefined;
  } catch {
    return undefined;
  }
}

function tuple(value: unknown, length: number): unknown[] {
  if (!Array.isArray(value) || value.length !== length) fail();
  return value;
}
function list(value: unknown, lengthMax: number): unknown[] {
  if (!Array.isArray(value) || value.length > lengthMax) fail();
  return value;
}
function natural(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) fail();
  return value;
}
function bytes(value: unknown, lengthMax: number, exactLength?: number): Uint8Array {
  if (!(value instanceof Uint8Array) || value.byteLength > lengthMax) fail();
  if (exactLength !== undefined && value.byteLength !== exactLength) fail();
  return value;
}
function digest(value: unknown): Uint8Array {
  return bytes(value, DIGEST_BYTES, DIGEST_BYTES);
}
function agentId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > LIMITS.agentIdBytesMax) fail();
  return value;
}
function replicaId(value: unknown): number {
  const id = natural(value);
  if (id >= LIMITS.replicasMax) fail();
  return id;
}

/** Limits the decoder enforces, from the protocol configuration. */
export interface DecodeLimits {
  readonly batchSizeMax: number;
  readonly operationBytesMax: number;
  /** Certificates and lists inside one message (view-change prepared proofs, new-view pre-prepares, committed entries). */
  readonly entriesMax: number;
  readonly snapshotBytesMax: number;
}

function decodeSignedTuple<B extends Body>(
  value: unknown,
  limits: DecodeLimits,
  expected: MessageType,
): Signed<B> {
  const [bodyBytes, signature] = tuple(value, 2);
  const bodyRaw = bytes(bodyBytes, LIMITS.frameBytesMax);
  const sig = bytes(signature, SIGNATURE_BYTES, SIGNATURE_BYTES);
  const body = decodeBody(bodyRaw, limits);
  if (body.type !== expected) fail();
  return { body: body as B, bytes: bodyRaw, signature: sig };
}

function bodyFrom(value: unknown, limits: DecodeLimits): Body {
  if (!Array.isArray(value) || value.length === 0) fail();
  const type = value[0];
  switch (type) {
    case MessageType.request: {
      const [, agent, requestId, operation, publicKey] = tuple(value, 5);
      if (operation instanceof Uint8Array && operation.byteLength > limits.operationBytesMax)
        fail('OPERATION_TOO_LARGE');
      return {
        type,
        agent: agentId(agent),
        requestId: natural(requestId),
        operation: bytes(operation, limits.operationBytesMax),
        publicKey: bytes(publicKey, PUBLIC_KEY_BYTES, PUBLIC_KEY_BYTES),
      };
    }
    case MessageType.prePrepare:
    case MessageType.prepare:
    case MessageType.commit: {
      const [, view, sequence, d, replica] = tuple(value, 5);
      return {
        type,
        view: natural(view),
        sequence: natural(sequence),
        digest: digest(d),
        replica: replicaId(replica),
      };
    }
    case MessageType.reply: {
      const [, view, sequence, agent, requestId, result, replica] = tuple(value, 7);
      return {
        type,
        view: natural(view),
        sequence: natural(sequence),
        agent: agentId(agent),
        requestId: natural(requestId),
        result: bytes(result, LIMITS.resultBytesMax),
        replica: replicaId(replica),
      };
    }
    case MessageType.checkpoint: {
      const [, sequence, stateDigest, replica] = tuple(value, 4);
      return {
        type,
        sequence: natural(sequence),
        stateDigest: digest(stateDigest),
        replica: replicaId(replica),
      };
    }
    case MessageType.viewChange: {
      const [, newView, stableSequence, checkpointProof, prepared, replica] = tuple(value, 6);
      return {
        type,
        newView: natural(newView),
        stableSequence: natural(stableSequence),
        checkpointProof: list(checkpointProof, LIMITS.replicasMax).map((item) =>
          decodeSignedTuple<Checkpoint>(item, limits, MessageType.checkpoint),
        ),
        prepared: list(prepared, limits.entriesMax).map((item) => {
          const [prePrepare, prepares] = tuple(item, 2);
          return {
            prePrepare: decodeSignedTuple<PrePrepare>(prePrepare, limits, MessageType.prePrepare),
            prepares: list(prepares, LIMITS.replicasMax).map((p) =>
              decodeSignedTuple<Prepare>(p, limits, MessageType.prepare),
            ),
          };
        }),
        replica: replicaId(replica),
      };
    }
    case MessageType.newView: {
      const [, view, viewChanges, prePrepares, replica] = tuple(value, 5);
      return {
        type,
        view: natural(view),
        viewChanges: list(viewChanges, LIMITS.replicasMax).map((item) =>
          decodeSignedTuple<ViewChange>(item, limits, MessageType.viewChange),
        ),
        prePrepares: list(prePrepares, limits.entriesMax).map((item) =>
          decodeSignedTuple<PrePrepare>(item, limits, MessageType.prePrepare),
        ),
        replica: replicaId(replica),
      };
    }
    case MessageType.fetchState: {
      const [, sequence, replica] = tuple(value, 3);
      return { type, sequence: natural(sequence), replica: replicaId(replica) };
    }
    case MessageType.state: {
      const [, sequence, snapshot, checkpointProof, replica] = tuple(value, 5);
      return {
        type,
        sequence: natural(sequence),
        snapshot: bytes(snapshot, limits.snapshotBytesMax),
        checkpointProof: list(checkpointProof, LIMITS.replicasMax).map((item) =>
          decodeSignedTuple<Checkpoint>(item, limits, MessageType.checkpoint),
        ),
        replica: replicaId(replica),
      };
    }
    case MessageType.fetchCommitted: {
      const [, fromSequence, replica] = tuple(value, 3);
      return { type, fromSequence: natural(fromSequence), replica: replicaId(replica) };
    }
    case MessageType.suspect: {
      const [, view, round, replica] = tuple(value, 4);
      return { type, view: natural(view), round: natural(round), replica: replicaId(replica) };
    }
    case MessageType.return: {
      const [, view, through, left, replica] = tuple(value, 5);
      return {
        type,
        view: natural(view),
        through: natural(through),
        left: natural(left),
        replica: replicaId(replica),
      };
    }
    case MessageType.returnAck: {
      const [, view, through, returner, replica] = tuple(value, 5);
      return {
        type,
        view: natural(view),
        through: natural(through),
        returner: replicaId(returner),
        replica: replicaId(replica),
      };
    }
    case MessageType.query: {
      const [, agent, queryId, operation] = tuple(value, 4);
      if (operation instanceof Uint8Array && operation.byteLength > limits.operationBytesMax)
        fail('OPERATION_TOO_LARGE');
      return {
        type,
        agent: agentId(agent),
        queryId: natural(queryId),
        operation: bytes(operation, limits.operationBytesMax),
      };
    }
    case MessageType.queryReply: {
      const [, agent, queryId, result, lastExecuted, agreedTime, replica] = tuple(value, 7);
      return {
        type,
        agent: agentId(agent),
        queryId: natural(queryId),
        result: bytes(result, LIMITS.resultBytesMax),
        lastExecuted: natural(lastExecuted),
        agreedTime: natural(agreedTime),
        replica: replicaId(replica),
      };
    }
    case MessageType.fetchReceipt: {
      const [, agent, requestId, sequence] = tuple(value, 4);
      return { type, agent: agentId(agent), requestId: natural(requestId), sequence: natural(sequence) };
    }
    case MessageType.receipt: {
      const [, agent, requestId, receipt, replica] = tuple(value, 5);
      return {
        type,
        agent: agentId(agent),
        requestId: natural(requestId),
        receipt: bytes(receipt, LIMITS.frameBytesMax),
        replica: replicaId(replica),
      };
    }
    case MessageType.committed: {
      const [, entries, replica] = tuple(value, 3);
      return {
        type,
        entries: list(entries, LIMITS.committedBatchesPerFetchMax).map((item) => {
          const [sequence, view, d, commits] = tuple(item, 4);
          return {
            sequence: natural(sequence),
            view: natural(view),
            digest: digest(d),
            commits: list(commits, LIMITS.replicasMax).map((c) =>
              decodeSignedTuple<Commit>(c, limits, MessageType.commit),
            ),
          };
        }),
        replica: replicaId(replica),
      };
    }
    default:
      return fail('UNKNOWN_TYPE');
  }
}

function batchFrom(value: unknown, limits: DecodeLimits, hash: (data: Uint8Array) => Uint8Array): Batch {
  const [timestamp, requests] = tuple(value, 2);
  if (Array.isArray(requests) && requests.length > limits.batchSizeMax) fail('BATCH_TOO_LARGE');
  const decoded = list(requests, limits.batchSizeMax).map((item) =>
    decodeSignedTuple<Request>(item, limits, MessageType.request),
  );
  return makeBatch(natural(timestamp), decoded, hash);
}

/**
 * Decodes a frame: outer and inner canonical form, message shape, batch digests.
 * Signatures are not checked here.
 */
export function decodeFrame(
  frame: Uint8Array,
  limits: DecodeLimits,
  hash: (data: Uint8Array) => Uint8Array,
): Decoded<Frame> {
  if (frame.byteLength > LIMITS.frameBytesMax) return { ok: false, reason: 'FRAME_TOO_LARGE' };
  const outer = decodeCanonical(frame, envelopeBounds(limits));
  if (!outer.ok) return outer;
  try {
    const [bodyBytes, signature, batches] = tuple(outer.value, 3);
    const body = bytes(bodyBytes, LIMITS.frameBytesMax);
    return {
      ok: true,
      value: {
        body: decodeBody(body, limits),
        bytes: body,
        signature: bytes(signature, SIGNATURE_BYTES, SIGNATURE_BYTES),
        batches: list(batches, limits.entriesMax).map((batch) => batchFrom(batch, limits, hash)),
      },
    };
  } catch (error) {
    if (error instanceof Reject)
      return error.detail === undefined
        ? { ok: false, reason: error.reason }
        : { ok: false, reason: error.reason, detail: error.detail };
    throw error;
  }
}

/** The signer a message claims: a replica id, or an agent id for requests. */
export function claimedSigner(body: Body): { kind: 'replica'; id: number } | { kind: 'agent'; id: string } {
  return body.type === MessageType.request ||
    body.type === MessageType.query ||
    body.type === MessageType.fetchReceipt
    ? { kind: 'agent', id: body.agent }
    : { kind: 'replica', id: body.replica };
}
