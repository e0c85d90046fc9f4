/**
 * How Conclave's values look to a language model: plain JSON, no byte arrays. Bytes that are
 * UTF-8 text (kv values, task payloads) are shown as text; other bytes as base64. Receipts are
 * base64 of `encodeReceipt`, and `decodeReceiptText` also takes the hex the CLI prints.
 */
import {
  type Choice,
  DEFAULT_COORDINATION_LIMITS,
  decodeBallot,
  decodeCommitment,
  decodeOperation,
  type Evidence,
  type ExclusionReason,
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
    phase: view.phase,
    phaseMeans: phaseMeaning(view),
    sealed: sealedForModel(view),
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
      excluded: view.tally.excluded.map((e) => ({ ...e, means: EXCLUSION_MEANS[e.reason] })),
      ...(view.sealed === null ? {} : { committed: view.tally.committed }),
      candidates: view.tally.candidates,
      winner: view.tally.winner,
    },
    ...actionFieldsForModel(view.action, view.actionOutcome),
  };
}

/** What an excluded voter did. */
const EXCLUSION_MEANS: Readonly<Record<ExclusionReason, string>> = {
  equivocation:
    'signed two different ballots (or two different sealed commitments); neither counts (list_evidence shows both)',
  reveal_mismatch:
    'revealed a ballot its sealed commitment does not match; it does not count (list_evidence shows both)',
};

/** One sentence on what the phase means for voters, for a model deciding what to do next. */
function phaseMeaning(view: ProposalView): string {
  switch (view.phase) {
    case 'voting':
      return 'open ballot: voters cast_vote until the deadline; each ballot and its choice is visible as soon as it is cast';
    case 'commit':
      return `sealed, commit phase until agreed time ${view.sealed?.commitDeadline}: voters cast_vote, which commits to a hash of the ballot. Who has committed is shown; what anyone chose is not known to anyone but that voter until the reveal`;
    case 'reveal':
      return `sealed, reveal phase until the deadline ${view.deadline}: committed voters' ballots are revealed (their servers do it, or cast_vote again with the same ballot) and counted as they arrive. Decided once every committed voter has revealed, or at the deadline`;
    case 'decided':
      return view.sealed === null
        ? `decided: ${view.status}`
        : `decided: ${view.status}. Committed voters that never revealed are in sealed.unrevealed, counted as ${view.sealed.missingReveal}`;
  }
}

/**
 * A sealed proposal's terms and who stands where: who committed and who revealed (never what,
 * before the reveal), who has yet to, and who never revealed (with the evidence). Null when open.
 */
function sealedForModel(view: ProposalView): JsonObject | null {
  if (view.sealed === null) return null;
  const { committed, revealed } = view.sealed;
  const excluded = new Set(view.tally.excluded.map((e) => e.agent));
  const done = new Set([...committed, ...excluded]);
  const open = view.phase !== 'decided';
  return {
    commitDeadline: view.sealed.commitDeadline,
    revealDeadline: view.deadline,
    missingReveal: view.sealed.missingReveal,
    committed,
    revealed,
    awaitingReveal: open ? committed.filter((agent) => !revealed.includes(agent)) : [],
    notCommitted: view.phase === 'commit' ? view.voters.map((v) => v.agent).filter((a) => !done.has(a)) : [],
    unrevealed: view.tally.unrevealed.map((u) => ({
      ...u,
      countedAs: view.rule.kind === 'score' ? 'no scores' : view.sealed?.missingReveal,
    })),
  };
}

