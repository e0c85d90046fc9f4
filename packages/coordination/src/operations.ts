/**
 * Operations: what agents ask the coordination state machine to do, and their canonical bytes.
 *
 * Each operation is a canonical msgpack tuple `[name, ...fields]` (see the README for every
 * tuple). `ops.*` builds the bytes; `decodeOperation` is the replica side: it checks the
 * encoding is canonical and validates every field (type, size, range) against the limits.
 */
import { type Canonical, decodeCanonical, encodeCanonical, SIGNATURE_BYTES } from '@conclave/core';
import { JOIN_STATEMENT_BYTES_MAX } from './capacity.ts';
import { actionTuple, decodeAction, type GovernanceAction } from './governance.ts';
import type { CoordinationLimits } from './limits.ts';
import { operationBounds } from './operation-bounds.ts';
import { commitmentBytesMax, SALT_BYTES_MAX, SALT_BYTES_MIN } from './seal.ts';
import {
  AGENT_ID_BYTES_MAX,
  arity,
  binary,
  Invalid,
  integer,
  list,
  nullable,
  oneOf,
  text,
} from './validate.ts';

/** How a proposal is decided. See the README for the exact outcome definitions. */
export type Rule =
  /** Approved when at least `k` voters approve (voter weights are ignored). */
  | { readonly kind: 'threshold'; readonly k: number }
  /** Approved when the approving voters' weights sum to at least `approveWeight`. */
  | { readonly kind: 'weighted'; readonly approveWeight: number }
  /**
   * Each ballot scores every candidate; the candidate with the highest aggregate wins.
   * `trimPermille` (0..499, trimmed_mean only; 0 for median) is the share of ballots dropped at
   * each end, in thousandths, so that all arithmetic stays in integers.
   */
  | {
      readonly kind: 'score';
      readonly aggregate: 'median' | 'trimmed_mean';
      readonly trimPermille: number;
      readonly minBallots: number;
    };

/** A voter of a proposal and its weight (an integer ≥ 1). */
export interface Voter {
  readonly agent: string;
  readonly weight: number;
}

/** A yes/no ballot's choice. */
export type SimpleChoice = 'approve' | 'reject' | 'abstain';
/** A score ballot's choice: one `[candidate, score]` pair per candidate. */
export type ScoreChoice = readonly (readonly [candidate: string, score: number])[];
/** What a ballot says. */
export type Choice = SimpleChoice | ScoreChoice;

/**
 * What makes a proposal sealed: voters commit to a hash of their ballot before `commitDeadline`
 * and reveal it from then until the proposal's deadline (see seal.ts and the README).
 * `missingReveal` is what a voter who committed and never revealed counts as: `abstain`
 * (the default) or `reject` (yes/no rules only; under a score rule it adds no scores).
 */
export interface SealedTerms {
  /** Absolute agreed time, in ticks, at which committing ends and revealing begins. */
  readonly commitDeadline: number;
  readonly missingReveal: MissingReveal;
}

/** What a committed ballot that was never revealed counts as. */
export type MissingReveal = 'abstain' | 'reject';

/** Statuses a list of proposals can be filtered by. */
export type ProposalFilter = 'open' | 'decided' | 'all';
/** Statuses a list of tasks can be filtered by. */
export type TaskFilter = 'open' | 'claimed' | 'done' | 'all';

