/**
 * How Conclave's values look to a language model: plain JSON, no byte arrays. Bytes that are
 * UTF-8 text (kv values, task payloads) are shown as text; other bytes as base64. Receipts are
 * base64 of `encodeReceipt`, and `decodeReceiptText` also takes the hex the CLI prints.
 */
import {
  type Choice,
  DEFAULT_COORDINATION_LIMITS,
  decodeBallot,
  decodeOperation,
  type Evidence,
  type KvEntry,
  type ProposalSummary,
  type ProposalView,
  type SignedObject,
  type TaskView,
} from '@conclave/coordination';
import { decodeReceipt, encodeReceipt, fromHex, type Receipt } from '@conclave/core';
import { actionFieldsForModel } from './present-registry.ts';

/** A JSON object, as MCP's `structuredContent` wants it. */
export type JsonObject = { [key: string]: unknown };

const utf8 = new TextDecoder('utf-8', { fatal: true });

export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** Text when the bytes are valid UTF-8, else base64 (and says which). */
export function bytesForModel(
  bytes: Uint8Array | null,
): { readonly text: string | null } | { readonly base64: string } {
  if (bytes === null) return { text: null };
  try {
    return { text: utf8.decode(bytes) };
  } catch {
    return { base64: toBase64(bytes) };
  }
}

/** Any value with its byte arrays as base64 strings. */
export function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return toBase64(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    const out: JsonObject = {};
    for (const [key, field] of Object.entries(value)) out[key] = plain(field);
    return out;
  }
  return value;
}

/** A score ballot's pairs as objects; yes/no choices as they are. */
export function choiceForModel(choice: Choice): unknown {
  return typeof choice === 'string' ? choice : choice.map(([candidate, score]) => ({ candidate, score }));
}

export function proposalForModel(view: ProposalView): JsonObject {
  return {
    proposalId: view.proposalId,
    title: view.title,
    proposer: view.proposer,
    status: view.status,
    decided: view.status !== 'open',
    rule: view.rule,
    voters: view.voters,
    candidates: view.candidates,
    deadline: view.deadline,
    createdAt: view.createdAt,
    decidedAt: view.decidedAt,
    tally: {
      approve: view.tally.approve,
      reject: view.tally.reject,
      abstain: view.tally.abstain,
      pending: view.tally.pending,
      counted: view.tally.counted.map((ballot) => ({
        agent: ballot.agent,
        weight: ballot.weight,
        choice: choiceForModel(ballot.choice),
        confidence: ballot.confidencePermille / 1000,
      })),
      excluded: view.tally.excluded,
      candidates: view.tally.candidates,
      winner: view.tally.winner,
    },
    ...actionFieldsForModel(view.action, view.actionOutcome),
  };
}

export function summaryForModel(summary: ProposalSummary): JsonObject {
  return { ...summary, decided: summary.status !== 'open' };
}

export function kvForModel(entry: KvEntry): JsonObject {
  return {
    key: entry.key,
    exists: entry.version > 0 && entry.value !== null,
    version: entry.version,
    ...valueFields('value', entry.value),
    updatedBy: entry.updatedBy,
    updatedAt: entry.updatedAt,
  };
}

export function taskForModel(task: TaskView): JsonObject {
  return {
    taskId: task.taskId,
    status: task.status,
    creator: task.creator,
    ...valueFields('payload', task.payload),
    claimant: task.claimant,
    claimExpiresAt: task.claimExpiresAt,
    ...valueFields('result', task.result),
    completedBy: task.completedBy,
    createdAt: task.createdAt,
    doneAt: task.doneAt,
  };
}

/** `{ value: text }`, or `{ value: null, valueBase64 }` for bytes that are not UTF-8. */
function valueFields(name: string, bytes: Uint8Array | null): JsonObject {
  const shown = bytesForModel(bytes);
  return 'text' in shown ? { [name]: shown.text } : { [name]: null, [`${name}Base64`]: shown.base64 };
}

/** What a signed object in evidence says, when it can be read (a ballot, or a vote request). */
function ballotIn(bytes: Uint8Array): JsonObject | undefined {
  const ballot = decodeBallot(bytes);
  if (!ballot.ok) return undefined;
  return {
    proposalId: ballot.ballot.proposalId,
    agent: ballot.ballot.agent,
    choice: choiceForModel(ballot.ballot.choice),
    reason: ballot.ballot.reason,
  };
}

export function evidenceForModel(evidence: Evidence, verified: { ok: boolean; reason?: string }): JsonObject {
  return {
    id: evidence.id,
    kind: evidence.kind,
    agent: evidence.agent,
    proposalId: evidence.proposalId,
    requestId: evidence.requestId,
    source: evidence.source,
    recordedAt: evidence.recordedAt,
    verified: verified.ok,
    ...(verified.reason === undefined ? {} : { verificationFailure: verified.reason }),
    first: signedObjectForModel(evidence.first, firstIsBallot(evidence.kind)),
    second:
      evidence.second === null
        ? null
        : signedObjectForModel(
            evidence.second,
            evidence.kind === 'ballot' || evidence.kind === 'reveal_mismatch',
          ),
    ...(evidence.kind === 'reveal_mismatch' ? { saltBase64: toBase64(evidence.salt) } : {}),
    ...(evidence.kind === 'no_reveal' ? { revealDeadline: evidence.revealDeadline } : {}),
  };
}

/** Ballot evidence holds two ballots; sealed-ballot evidence starts with a commitment (its seal tells nothing). */
const firstIsBallot = (kind: Evidence['kind']): boolean => kind === 'ballot';

function signedObjectForModel(object: SignedObject, isBallot: boolean): JsonObject {
  return {
    ...(isBallot ? { ballot: ballotIn(object.bytes) ?? null } : {}),
    bytesBase64: toBase64(object.bytes),
    signatureBase64: toBase64(object.signature),
  };
}

/** A receipt as the vote tool hands it out: base64 of its canonical encoding. */
export const receiptForModel = (receipt: Receipt): string => toBase64(encodeReceipt(receipt));

/** Base64 or hex of `encodeReceipt` back to a receipt; undefined when it is neither. */
export function decodeReceiptText(text: string): Receipt | undefined {
  const trimmed = text.trim();
  let bytes: Uint8Array;
  if (/^(?:[0-9a-fA-F]{2})+$/.test(trimmed)) bytes = fromHex(trimmed);
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) bytes = new Uint8Array(Buffer.from(trimmed, 'base64'));
  else return undefined;
  return decodeReceipt(bytes);
}

/** What operation a receipt's request carried, in words a model can use. */
export function operationForModel(operation: Uint8Array): JsonObject {
  const decoded = decodeOperation(operation, DEFAULT_COORDINATION_LIMITS);
  if (!decoded.ok) return { op: 'unknown', detail: decoded.message };
  const op = decoded.operation;
  if (op.op === 'vote') return { op: 'vote', ballot: ballotIn(op.ballotBytes) ?? null };
  return plain(op) as JsonObject;
}

/** A signed ballot inside a vote operation, when the operation is one. */
export function signedBallotIn(
  operation: Uint8Array,
): { readonly ballotBytes: Uint8Array; readonly signature: Uint8Array } | undefined {
  const decoded = decodeOperation(operation, DEFAULT_COORDINATION_LIMITS);
  if (!decoded.ok || decoded.operation.op !== 'vote') return undefined;
  return { ballotBytes: decoded.operation.ballotBytes, signature: decoded.operation.signature };
}
