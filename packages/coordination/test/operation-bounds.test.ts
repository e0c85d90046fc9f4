/**
 * `decodeOperation` reads with bounds derived from the limits: a header declaring more than the
 * largest valid operation holds is refused before its items are read or allocated, and the
 * largest valid operation of every kind still decodes.
 */
import { encodeCanonical } from '@conclave/core';
import { describe, expect, it } from 'vitest';
import {
  type CoordinationLimits,
  commitmentBytesMax,
  DEFAULT_COORDINATION_LIMITS,
  decodeOperation,
  encodeOperation,
  type Operation,
  operationBounds,
  resolveLimits,
  SALT_BYTES_MAX,
} from '../src/index.ts';

const AGENT_ID_BYTES = 64;
const text = (bytes: number, fill = 'x') => fill.repeat(bytes);
const agentId = (i: number) => `${i}`.padStart(AGENT_ID_BYTES, 'a');

/** The largest valid operation of every kind under `l`: every list full, every string at its bound. */
function largestOperations(l: CoordinationLimits): Operation[] {
  const voters = Array.from({ length: l.votersMax }, (_, i) => ({ agent: agentId(i), weight: l.weightMax }));
  const candidates = Array.from({ length: l.candidatesMax }, (_, i) =>
    `${i}`.padStart(l.candidateBytesMax, 'c'),
  );
  const page = { limit: l.pageMax };
  return [
    {
      op: 'propose',
      proposalId: text(l.proposalIdBytesMax),
      title: text(l.titleBytesMax),
      rule: { kind: 'score', aggregate: 'trimmed_mean', trimPermille: 499, minBallots: l.votersMax },
      voters,
      deadline: Number.MAX_SAFE_INTEGER,
      candidates,
      sealed: { commitDeadline: Number.MAX_SAFE_INTEGER - 1, missingReveal: 'abstain' },
    },
    { op: 'vote', ballotBytes: new Uint8Array(l.ballotBytesMax), signature: new Uint8Array(64) },
    { op: 'commit', commitmentBytes: new Uint8Array(commitmentBytesMax(l)), signature: new Uint8Array(64) },
    {
      op: 'reveal',
      ballotBytes: new Uint8Array(l.ballotBytesMax),
      signature: new Uint8Array(64),
      salt: new Uint8Array(SALT_BYTES_MAX),
    },
    { op: 'get_commitment', proposalId: text(l.proposalIdBytesMax), agent: agentId(0) },
    {
      op: 'kv_put',
      key: text(l.kvKeyBytesMax),
      value: new Uint8Array(l.kvValueBytesMax),
      writers: Array.from({ length: l.kvWritersMax }, (_, i) => agentId(i)),
    },
    {
      op: 'kv_cas',
      key: text(l.kvKeyBytesMax),
      expectedVersion: 1,
      value: new Uint8Array(l.kvValueBytesMax),
    },
    { op: 'kv_delete', key: text(l.kvKeyBytesMax), expectedVersion: 7 },
    { op: 'kv_get', key: text(l.kvKeyBytesMax) },
    { op: 'lock_acquire', name: text(l.lockNameBytesMax), ttl: l.leaseTicksMax },
    { op: 'lock_renew', name: text(l.lockNameBytesMax), ttl: l.leaseTicksMax },
    { op: 'lock_release', name: text(l.lockNameBytesMax) },
    { op: 'get_lock', name: text(l.lockNameBytesMax) },
    { op: 'task_create', taskId: text(l.taskIdBytesMax), payload: new Uint8Array(l.taskPayloadBytesMax) },
    { op: 'task_claim', taskId: text(l.taskIdBytesMax), ttl: l.leaseTicksMax },
    { op: 'task_complete', taskId: text(l.taskIdBytesMax), result: new Uint8Array(l.taskResultBytesMax) },
    { op: 'task_release', taskId: text(l.taskIdBytesMax) },
    { op: 'get_task', taskId: text(l.taskIdBytesMax) },
    { op: 'get_proposal', proposalId: text(l.proposalIdBytesMax) },
    { op: 'list_proposals', status: 'decided', after: text(l.proposalIdBytesMax), ...page },
    { op: 'get_ballot', proposalId: text(l.proposalIdBytesMax), agent: agentId(1) },
    {
      op: 'list_evidence',
      agent: agentId(1),
      proposalId: text(l.proposalIdBytesMax),
      after: Number.MAX_SAFE_INTEGER,
      ...page,
    },
    { op: 'list_tasks', status: 'claimed', after: text(l.taskIdBytesMax), ...page },
    { op: 'events', fromSequence: Number.MAX_SAFE_INTEGER, fromIndex: 3, ...page },
    { op: 'list_agents', after: agentId(1), ...page },
    { op: 'list_usage', after: agentId(1), ...page },
  ];
}