/** Operations that change state; valid only through `apply` (ordered requests). */
export type WriteOperation =
  | {
      readonly op: 'propose';
      readonly proposalId: string;
      readonly title: string;
      readonly rule: Rule;
      readonly voters: readonly Voter[];
      /** Absolute agreed time, in ticks, at which voting closes. */
      readonly deadline: number;
      /** Score rules only (2..candidatesMax distinct names); empty for the other rules. */
      readonly candidates: readonly string[];
      /** Null for an open ballot; `deadline` is then the reveal deadline. */
      readonly sealed: SealedTerms | null;
    }
  | { readonly op: 'vote'; readonly ballotBytes: Uint8Array; readonly signature: Uint8Array }
  /** Commits to a sealed ballot: a signed commitment (see `signCommitment`). */
  | { readonly op: 'commit'; readonly commitmentBytes: Uint8Array; readonly signature: Uint8Array }
  /** Reveals the ballot committed to: the signed ballot and the salt sealed with it. */
  | {
      readonly op: 'reveal';
      readonly ballotBytes: Uint8Array;
      readonly signature: Uint8Array;
      readonly salt: Uint8Array;
    }
  | {
      readonly op: 'kv_put';
      readonly key: string;
      readonly value: Uint8Array;
      /** The owner's grant of write access to these agents; null leaves it as it is (none for a new key). */
      readonly writers: readonly string[] | null;
    }
  | {
      readonly op: 'kv_cas';
      readonly key: string;
      /** 0 means "the key must be absent". */
      readonly expectedVersion: number;
      readonly value: Uint8Array;
    }
  /** `expectedVersion` null deletes unconditionally. */
  | { readonly op: 'kv_delete'; readonly key: string; readonly expectedVersion: number | null }
  | { readonly op: 'lock_acquire'; readonly name: string; readonly ttl: number }
  | { readonly op: 'lock_renew'; readonly name: string; readonly ttl: number }
  | { readonly op: 'lock_release'; readonly name: string }
  | { readonly op: 'task_create'; readonly taskId: string; readonly payload: Uint8Array }
  | { readonly op: 'task_claim'; readonly taskId: string; readonly ttl: number }
  | { readonly op: 'task_complete'; readonly taskId: string; readonly result: Uint8Array }
  | { readonly op: 'task_release'; readonly taskId: string }
  /**
   * Opens a proposal that executes `action` when approved. Only a council member may propose it;
   * its voters are the council and its rule the council threshold (see the README).
   */
  | {
      readonly op: 'propose_action';
      readonly proposalId: string;
      readonly title: string;
      readonly deadline: number;
      readonly action: GovernanceAction;
      /** Null for an open ballot. */
      readonly sealed: SealedTerms | null;
    }
  /** Replaces the signer's key from the next sequence: `joinStatement` is for the signer's id, with the new key. */
  | { readonly op: 'rotate_key'; readonly joinStatement: Uint8Array }
  /** Removes the signer from the registry from the next sequence. */
  | { readonly op: 'revoke_self' };

/** Read-only operations: valid through `query` (unordered) and through `apply` (linearizable). */
export type ReadOperation =
  | { readonly op: 'get_proposal'; readonly proposalId: string }
  | {
      readonly op: 'list_proposals';
      readonly status: ProposalFilter;
      /** Page cursor: list ids strictly after this one. */
      readonly after: string | null;
      readonly limit: number;
    }
  | { readonly op: 'get_ballot'; readonly proposalId: string; readonly agent: string }
  /** A voter's signed commitment on a sealed proposal. */
  | { readonly op: 'get_commitment'; readonly proposalId: string; readonly agent: string }
  | {
      readonly op: 'list_evidence';
      readonly agent: string | null;
      readonly proposalId: string | null;
      /** Page cursor: evidence ids strictly above this one. */
      readonly after: number | null;
      readonly limit: number;
    }
  | { readonly op: 'kv_get'; readonly key: string }
  | { readonly op: 'get_lock'; readonly name: string }
  | { readonly op: 'get_task'; readonly taskId: string }
  | {
      readonly op: 'list_tasks';
      readonly status: TaskFilter;
      readonly after: string | null;
      readonly limit: number;
    }
  | {
      readonly op: 'events';
      readonly fromSequence: number;
      /** Position within `fromSequence` to start at (0 for its first event). */
      readonly fromIndex: number;
      readonly limit: number;
    }
  | { readonly op: 'list_agents'; readonly after: string | null; readonly limit: number }
  /** What each agent (registered or removed, in id order) holds against its quotas. */
  | { readonly op: 'list_usage'; readonly after: string | null; readonly limit: number }
  | { readonly op: 'get_council' };

/** Every operation. */
export type Operation = WriteOperation | ReadOperation;

/** Names of the read-only operations. */
export const READ_OPERATIONS: ReadonlySet<string> = new Set([
  'get_proposal',
  'list_proposals',
  'get_ballot',
  'get_commitment',
  'list_evidence',
  'kv_get',
  'get_lock',
  'get_task',
  'list_tasks',
  'events',
  'list_agents',
  'list_usage',
  'get_council',
]);