export function summaryForModel(summary: ProposalSummary): JsonObject {
  return {
    ...summary,
    decided: summary.status !== 'open',
    sealed:
      summary.sealed === null
        ? null
        : {
            commitDeadline: summary.sealed.commitDeadline,
            revealDeadline: summary.deadline,
            missingReveal: summary.sealed.missingReveal,
          },
  };
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

/** What each kind of evidence shows, in words a model can pass on. */
const EVIDENCE_MEANS: Readonly<Record<Evidence['kind'], string>> = {
  ballot:
    'equivocation: two different ballots, both signed by the agent, on one proposal (first, second); neither counts',
  request:
    'equivocation: two different requests signed by the agent with one requestId (first, second), reported by the replicas',
  commitment:
    'equivocation on a sealed proposal: two different commitments (hashes of ballots), both signed by the agent (first, second); neither counts',
  reveal_mismatch:
    'a sealed ballot revealed against its own commitment: the agent committed to one ballot (first, a signed commitment) and revealed another (second, a signed ballot, with saltBase64) that does not reproduce the commitment; its ballot does not count',
  no_reveal:
    "a sealed ballot never revealed: the agent committed (first, a signed commitment) and did not reveal by revealDeadline; it counted as the proposal's missingReveal",
};

/** What "verified" covers for each kind: the signatures, and what else was recomputed. */
const VERIFIED_MEANS: Readonly<Record<Evidence['kind'], string>> = {
  ballot: "both signatures are the agent's and the two ballots differ",
  request: "both signatures are the agent's and the two requests differ",
  commitment: "both signatures are the agent's and the two commitments differ",
  reveal_mismatch:
    "both signatures are the agent's, and recomputing the seal from the revealed ballot and salt does not give the committed one",
  no_reveal:
    "the commitment's signature is the agent's. That no reveal arrived by revealDeadline is what the replicas attest by recording this item (a receipt over it, or over the decided proposal listing the agent in sealed.unrevealed, proves it); no signature can prove an absence",
};

export function evidenceForModel(evidence: Evidence, verified: { ok: boolean; reason?: string }): JsonObject {
  return {
    id: evidence.id,
    kind: evidence.kind,
    means: EVIDENCE_MEANS[evidence.kind],
    agent: evidence.agent,
    proposalId: evidence.proposalId,
    requestId: evidence.requestId,
    source: evidence.source,
    recordedAt: evidence.recordedAt,
    verified: verified.ok,
    ...(verified.ok ? { verifiedMeans: VERIFIED_MEANS[evidence.kind] } : {}),
    ...(verified.reason === undefined ? {} : { verificationFailure: verified.reason }),
    first: signedObjectForModel(evidence.first, firstObject(evidence.kind)),
    second:
      evidence.second === null ? null : signedObjectForModel(evidence.second, secondObject(evidence.kind)),
    ...(evidence.kind === 'reveal_mismatch' ? { saltBase64: toBase64(evidence.salt) } : {}),
    ...(evidence.kind === 'no_reveal' ? { revealDeadline: evidence.revealDeadline } : {}),
  };
}

type ObjectKind = 'ballot' | 'commitment' | 'request';

/** Ballot evidence holds two ballots; sealed-ballot evidence starts with a commitment (its seal tells nothing). */
function firstObject(kind: Evidence['kind']): ObjectKind {
  if (kind === 'ballot') return 'ballot';
  if (kind === 'request') return 'request';
  return 'commitment';
}

function secondObject(kind: Evidence['kind']): ObjectKind {
  if (kind === 'ballot' || kind === 'reveal_mismatch') return 'ballot';
  if (kind === 'request') return 'request';
  return 'commitment';
}

function signedObjectForModel(object: SignedObject, kind: ObjectKind): JsonObject {
  return {
    type: kind,
    ...(kind === 'ballot' ? { ballot: ballotIn(object.bytes) ?? null } : {}),
    ...(kind === 'commitment' ? { commitment: commitmentIn(object.bytes) ?? null } : {}),
    bytesBase64: toBase64(object.bytes),
    signatureBase64: toBase64(object.signature),
  };
}

/** What a commitment says: whose, on which proposal, and its seal (a hash: it does not tell the choice). */
function commitmentIn(bytes: Uint8Array): JsonObject | undefined {
  const decoded = decodeCommitment(bytes);
  if (!decoded.ok) return undefined;
  const { proposalId, agent, seal } = decoded.commitment;
  return { proposalId, agent, sealBase64: toBase64(seal) };
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
  if (op.op === 'commit') return { op: 'commit', commitment: commitmentIn(op.commitmentBytes) ?? null };
  if (op.op === 'reveal')
    return { op: 'reveal', ballot: ballotIn(op.ballotBytes) ?? null, saltBase64: toBase64(op.salt) };
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