/** `[name, 'k', bin, array32 of 2^24 nils]`: the items are present, so only the bound refuses it. */
function declaringHugeArray(present: boolean): Uint8Array {
  const head = encodeCanonical(['kv_put', 'k', new Uint8Array(0)]);
  const count = 2 ** 24;
  const bytes = new Uint8Array(head.byteLength + 5 + (present ? count : 0)).fill(0xc0);
  bytes.set(head);
  bytes[0] = 0x94; // fixarray of 4: the writers list follows
  const view = new DataView(bytes.buffer);
  bytes[head.byteLength] = 0xdd; // array32
  view.setUint32(head.byteLength + 1, count);
  return bytes;
}

describe('decodeOperation bounds', () => {
  it('decodes the largest valid operation of every kind, at the defaults and at lowered limits', () => {
    const lowered = resolveLimits({ votersMax: 3, candidatesMax: 2, kvWritersMax: 1, titleBytesMax: 8 });
    for (const limits of [DEFAULT_COORDINATION_LIMITS, lowered]) {
      const operations = largestOperations(limits);
      expect(new Set(operations.map((o) => o.op)).size).toBe(26);
      for (const operation of operations) {
        const decoded = decodeOperation(encodeOperation(operation), limits);
        expect(decoded, operation.op).toMatchObject({ ok: true, operation: { op: operation.op } });
      }
    }
  });

  it('refuses an operation declaring 2^24 entries before reading them, as INVALID', () => {
    const limits = DEFAULT_COORDINATION_LIMITS;
    const decoded = decodeOperation(declaringHugeArray(true), limits);
    expect(decoded).toMatchObject({ ok: false, code: 'INVALID' });
    expect(!decoded.ok && decoded.message).toMatch(
      /declares more than any valid one holds \(array of 16777216 items/,
    );
    // Without the bytes, the same header is a truncation.
    expect(decodeOperation(declaringHugeArray(false), limits)).toMatchObject({
      ok: false,
      code: 'MALFORMED',
    });
  });

  it('bounds follow the limits: one voter over votersMax is refused unread', () => {
    const limits = resolveLimits({ votersMax: 3 });
    const [propose] = largestOperations(DEFAULT_COORDINATION_LIMITS) as [
      Extract<Operation, { op: 'propose' }>,
    ];
    const tooMany = {
      ...propose,
      voters: propose.voters.slice(0, 4),
      candidates: propose.candidates.slice(0, 2),
    };
    const decoded = decodeOperation(encodeOperation(tooMany), limits);
    // The voters list is within arrayLengthMax (2 × candidatesMax 16), so the field check names it;
    // a list longer than every bound is refused by the header.
    expect(decoded).toMatchObject({ ok: false, code: 'INVALID' });
    expect(operationBounds(limits)).toBe(operationBounds(limits));
    expect(operationBounds(limits).arrayLengthMax).toBe(32);
    const longList = { ...propose, voters: propose.voters.slice(0, 33), candidates: [] };
    expect(decodeOperation(encodeOperation(longList), limits)).toMatchObject({
      ok: false,
      code: 'INVALID',
      message: expect.stringMatching(/array of 33 items, at most 32/),
    });
  });
});