/** Whether an operation only reads (its name is in `READ_OPERATIONS`), so `query` may answer it. */
export function isReadOperation(operation: Operation): operation is ReadOperation {
  return READ_OPERATIONS.has(operation.op);
}

/** Sealed terms as a tuple field: `[commitDeadline, missingReveal]`. */
function sealedTuple(sealed: SealedTerms): Canonical {
  return [sealed.commitDeadline, sealed.missingReveal];
}

function ruleTuple(rule: Rule): Canonical {
  switch (rule.kind) {
    case 'threshold':
      return ['threshold', rule.k];
    case 'weighted':
      return ['weighted', rule.approveWeight];
    case 'score':
      return ['score', rule.aggregate, rule.trimPermille, rule.minBallots];
  }
}

/** The canonical tuple of an operation. */
export function operationTuple(operation: Operation): Canonical {
  switch (operation.op) {
    case 'propose': {
      const open: Canonical[] = [
        'propose',
        operation.proposalId,
        operation.title,
        ruleTuple(operation.rule),
        operation.voters.map((v) => [v.agent, v.weight]),
        operation.deadline,
        [...operation.candidates],
      ];
      // An open proposal keeps its original seven fields, so old encodings stay valid.
      return operation.sealed === null ? open : [...open, sealedTuple(operation.sealed)];
    }
    case 'vote':
      return ['vote', operation.ballotBytes, operation.signature];
    case 'commit':
      return ['commit', operation.commitmentBytes, operation.signature];
    case 'reveal':
      return ['reveal', operation.ballotBytes, operation.signature, operation.salt];
    case 'kv_put':
      // Without writers the tuple keeps its original three fields, so old encodings stay valid.
      return operation.writers === null
        ? ['kv_put', operation.key, operation.value]
        : ['kv_put', operation.key, operation.value, [...operation.writers]];
    case 'kv_cas':
      return ['kv_cas', operation.key, operation.expectedVersion, operation.value];
    case 'kv_delete':
      return ['kv_delete', operation.key, operation.expectedVersion];
    case 'lock_acquire':
    case 'lock_renew':
      return [operation.op, operation.name, operation.ttl];
    case 'lock_release':
    case 'get_lock':
      return [operation.op, operation.name];
    case 'task_create':
      return ['task_create', operation.taskId, operation.payload];
    case 'task_claim':
      return ['task_claim', operation.taskId, operation.ttl];
    case 'task_complete':
      return ['task_complete', operation.taskId, operation.result];
    case 'task_release':
    case 'get_task':
      return [operation.op, operation.taskId];
    case 'get_proposal':
      return ['get_proposal', operation.proposalId];
    case 'list_proposals':
      return ['list_proposals', operation.status, operation.after, operation.limit];
    case 'get_ballot':
    case 'get_commitment':
      return [operation.op, operation.proposalId, operation.agent];
    case 'list_evidence':
      return ['list_evidence', operation.agent, operation.proposalId, operation.after, operation.limit];
    case 'kv_get':
      return ['kv_get', operation.key];
    case 'list_tasks':
      return ['list_tasks', operation.status, operation.after, operation.limit];
    case 'events':
      return ['events', operation.fromSequence, operation.fromIndex, operation.limit];
    case 'list_agents':
    case 'list_usage':
      return [operation.op, operation.after, operation.limit];
    case 'propose_action': {
      const open: Canonical[] = [
        'propose_action',
        operation.proposalId,
        operation.title,
        operation.deadline,
        actionTuple(operation.action),
      ];
      return operation.sealed === null ? open : [...open, sealedTuple(operation.sealed)];
    }
    case 'rotate_key':
      return ['rotate_key', operation.joinStatement];
    case 'revoke_self':
    case 'get_council':
      return [operation.op];
  }
}

/** The canonical bytes of an operation: what an agent puts in its signed request. */
export function encodeOperation(operation: Operation): Uint8Array {
  return encodeCanonical(operationTuple(operation));
}

