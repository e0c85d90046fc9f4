/**
 * The agent's side of the wire protocol: building signed requests, queries and receipt
 * fetches, and opening what replicas answer. The SDK builds on these; the simulator's agents
 * and the CLI use them directly.
 */
import type { ReplyVerifier } from './auth.ts';
import { signBody } from './auth.ts';
import { DEFAULT_PROTOCOL_CONFIG } from './config.ts';
import { type CryptoBackend, PUBLIC_KEY_BYTES, SECRET_KEY_BYTES } from './crypto.ts';
import {
  type AgentBody,
  type DecodeLimits,
  decodeFrame,
  encodeFrame,
  type FetchReceipt,
  MessageType,
  type Query,
  type QueryReply,
  type ReceiptReply,
  type Reply,
  type Request,
  type Signed,
} from './messages.ts';

export const DEFAULT_DECODE_LIMITS: DecodeLimits = Object.freeze({
  batchSizeMax: DEFAULT_PROTOCOL_CONFIG.batchSizeMax,
  operationBytesMax: DEFAULT_PROTOCOL_CONFIG.operationBytesMax,
  entriesMax: DEFAULT_PROTOCOL_CONFIG.watermarkWindow,
  snapshotBytesMax: 8 * 1024 * 1024,
});

type Fields<B> = Omit<B, 'type'>;

/** Signs an agent message and frames it for the wire. */
export function signAgentMessage<B extends AgentBody>(
  body: B,
  crypto: CryptoBackend,
  secretKey: Uint8Array,
): { readonly signed: Signed<B>; readonly frame: Uint8Array } {
  const signed = signBody<B>(body, crypto, secretKey);
  return { signed, frame: encodeFrame(signed) };
}

/** A request's fields; `publicKey` defaults to the signing key's (the last 32 bytes of the secret key). */
export interface RequestFields extends Omit<Fields<Request>, 'publicKey'> {
  readonly publicKey?: Uint8Array;
}

/** A signed request (ordered and executed exactly once), and the frame to send to replicas. */
export function createRequest(
  fields: RequestFields,
  crypto: CryptoBackend,
  secretKey: Uint8Array,
): { readonly request: Signed<Request>; readonly frame: Uint8Array } {
  const publicKey = fields.publicKey ?? publicKeyOf(secretKey);
  const { signed, frame } = signAgentMessage<Request>(
    { type: MessageType.request, ...fields, publicKey },
    crypto,
    secretKey,
  );
  return { request: signed, frame };
}

/** The public half of a 64-byte Ed25519 secret key (seed ‖ public key), copied. */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  if (secretKey.byteLength !== SECRET_KEY_BYTES)
    throw new TypeError(`an Ed25519 secret key is ${SECRET_KEY_BYTES} bytes, got ${secretKey.byteLength}`);
  return secretKey.slice(SECRET_KEY_BYTES - PUBLIC_KEY_BYTES);
}

/** A signed read-only query (answered from a replica's executed state, not ordered). */
export function createQuery(
  fields: Fields<Query>,
  crypto: CryptoBackend,
  secretKey: Uint8Array,
): { readonly query: Signed<Query>; readonly frame: Uint8Array } {
  const { signed, frame } = signAgentMessage<Query>(
    { type: MessageType.query, ...fields },
    crypto,
    secretKey,
  );
  return { query: signed, frame };
}

/** A signed request for the receipt of an executed request. */
export function createFetchReceipt(
  fields: Fields<FetchReceipt>,
  crypto: CryptoBackend,
  secretKey: Uint8Array,
): Uint8Array {
  return signAgentMessage<FetchReceipt>({ type: MessageType.fetchReceipt, ...fields }, crypto, secretKey)
    .frame;
}

/** What a replica sends an agent. */
export type AgentAnswer = Reply | QueryReply | ReceiptReply;

export type Opened<T> = { ok: true; answer: T } | { ok: false; reason: string };

/** Decodes an answer from a replica and checks its authenticator. Never throws. */
export function openAnswer(
  frame: Uint8Array,
  verifier: ReplyVerifier,
  crypto: CryptoBackend,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
  channelReplica?: number,
): Opened<AgentAnswer> {
  const decoded = decodeFrame(frame, limits, crypto.hash);
  if (!decoded.ok) return { ok: false, reason: decoded.reason };
  const { body, bytes, signature } = decoded.value;
  if (
    body.type !== MessageType.reply &&
    body.type !== MessageType.queryReply &&
    body.type !== MessageType.receipt
  ) {
    return { ok: false, reason: 'UNEXPECTED_TYPE' };
  }
  if (!verifier.verify(bytes, signature, body.replica, channelReplica))
    return { ok: false, reason: 'BAD_SIGNATURE' };
  return { ok: true, answer: body };
}

export type OpenedReply = { ok: true; reply: Reply } | { ok: false; reason: string };
export type OpenedQueryReply = { ok: true; reply: QueryReply } | { ok: false; reason: string };

/** Opens a reply to a request. */
export function openReply(
  frame: Uint8Array,
  verifier: ReplyVerifier,
  crypto: CryptoBackend,
  limits?: DecodeLimits,
): OpenedReply {
  const opened = openAnswer(frame, verifier, crypto, limits);
  if (!opened.ok) return opened;
  return opened.answer.type === MessageType.reply
    ? { ok: true, reply: opened.answer }
    : { ok: false, reason: 'UNEXPECTED_TYPE' };
}

/** Opens a reply to a read-only query. */
export function openQueryReply(
  frame: Uint8Array,
  verifier: ReplyVerifier,
  crypto: CryptoBackend,
  limits?: DecodeLimits,
): OpenedQueryReply {
  const opened = openAnswer(frame, verifier, crypto, limits);
  if (!opened.ok) return opened;
  return opened.answer.type === MessageType.queryReply
    ? { ok: true, reply: opened.answer }
    : { ok: false, reason: 'UNEXPECTED_TYPE' };
}
