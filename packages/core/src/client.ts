/**
 * The agent's side of the wire protocol: building signed requests and opening replies.
 * The SDK builds on these; the simulator's agents use them directly.
 */
import type { ReplyVerifier } from './auth.ts';
import { signBody } from './auth.ts';
import { DEFAULT_PROTOCOL_CONFIG } from './config.ts';
import type { CryptoBackend } from './crypto.ts';
import {
  type DecodeLimits,
  decodeFrame,
  encodeFrame,
  MessageType,
  type Query,
  type QueryReply,
  type Reply,
  type Request,
  type Signed,
} from './messages.ts';

export interface RequestFields {
  readonly agent: string;
  readonly requestId: number;
  readonly operation: Uint8Array;
}

/** A signed request, and the frame to send to replicas. */
export function createRequest(
  fields: RequestFields,
  crypto: CryptoBackend,
  secretKey: Uint8Array,
): { readonly request: Signed<Request>; readonly frame: Uint8Array } {
  const request = signBody<Request>({ type: MessageType.request, ...fields }, crypto, secretKey);
  return { request, frame: encodeFrame(request) };
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = Object.freeze({
  batchSizeMax: DEFAULT_PROTOCOL_CONFIG.batchSizeMax,
  operationBytesMax: DEFAULT_PROTOCOL_CONFIG.operationBytesMax,
  entriesMax: DEFAULT_PROTOCOL_CONFIG.watermarkWindow,
  snapshotBytesMax: 8 * 1024 * 1024,
});

export type OpenedReply = { ok: true; reply: Reply } | { ok: false; reason: string };

/** Decodes a reply frame and checks its authenticator. Never throws. */
export function openReply(
  frame: Uint8Array,
  verifier: ReplyVerifier,
  crypto: CryptoBackend,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): OpenedReply {
  const decoded = decodeFrame(frame, limits, crypto.hash);
  if (!decoded.ok) return { ok: false, reason: decoded.reason };
  const { body, bytes, signature } = decoded.value;
  if (body.type !== MessageType.reply) return { ok: false, reason: 'UNEXPECTED_TYPE' };
  if (!verifier.verify(bytes, signature, body.replica)) return { ok: false, reason: 'BAD_SIGNATURE' };
  return { ok: true, reply: body };
}

/** A signed read-only query, and the frame to send to replicas. */
export function createQuery(
  fields: { readonly agent: string; readonly queryId: number; readonly operation: Uint8Array },
  crypto: CryptoBackend,
  secretKey: Uint8Array,
): { readonly query: Signed<Query>; readonly frame: Uint8Array } {
  const query = signBody<Query>({ type: MessageType.query, ...fields }, crypto, secretKey);
  return { query, frame: encodeFrame(query) };
}

export type OpenedQueryReply = { ok: true; reply: QueryReply } | { ok: false; reason: string };

/** Decodes a query reply frame and checks its authenticator. Never throws. */
export function openQueryReply(
  frame: Uint8Array,
  verifier: ReplyVerifier,
  crypto: CryptoBackend,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): OpenedQueryReply {
  const decoded = decodeFrame(frame, limits, crypto.hash);
  if (!decoded.ok) return { ok: false, reason: decoded.reason };
  const { body, bytes, signature } = decoded.value;
  if (body.type !== MessageType.queryReply) return { ok: false, reason: 'UNEXPECTED_TYPE' };
  if (!verifier.verify(bytes, signature, body.replica)) return { ok: false, reason: 'BAD_SIGNATURE' };
  return { ok: true, reply: body };
}