type Fields<O extends Operation['op']> = Omit<Extract<Operation, { op: O }>, 'op'>;

/** The default page size of list builders. */
export const DEFAULT_PAGE_LIMIT = 100;

/**
 * Builders: each returns the canonical bytes of one operation, ready to be the `operation` of a
 * signed request (writes) or a query (reads). They do not validate; the replicas do.
 */
export const ops = {
  /**
   * Opens a proposal. `candidates` defaults to none (needed only by score rules); `sealed` to an
   * open ballot (give `{ commitDeadline, missingReveal }` for a sealed one).
   */
  propose: (
    fields: Omit<Fields<'propose'>, 'candidates' | 'sealed'> & {
      readonly candidates?: readonly string[];
      readonly sealed?: SealedTerms | null;
    },
  ): Uint8Array =>
    encodeOperation({
      op: 'propose',
      ...fields,
      candidates: fields.candidates ?? [],
      sealed: fields.sealed ?? null,
    }),
  /** Casts a signed ballot (see `encodeBallot` / `signBallot`) on an open proposal. */
  vote: (fields: Fields<'vote'>): Uint8Array => encodeOperation({ op: 'vote', ...fields }),
  /** Commits to a sealed ballot (see `signCommitment`). */
  commit: (fields: Fields<'commit'>): Uint8Array => encodeOperation({ op: 'commit', ...fields }),
  /** Reveals a sealed ballot: the signed ballot and the salt its commitment sealed. */
  reveal: (fields: Fields<'reveal'>): Uint8Array => encodeOperation({ op: 'reveal', ...fields }),
  /** Reads a voter's signed commitment on a sealed proposal. */
  getCommitment: (fields: Fields<'get_commitment'>): Uint8Array =>
    encodeOperation({ op: 'get_commitment', ...fields }),
  /**
   * Writes a key: its version becomes the store's next revision. `writers` (owner only) grants
   * those agents write access; omitted, the grant stays as it is.
   */
  kvPut: (
    fields: Omit<Fields<'kv_put'>, 'writers'> & { readonly writers?: readonly string[] | null },
  ): Uint8Array =>
    encodeOperation({ op: 'kv_put', key: fields.key, value: fields.value, writers: fields.writers ?? null }),
  /** Writes a key only if its version is `expectedVersion` (0: only if absent). */
  kvCas: (fields: Fields<'kv_cas'>): Uint8Array => encodeOperation({ op: 'kv_cas', ...fields }),
  /** Deletes a key, only at `expectedVersion` when given. */
  kvDelete: (fields: { readonly key: string; readonly expectedVersion?: number | null }): Uint8Array =>
    encodeOperation({ op: 'kv_delete', key: fields.key, expectedVersion: fields.expectedVersion ?? null }),
  /** Reads a key. */
  kvGet: (fields: Fields<'kv_get'>): Uint8Array => encodeOperation({ op: 'kv_get', ...fields }),
  /** Takes a lock for `ttl` ticks of agreed time. */
  lockAcquire: (fields: Fields<'lock_acquire'>): Uint8Array =>
    encodeOperation({ op: 'lock_acquire', ...fields }),
  /** Extends the caller's lease to now + `ttl`. */
  lockRenew: (fields: Fields<'lock_renew'>): Uint8Array => encodeOperation({ op: 'lock_renew', ...fields }),
  /** Gives a lock up. */
  lockRelease: (fields: Fields<'lock_release'>): Uint8Array =>
    encodeOperation({ op: 'lock_release', ...fields }),
  /** Reads a lock's holder and expiry. */
  getLock: (fields: Fields<'get_lock'>): Uint8Array => encodeOperation({ op: 'get_lock', ...fields }),
  /** Puts a task on the board. */
  taskCreate: (fields: Fields<'task_create'>): Uint8Array =>
    encodeOperation({ op: 'task_create', ...fields }),
  /** Claims an open task under a lease of `ttl` ticks. */
  taskClaim: (fields: Fields<'task_claim'>): Uint8Array => encodeOperation({ op: 'task_claim', ...fields }),
  /** Completes a task the caller holds a valid claim on. */
  taskComplete: (fields: Fields<'task_complete'>): Uint8Array =>
    encodeOperation({ op: 'task_complete', ...fields }),
  /** Returns a claimed task to the board. */
  taskRelease: (fields: Fields<'task_release'>): Uint8Array =>
    encodeOperation({ op: 'task_release', ...fields }),
  /** Reads a task. */
  getTask: (fields: Fields<'get_task'>): Uint8Array => encodeOperation({ op: 'get_task', ...fields }),
  /** Lists tasks in id order. */
  listTasks: (
    fields: { readonly status?: TaskFilter; readonly after?: string | null; readonly limit?: number } = {},
  ): Uint8Array =>
    encodeOperation({
      op: 'list_tasks',
      status: fields.status ?? 'all',
      after: fields.after ?? null,
      limit: fields.limit ?? DEFAULT_PAGE_LIMIT,
    }),
  /** Reads a proposal: its status, outcome and tally. */
  getProposal: (fields: Fields<'get_proposal'>): Uint8Array =>
    encodeOperation({ op: 'get_proposal', ...fields }),
  /** Lists proposals in id order. */
  listProposals: (
    fields: {
      readonly status?: ProposalFilter;
      readonly after?: string | null;
      readonly limit?: number;
    } = {},
  ): Uint8Array =>
    encodeOperation({
      op: 'list_proposals',
      status: fields.status ?? 'open',
      after: fields.after ?? null,
      limit: fields.limit ?? DEFAULT_PAGE_LIMIT,
    }),
  /** Reads the signed ballot an agent cast on a proposal. */
  getBallot: (fields: Fields<'get_ballot'>): Uint8Array => encodeOperation({ op: 'get_ballot', ...fields }),
  /** Lists evidence in id order, optionally about one agent and/or one proposal. */
  listEvidence: (
    fields: {
      readonly agent?: string | null;
      readonly proposalId?: string | null;
      readonly after?: number | null;
      readonly limit?: number;
    } = {},
  ): Uint8Array =>
    encodeOperation({
      op: 'list_evidence',
      agent: fields.agent ?? null,
      proposalId: fields.proposalId ?? null,
      after: fields.after ?? null,
      limit: fields.limit ?? DEFAULT_PAGE_LIMIT,
    }),
  /** Events at or after (`fromSequence`, `fromIndex`), in order. */
  events: (fields: { readonly fromSequence: number; readonly fromIndex?: number; readonly limit?: number }) =>
    encodeOperation({
      op: 'events',
      fromSequence: fields.fromSequence,
      fromIndex: fields.fromIndex ?? 0,
      limit: fields.limit ?? DEFAULT_PAGE_LIMIT,
    }),
  /** Proposes a governance action to the council (see `actions` for building one). */
  proposeAction: (
    fields: Omit<Fields<'propose_action'>, 'title' | 'sealed'> & {
      readonly title?: string;
      readonly sealed?: SealedTerms | null;
    },
  ): Uint8Array =>
    encodeOperation({
      op: 'propose_action',
      ...fields,
      title: fields.title ?? '',
      sealed: fields.sealed ?? null,
    }),
  /** Rotates the signer's own key: a join statement for its id, signed by the new key (the request by the old one). */
  rotateKey: (fields: Fields<'rotate_key'>): Uint8Array => encodeOperation({ op: 'rotate_key', ...fields }),
  /** Removes the signer from the registry. */
  revokeSelf: (): Uint8Array => encodeOperation({ op: 'revoke_self' }),
  /** Reads the council: members and threshold. */
  getCouncil: (): Uint8Array => encodeOperation({ op: 'get_council' }),
  /** The agent registry, in id order. */
  listAgents: (fields: { readonly after?: string | null; readonly limit?: number } = {}): Uint8Array =>
    encodeOperation({
      op: 'list_agents',
      after: fields.after ?? null,
      limit: fields.limit ?? DEFAULT_PAGE_LIMIT,
    }),
  /** Quota usage of every agent record, in id order (a page of results holds about 500 bytes per agent). */
  listUsage: (fields: { readonly after?: string | null; readonly limit?: number } = {}): Uint8Array =>
    encodeOperation({
      op: 'list_usage',
      after: fields.after ?? null,
      limit: fields.limit ?? DEFAULT_PAGE_LIMIT,
    }),
} as const;

// ---------------------------------------------------------------------------------------------
// Decoding and validation (replica side). Never throws.

/** Why an operation was refused before it touched the state. */
export interface OperationError {
  readonly ok: false;
  readonly code: 'MALFORMED' | 'INVALID';
  readonly message: string;
}

/** A decoded operation, or why it is not one. */
export type DecodedOperation = { readonly ok: true; readonly operation: Operation } | OperationError;

const SAFE_MAX = Number.MAX_SAFE_INTEGER;

/** Thousandths of the ballots a trimmed mean drops at each end at most: under half, so one is left to average. */
export const TRIM_PERMILLE_MAX = 499;

function decodeRule(value: unknown, limits: CoordinationLimits): Rule {
  const tuple = list(value, 'rule', 2, 4);
  const kind = oneOf(tuple[0], 'rule kind', ['threshold', 'weighted', 'score'] as const);
  switch (kind) {
    case 'threshold':
      arity(tuple, 2, 'threshold rule');
      return { kind, k: integer(tuple[1], 'k', 1, limits.votersMax) };
    case 'weighted':
      arity(tuple, 2, 'weighted rule');
      return {
        kind,
        approveWeight: integer(tuple[1], 'approveWeight', 1, limits.votersMax * limits.weightMax),
      };
    case 'score': {
      arity(tuple, 4, 'score rule');
      const aggregate = oneOf(tuple[1], 'aggregate', ['median', 'trimmed_mean'] as const);
      const trimMax = aggregate === 'median' ? 0 : TRIM_PERMILLE_MAX;
      const trimPermille = integer(tuple[2], 'trimPermille', 0, trimMax);
      return {
        kind,
        aggregate,
        trimPermille,
        minBallots: integer(tuple[3], 'minBallots', 1, limits.votersMax),
      };
    }
  }
}

function decodeSealed(value: unknown): SealedTerms {
  const tuple = list(value, 'sealed', 2, 2);
  return {
    commitDeadline: integer(tuple[0], 'commitDeadline', 0, SAFE_MAX),
    missingReveal: oneOf(tuple[1], 'missingReveal', ['abstain', 'reject'] as const),
  };
}

/** A signature field: exactly an Ed25519 signature's bytes. */
function signatureField(value: unknown): Uint8Array {
  const signature = binary(value, 'signature', SIGNATURE_BYTES);
  if (signature.byteLength !== SIGNATURE_BYTES)
    throw new Invalid(`signature must be ${SIGNATURE_BYTES} bytes`);
  return signature;
}

function decodeFields(tuple: unknown[], limits: CoordinationLimits): Operation {
  const name = tuple[0];
  const page = (value: unknown) => integer(value, 'limit', 1, limits.pageMax);
  switch (name) {
    case 'propose': {
      if (tuple.length !== 7 && tuple.length !== 8)
        throw new Invalid(`propose takes 6 or 7 fields (the last: sealed terms), got ${tuple.length - 1}`);
      const proposalId = text(tuple[1], 'proposalId', limits.proposalIdBytesMax);
      const title = text(tuple[2], 'title', limits.titleBytesMax, 0);
      const rule = decodeRule(tuple[3], limits);
      const voters = list(tuple[4], 'voters', 1, limits.votersMax).map((item, i) => {
        const pair = list(item, `voters[${i}]`, 2, 2);
        return {
          agent: text(pair[0], `voters[${i}].agent`, AGENT_ID_BYTES_MAX),
          weight: integer(pair[1], `voters[${i}].weight`, 1, limits.weightMax),
        };
      });
      const deadline = integer(tuple[5], 'deadline', 0, SAFE_MAX);
      const candidates = list(tuple[6], 'candidates', 0, limits.candidatesMax).map((c, i) =>
        text(c, `candidates[${i}]`, limits.candidateBytesMax),
      );
      const sealed = tuple.length === 8 ? decodeSealed(tuple[7]) : null;
      return { op: name, proposalId, title, rule, voters, deadline, candidates, sealed };
    }
    case 'vote': {
      arity(tuple, 3, name);
      const ballotBytes = binary(tuple[1], 'ballotBytes', limits.ballotBytesMax);
      return { op: name, ballotBytes, signature: signatureField(tuple[2]) };
    }
    case 'commit': {
      arity(tuple, 3, name);
      return {
        op: name,
        commitmentBytes: binary(tuple[1], 'commitmentBytes', commitmentBytesMax(limits)),
        signature: signatureField(tuple[2]),
      };
    }
    case 'reveal': {
      arity(tuple, 4, name);
      const salt = binary(tuple[3], 'salt', SALT_BYTES_MAX);
      if (salt.byteLength < SALT_BYTES_MIN)
        throw new Invalid(`salt must be ${SALT_BYTES_MIN}..${SALT_BYTES_MAX} bytes (at least 128 bits)`);
      return {
        op: name,
        ballotBytes: binary(tuple[1], 'ballotBytes', limits.ballotBytesMax),
        signature: signatureField(tuple[2]),
        salt,
      };
    }
    case 'kv_put':
      if (tuple.length !== 3 && tuple.length !== 4)
        throw new Invalid(`kv_put takes 2 or 3 fields (key, value, writers), got ${tuple.length - 1}`);
      return {
        op: name,
        key: text(tuple[1], 'key', limits.kvKeyBytesMax),
        value: binary(tuple[2], 'value', limits.kvValueBytesMax),
        writers:
          tuple.length === 4
            ? list(tuple[3], 'writers', 0, limits.kvWritersMax).map((w, i) =>
                text(w, `writers[${i}]`, AGENT_ID_BYTES_MAX),
              )
            : null,
      };
    case 'kv_cas':
      arity(tuple, 4, name);
      return {
        op: name,
        key: text(tuple[1], 'key', limits.kvKeyBytesMax),
        expectedVersion: integer(tuple[2], 'expectedVersion', 0, SAFE_MAX),
        value: binary(tuple[3], 'value', limits.kvValueBytesMax),
      };
    case 'kv_delete':
      arity(tuple, 3, name);
      return {
        op: name,
        key: text(tuple[1], 'key', limits.kvKeyBytesMax),
        expectedVersion: nullable(tuple[2], (v) => integer(v, 'expectedVersion', 0, SAFE_MAX)),
      };
    case 'kv_get':
      arity(tuple, 2, name);
      return { op: name, key: text(tuple[1], 'key', limits.kvKeyBytesMax) };
    case 'lock_acquire':
    case 'lock_renew':
      arity(tuple, 3, name);
      return {
        op: name,
        name: text(tuple[1], 'name', limits.lockNameBytesMax),
        ttl: integer(tuple[2], 'ttl', 1, limits.leaseTicksMax),
      };
    case 'lock_release':
    case 'get_lock':
      arity(tuple, 2, name);
      return { op: name, name: text(tuple[1], 'name', limits.lockNameBytesMax) };
    case 'task_create':
      arity(tuple, 3, name);
      return {
        op: name,
        taskId: text(tuple[1], 'taskId', limits.taskIdBytesMax),
        payload: binary(tuple[2], 'payload', limits.taskPayloadBytesMax),
      };
    case 'task_claim':
      arity(tuple, 3, name);
      return {
        op: name,
        taskId: text(tuple[1], 'taskId', limits.taskIdBytesMax),
        ttl: integer(tuple[2], 'ttl', 1, limits.leaseTicksMax),
      };
    case 'task_complete':
      arity(tuple, 3, name);
      return {
        op: name,
        taskId: text(tuple[1], 'taskId', limits.taskIdBytesMax),
        result: binary(tuple[2], 'result', limits.taskResultBytesMax),
      };
    case 'task_release':
    case 'get_task':
      arity(tuple, 2, name);
      return { op: name, taskId: text(tuple[1], 'taskId', limits.taskIdBytesMax) };
    case 'get_proposal':
      arity(tuple, 2, name);
      return { op: name, proposalId: text(tuple[1], 'proposalId', limits.proposalIdBytesMax) };
    case 'list_proposals':
      arity(tuple, 4, name);
      return {
        op: name,
        status: oneOf(tuple[1], 'status', ['open', 'decided', 'all'] as const),
        after: nullable(tuple[2], (v) => text(v, 'after', limits.proposalIdBytesMax)),
        limit: page(tuple[3]),
      };
    case 'get_ballot':
    case 'get_commitment':
      arity(tuple, 3, name);
      return {
        op: name,
        proposalId: text(tuple[1], 'proposalId', limits.proposalIdBytesMax),
        agent: text(tuple[2], 'agent', AGENT_ID_BYTES_MAX),
      };
    case 'list_evidence':
      arity(tuple, 5, name);
      return {
        op: name,
        agent: nullable(tuple[1], (v) => text(v, 'agent', AGENT_ID_BYTES_MAX)),
        proposalId: nullable(tuple[2], (v) => text(v, 'proposalId', limits.proposalIdBytesMax)),
        after: nullable(tuple[3], (v) => integer(v, 'after', 0, SAFE_MAX)),
        limit: page(tuple[4]),
      };
    case 'list_tasks':
      arity(tuple, 4, name);
      return {
        op: name,
        status: oneOf(tuple[1], 'status', ['open', 'claimed', 'done', 'all'] as const),
        after: nullable(tuple[2], (v) => text(v, 'after', limits.taskIdBytesMax)),
        limit: page(tuple[3]),
      };
    case 'events':
      arity(tuple, 4, name);
      return {
        op: name,
        fromSequence: integer(tuple[1], 'fromSequence', 0, SAFE_MAX),
        fromIndex: integer(tuple[2], 'fromIndex', 0, SAFE_MAX),
        limit: page(tuple[3]),
      };
    case 'list_agents':
    case 'list_usage':
      arity(tuple, 3, name);
      return {
        op: name,
        after: nullable(tuple[1], (v) => text(v, 'after', AGENT_ID_BYTES_MAX)),
        limit: page(tuple[2]),
      };
    case 'propose_action':
      if (tuple.length !== 5 && tuple.length !== 6)
        throw new Invalid(
          `propose_action takes 4 or 5 fields (the last: sealed terms), got ${tuple.length - 1}`,
        );
      return {
        op: name,
        proposalId: text(tuple[1], 'proposalId', limits.proposalIdBytesMax),
        title: text(tuple[2], 'title', limits.titleBytesMax, 0),
        deadline: integer(tuple[3], 'deadline', 0, SAFE_MAX),
        action: decodeAction(tuple[4], limits),
        sealed: tuple.length === 6 ? decodeSealed(tuple[5]) : null,
      };
    case 'rotate_key':
      arity(tuple, 2, name);
      return { op: name, joinStatement: binary(tuple[1], 'joinStatement', JOIN_STATEMENT_BYTES_MAX) };
    case 'revoke_self':
    case 'get_council':
      arity(tuple, 1, name);
      return { op: name };
    default:
      throw new Invalid(
        `unknown operation ${typeof name === 'string' ? JSON.stringify(name) : String(name)}`,
      );
  }
}

/**
 * Decodes and validates operation bytes. `MALFORMED`: not a canonical tuple; `INVALID`: a field
 * has the wrong type, size or range, the operation is unknown, or a header declares more than the
 * largest valid operation holds (`operationBounds`: refused before it is read). Never throws.
 */
export function decodeOperation(bytes: Uint8Array, limits: CoordinationLimits): DecodedOperation {
  const decoded = decodeCanonical(bytes, operationBounds(limits));
  if (!decoded.ok && decoded.reason === 'DECLARED_TOO_LARGE')
    return {
      ok: false,
      code: 'INVALID',
      message: `operation declares more than any valid one holds (${decoded.detail})`,
    };
  if (!decoded.ok)
    return {
      ok: false,
      code: 'MALFORMED',
      message: `operation is not canonical msgpack (${decoded.reason})`,
    };
  if (!Array.isArray(decoded.value) || decoded.value.length === 0)
    return { ok: false, code: 'MALFORMED', message: 'operation must be a non-empty tuple' };
  try {
    return { ok: true, operation: decodeFields(decoded.value, limits) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, code: 'INVALID', message: error.message };
    throw error;
  }
}
