/**
 * Every limited input field of the MCP tools, at its bound: the largest value the cluster takes,
 * the smallest it refuses, how a tool call carries it, and how the same value reaches the
 * cluster without the MCP server. Rows are derived from the limits, so the same table checks a
 * cluster with the default limits and one with others.
 */
import {
  actions,
  type CoordinationLimits,
  type Rule,
  signBallot,
  TRIM_PERMILLE_MAX,
} from '@conclave/coordination';
import { LIMITS, nodeCrypto, SIGNATURE_BYTES } from '@conclave/core';
import type { Coordination } from '@conclave/sdk';

/** The longest agent id the cluster registers; the test clusters register it. */
export const LONG_AGENT = 'a'.repeat(LIMITS.agentIdBytesMax);
/** Enough registered agents for the default votersMax, the longest id among them. */
export const AGENTS = [...Array.from({ length: 63 }, (_, i) => `agent-${i}`), LONG_AGENT];

/** What the rows need from the cluster under test. */
export interface Env {
  readonly limits: CoordinationLimits;
  readonly tickMs: number;
  /** An agent's coordination client, straight to the cluster. */
  sdk(agent: string): Promise<Coordination>;
  /** The secret key of an agent, to sign a ballot outside the MCP server. */
  secretKey(agent: string): Uint8Array;
  /**
   * The cluster's answer to a proposal whose deadline is `ttlTicks` after the agreed time it is
   * ordered at. Asked of a state machine with the cluster's agents and limits at a fixed time,
   * because a live cluster's clock moves between reading the time and ordering the proposal.
   */
  proposeWithin(ttlTicks: number): Promise<void>;
}

/** One limited field of one tool. */
export interface Row<V> {
  readonly name: string;
  readonly tool: string;
  /** The agent the MCP server signs as (and the cluster call is sent by). */
  readonly agent: string;
  readonly largest: V;
  readonly pastIt: V;
  /** What the MCP refusal says: the field and its bound. */
  readonly says: string;
  /** What the cluster's refusal says, when it words it otherwise. */
  readonly clusterSays?: string;
  before?(): Promise<void>;
  args(value: V): Record<string, unknown>;
  cluster(value: V): Promise<unknown>;
}
export type Boundary = Row<unknown>;
const row = <V>(r: Row<V>): Boundary => r as Boundary;

let counter = 0;
/** A short id no other row uses. */
const fresh = () => `i${++counter}`;
const utf8 = (text: string) => new TextEncoder().encode(text);
const crypto = nodeCrypto();
const names = (count: number) => [...AGENTS, 'one-too-many'].slice(0, count);

/**
 * A string of exactly `bytes` UTF-8 bytes after `prefix`, mostly 'é' (2 bytes, 1 character):
 * the cluster counts bytes, so a string can be within a bound in characters and still past it.
 */
export function textOf(bytes: number, prefix = ''): string {
  const rest = bytes - prefix.length;
  return prefix + 'é'.repeat(Math.floor(rest / 2)) + (rest % 2 === 1 ? 'x' : '');
}

/** The smallest duration in seconds past `ticksMax` ticks, and the largest within. */
function secondsAround(ticksMax: number, tickMs: number) {
  const largest = (ticksMax * tickMs) / 1000;
  return { largest, pastIt: largest + tickMs / 1000 };
}

export function boundaries(env: Env): Boundary[] {
  return [
    ...proposeRows(env),
    ...proposeActionRows(env),
    ...voteRows(env),
    ...readRows(env),
    ...kvRows(env),
    ...taskRows(env),
  ];
}

const PROPOSER = 'agent-0';
/** Each accepted propose row proposes as its own agent, so no row runs into an open-proposals quota. */
let proposerNext = 0;
const nextProposer = () => `agent-${10 + (proposerNext++ % 53)}`;
const VOTER = 'agent-3';

/** A threshold proposal by PROPOSER with `fields` replaced, as propose takes it. */
const proposal = (fields: Record<string, unknown>) => ({
  proposalId: fresh(),
  title: 'a question',
  rule: { kind: 'threshold', k: 1 },
  voters: [{ agent: 'agent-1' }],
  ...fields,
});

/** The same proposal sent to the cluster directly, as the tool would send it. */
async function proposeDirect(env: Env, args: Record<string, unknown>) {
  const voters = (args.voters as { agent: string; weight?: number }[]).map((v) => ({
    agent: v.agent,
    weight: v.weight ?? 1,
  }));
  const rule = { trimPermille: 0, ...(args.rule as object) } as Rule;
  const c = await env.sdk(PROPOSER);
  return c.propose({
    proposalId: args.proposalId as string,
    title: args.title as string,
    rule,
    voters,
    ttlTicks: 100,
    ...(args.candidates === undefined ? {} : { candidates: args.candidates as string[] }),
  });
}

/** propose_action's arguments as the tool takes them, and the same action sent to the cluster directly. */
const actionProposal = (fields: Record<string, unknown>) => ({
  proposalId: fresh(),
  action: { kind: 'set_agent_weight', agent: 'agent-1', weight: 2 },
  ...fields,
});

async function proposeActionDirect(env: Env, args: Record<string, unknown>) {
  const given = args.action as {
    kind: string;
    agent?: string;
    weight?: number;
    members?: string[];
    threshold?: number;
  };
  const action =
    given.kind === 'set_council'
      ? actions.setCouncil(given.members ?? [], given.threshold ?? 1)
      : actions.setAgentWeight(given.agent ?? '', given.weight ?? 1);
  const c = await env.sdk(PROPOSER);
  return c.proposeAction(action, {
    proposalId: args.proposalId as string,
    ...(args.title === undefined ? {} : { title: args.title as string }),
    ttlTicks: 100,
  });
}

function proposeActionRows(env: Env): Boundary[] {
  const L = env.limits;
  const proposeAction = <V>(
    name: string,
    r: Pick<Row<V>, 'largest' | 'pastIt' | 'says' | 'args'> & { clusterSays?: string },
  ) =>
    row<V>({
      name: `propose_action ${name}`,
      tool: 'propose_action',
      agent: nextProposer(),
      cluster: (v) => proposeActionDirect(env, r.args(v)),
      ...r,
    });
  const council = (threshold: number) =>
    actionProposal({ action: { kind: 'set_council', members: names(L.votersMax), threshold } });
  return [
    proposeAction('proposalId', {
      largest: textOf(L.proposalIdBytesMax, fresh()),
      pastIt: textOf(L.proposalIdBytesMax + 1, fresh()),
      says: `proposalId must be 1..${L.proposalIdBytesMax} UTF-8 bytes, got ${L.proposalIdBytesMax + 1}`,
      args: (v: string) => actionProposal({ proposalId: v }),
    }),
    proposeAction('title', {
      largest: textOf(L.titleBytesMax),
      pastIt: textOf(L.titleBytesMax + 1),
      says: `title must be 0..${L.titleBytesMax} UTF-8 bytes, got ${L.titleBytesMax + 1}`,
      args: (v: string) => actionProposal({ title: v }),
    }),
    proposeAction('action.weight', {
      largest: L.weightMax,
      pastIt: L.weightMax + 1,
      says: `weight must be an integer in 1..${L.weightMax}`,
      args: (v: number) =>
        actionProposal({ action: { kind: 'set_agent_weight', agent: 'agent-1', weight: v } }),
    }),
    proposeAction('action.threshold', {
      largest: L.votersMax,
      pastIt: L.votersMax + 1,
      says: `threshold must be an integer in 1..${L.votersMax}`,
      clusterSays: 'threshold',
      args: council,
    }),
  ];
}

function proposeRows(env: Env): Boundary[] {
  const L = env.limits;
  const propose = <V>(name: string, r: Pick<Row<V>, 'largest' | 'pastIt' | 'says' | 'args'>) =>
    row<V>({
      name: `propose ${name}`,
      tool: 'propose',
      agent: nextProposer(),
      cluster: (v) => proposeDirect(env, r.args(v)),
      ...r,
    });
  const voters = (count: number) => names(count).map((agent) => ({ agent }));
  const ttl = secondsAround(L.deadlineTicksMax, env.tickMs);
  return [
    propose('proposalId', {
      largest: textOf(L.proposalIdBytesMax, fresh()),
      pastIt: textOf(L.proposalIdBytesMax + 1, fresh()),
      says: `proposalId must be 1..${L.proposalIdBytesMax} UTF-8 bytes, got ${L.proposalIdBytesMax + 1}`,
      args: (v: string) => proposal({ proposalId: v }),
    }),
    propose('title', {
      largest: textOf(L.titleBytesMax),
      pastIt: textOf(L.titleBytesMax + 1),
      says: `title must be 0..${L.titleBytesMax} UTF-8 bytes, got ${L.titleBytesMax + 1}`,
      args: (v: string) => proposal({ title: v }),
    }),
    propose('rule.k', {
      largest: L.votersMax,
      pastIt: L.votersMax + 1,
      says: `k must be an integer in 1..${L.votersMax}`,
      args: (v: number) => proposal({ rule: { kind: 'threshold', k: v }, voters: voters(L.votersMax) }),
    }),
    propose('rule.approveWeight', {
      largest: L.votersMax * L.weightMax,
      pastIt: L.votersMax * L.weightMax + 1,
      says: `approveWeight must be an integer in 1..${L.votersMax * L.weightMax}`,
      args: (v: number) =>
        proposal({
          rule: { kind: 'weighted', approveWeight: v },
          voters: names(L.votersMax).map((agent) => ({ agent, weight: L.weightMax })),
        }),
    }),
    propose('rule.minBallots', {
      largest: L.votersMax,
      pastIt: L.votersMax + 1,
      says: `minBallots must be an integer in 1..${L.votersMax}`,
      args: (v: number) =>
        proposal({
          rule: { kind: 'score', aggregate: 'median', minBallots: v },
          voters: voters(L.votersMax),
          candidates: ['a', 'b'],
        }),
    }),
    propose('rule.trimPermille', {
      largest: TRIM_PERMILLE_MAX,
      pastIt: TRIM_PERMILLE_MAX + 1,
      says: `trimPermille must be an integer in 0..${TRIM_PERMILLE_MAX}`,
      args: (v: number) =>
        proposal({
          rule: { kind: 'score', aggregate: 'trimmed_mean', trimPermille: v, minBallots: 1 },
          candidates: ['a', 'b'],
        }),
    }),
    propose('voters', {
      largest: L.votersMax,
      pastIt: L.votersMax + 1,
      says: `voters must have 1..${L.votersMax} items, got ${L.votersMax + 1}`,
      args: (v: number) => proposal({ voters: voters(v) }),
    }),
    propose('voters[].agent', {
      largest: LONG_AGENT,
      pastIt: `${LONG_AGENT}a`,
      says: `agent must be 1..${LIMITS.agentIdBytesMax} UTF-8 bytes, got ${LIMITS.agentIdBytesMax + 1}`,
      args: (v: string) => proposal({ voters: [{ agent: v }] }),
    }),
    propose('voters[].weight', {
      largest: L.weightMax,
      pastIt: L.weightMax + 1,
      says: `weight must be an integer in 1..${L.weightMax}`,
      args: (v: number) => proposal({ voters: [{ agent: 'agent-1', weight: v }] }),
    }),
    propose('candidates', {
      largest: L.candidatesMax,
      pastIt: L.candidatesMax + 1,
      says: `..${L.candidatesMax} items, got ${L.candidatesMax + 1}`,
      args: (v: number) =>
        proposal({
          rule: { kind: 'score', aggregate: 'median', minBallots: 1 },
          candidates: Array.from({ length: v }, (_, i) => `c${i}`),
        }),
    }),
    propose('candidates[]', {
      largest: textOf(L.candidateBytesMax),
      pastIt: textOf(L.candidateBytesMax + 1),
      says: `1..${L.candidateBytesMax} UTF-8 bytes, got ${L.candidateBytesMax + 1}`,
      args: (v: string) =>
        proposal({ rule: { kind: 'score', aggregate: 'median', minBallots: 1 }, candidates: [v, 'b'] }),
    }),
    row({
      name: 'propose ttlSeconds',
      tool: 'propose',
      agent: nextProposer(),
      ...ttl,
      says: `ttlSeconds must be at most ${ttl.largest} s`,
      clusterSays: `deadline is more than ${L.deadlineTicksMax} ticks ahead`,
      args: (v: number) => proposal({ ttlSeconds: v }),
      cluster: (v: number) => env.proposeWithin(Math.ceil((v * 1000) / env.tickMs)),
    }),
  ];
}

/** A proposal VOTER may vote on, opened straight on the cluster (each by its own proposer, within its quota). */
async function openForVoter(env: Env, proposalId: string, fields: Record<string, unknown> = {}) {
  const c = await env.sdk(nextProposer());
  await c.propose({
    proposalId,
    title: 'a vote',
    rule: { kind: 'threshold', k: 1 },
    voters: [{ agent: VOTER, weight: 1 }],
    ttlTicks: env.limits.deadlineTicksMax,
    ...fields,
  });
}

const score = { kind: 'score', aggregate: 'median', trimPermille: 0, minBallots: 1 } as const;
type Scores = { candidate: string; score: number }[];
const pairs = (scores: Scores) => scores.map(({ candidate, score }) => [candidate, score] as const);

function voteRows(env: Env): Boundary[] {
  const L = env.limits;
  const vote = async (proposalId: string, choice: 'approve' | Scores, reason?: string) =>
    (await env.sdk(VOTER)).vote(proposalId, typeof choice === 'string' ? choice : pairs(choice), {
      ...(reason === undefined ? {} : { reason }),
    });
  const cast = <V>(name: string, r: Omit<Row<V>, 'name' | 'tool' | 'agent'>) =>
    row({ name: `cast_vote ${name}`, tool: 'cast_vote', agent: VOTER, ...r });
  const ids = { id: textOf(L.proposalIdBytesMax, fresh()), count: fresh(), cand: fresh(), score: fresh() };
  const reasonId = fresh();
  const candidates = Array.from({ length: L.candidatesMax + 1 }, (_, i) => `c${i}`);
  const longCandidate = textOf(L.candidateBytesMax);
  return [
    cast('proposalId', {
      largest: ids.id,
      pastIt: textOf(L.proposalIdBytesMax + 1, fresh()),
      says: `proposalId must be 1..${L.proposalIdBytesMax} UTF-8 bytes, got ${L.proposalIdBytesMax + 1}`,
      before: () => openForVoter(env, ids.id),
      args: (v: string) => ({ proposalId: v, choice: 'approve' }),
      cluster: (v: string) => vote(v, 'approve'),
    }),
    cast('choice', {
      largest: L.candidatesMax,
      pastIt: L.candidatesMax + 1,
      says: `choice must have 1..${L.candidatesMax} items, got ${L.candidatesMax + 1}`,
      before: () =>
        openForVoter(env, ids.count, { rule: score, candidates: candidates.slice(0, L.candidatesMax) }),
      args: (v: number) => ({ proposalId: ids.count, choice: scoresFor(candidates.slice(0, v)) }),
      cluster: (v: number) => vote(ids.count, scoresFor(candidates.slice(0, v))),
    }),
    cast('choice[].candidate', {
      largest: longCandidate,
      pastIt: textOf(L.candidateBytesMax + 1),
      says: `1..${L.candidateBytesMax} UTF-8 bytes, got ${L.candidateBytesMax + 1}`,
      before: () => openForVoter(env, ids.cand, { rule: score, candidates: [longCandidate, 'b'] }),
      args: (v: string) => ({ proposalId: ids.cand, choice: scoresFor([v, 'b']) }),
      cluster: (v: string) => vote(ids.cand, scoresFor([v, 'b'])),
    }),
    cast('choice[].score', {
      largest: L.scoreMax,
      pastIt: L.scoreMax + 1,
      says: `score must be an integer in 0..${L.scoreMax}`,
      before: () => openForVoter(env, ids.score, { rule: score, candidates: ['a', 'b'] }),
      args: (v: number) => ({
        proposalId: ids.score,
        choice: [
          { candidate: 'a', score: v },
          { candidate: 'b', score: 0 },
        ],
      }),
      cluster: (v: number) =>
        vote(ids.score, [
          { candidate: 'a', score: v },
          { candidate: 'b', score: 0 },
        ]),
    }),
    cast('reason', {
      largest: textOf(L.reasonBytesMax),
      pastIt: textOf(L.reasonBytesMax + 1),
      says: `reason must be 0..${L.reasonBytesMax} UTF-8 bytes, got ${L.reasonBytesMax + 1}`,
      before: () => openForVoter(env, reasonId),
      args: (v: string) => ({ proposalId: reasonId, choice: 'approve', reason: v }),
      cluster: (v: string) => vote(reasonId, 'approve', v),
    }),
    signatureRow(env),
  ];
}

const scoresFor = (candidates: string[]): Scores => candidates.map((candidate) => ({ candidate, score: 1 }));

/** A relayed ballot's signature is exactly an Ed25519 signature long. */
function signatureRow(env: Env): Boundary {
  const proposalId = fresh();
  const ballot = {
    proposalId,
    agent: VOTER,
    choice: 'approve',
    reason: '',
    confidencePermille: 1000,
  } as const;
  const signed = () => signBallot(ballot, env.secretKey(VOTER), crypto);
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  const longer = (bytes: Uint8Array) => new Uint8Array([...bytes, 0]);
  return row({
    name: 'cast_vote signedBallot.signatureBase64',
    tool: 'cast_vote',
    agent: VOTER,
    largest: 'exact',
    pastIt: 'one byte more',
    says: `signatureBase64 must decode to ${SIGNATURE_BYTES} bytes`,
    clusterSays: `signature must be at most ${SIGNATURE_BYTES} bytes`,
    before: () => openForVoter(env, proposalId),
    args: (v: string) => {
      const { ballotBytes, signature } = signed();
      const sent = v === 'exact' ? signature : longer(signature);
      return {
        proposalId,
        signedBallot: { ballotBase64: base64(ballotBytes), signatureBase64: base64(sent) },
      };
    },
    cluster: async () => {
      const { ballotBytes, signature } = signed();
      return (await env.sdk(VOTER)).castBallot({ ballotBytes, signature: longer(signature) });
    },
  });
}

function readRows(env: Env): Boundary[] {
  const L = env.limits;
  const reader = 'agent-1';
  const sdk = () => env.sdk(reader);
  const read = <V>(name: string, tool: string, r: Omit<Row<V>, 'name' | 'tool' | 'agent'>) =>
    row({ name: `${tool} ${name}`, tool, agent: reader, ...r });
  const idBound = `1..${L.proposalIdBytesMax} UTF-8 bytes, got ${L.proposalIdBytesMax + 1}`;
  const agentBound = `1..${LIMITS.agentIdBytesMax} UTF-8 bytes, got ${LIMITS.agentIdBytesMax + 1}`;
  const existing = textOf(L.proposalIdBytesMax, fresh());
  return [
    read('proposalId', 'get_decision', {
      largest: existing,
      pastIt: textOf(L.proposalIdBytesMax + 1, fresh()),
      says: `proposalId must be ${idBound}`,
      before: () => openForVoter(env, existing),
      args: (v: string) => ({ proposalId: v }),
      cluster: async (v: string) => (await sdk()).decision(v),
    }),
    read('after', 'list_proposals', {
      largest: textOf(L.proposalIdBytesMax),
      pastIt: textOf(L.proposalIdBytesMax + 1),
      says: `after must be ${idBound}`,
      args: (v: string) => ({ after: v }),
      cluster: async (v: string) => (await sdk()).proposals({ after: v }),
    }),
    read('limit', 'list_proposals', {
      largest: L.pageMax,
      pastIt: L.pageMax + 1,
      says: `limit must be an integer in 1..${L.pageMax}`,
      args: (v: number) => ({ limit: v }),
      cluster: async (v: number) => (await sdk()).proposals({ limit: v }),
    }),
    read('agent', 'list_evidence', {
      largest: LONG_AGENT,
      pastIt: `${LONG_AGENT}a`,
      says: `agent must be ${agentBound}`,
      args: (v: string) => ({ agent: v }),
      cluster: async (v: string) => (await sdk()).evidence({ agent: v, limit: L.pageMax }),
    }),
    read('proposalId', 'list_evidence', {
      largest: textOf(L.proposalIdBytesMax),
      pastIt: textOf(L.proposalIdBytesMax + 1),
      says: `proposalId must be ${idBound}`,
      args: (v: string) => ({ proposalId: v }),
      cluster: async (v: string) => (await sdk()).evidence({ proposalId: v, limit: L.pageMax }),
    }),
  ];
}

function kvRows(env: Env): Boundary[] {
  const L = env.limits;
  const writer = 'agent-2';
  const kv = async () => (await env.sdk(writer)).kv;
  const keyBound = `key must be 1..${L.kvKeyBytesMax} UTF-8 bytes, got ${L.kvKeyBytesMax + 1}`;
  const key = <V>(name: string, tool: string, r: Omit<Row<V>, 'name' | 'tool' | 'agent'>) =>
    row({ name: `${tool} ${name}`, tool, agent: writer, ...r });
  return [
    key('key', 'kv_put', {
      largest: textOf(L.kvKeyBytesMax),
      pastIt: textOf(L.kvKeyBytesMax + 1),
      says: keyBound,
      args: (v: string) => ({ key: v, value: 'x' }),
      cluster: async (v: string) => (await kv()).put(v, utf8('x')),
    }),
    key('key', 'kv_get', {
      largest: textOf(L.kvKeyBytesMax),
      pastIt: textOf(L.kvKeyBytesMax + 1),
      says: keyBound,
      args: (v: string) => ({ key: v }),
      cluster: async (v: string) => (await kv()).get(v),
    }),
    key('value', 'kv_put', {
      largest: textOf(L.kvValueBytesMax),
      pastIt: textOf(L.kvValueBytesMax + 1),
      says: `value must be 0..${L.kvValueBytesMax} UTF-8 bytes, got ${L.kvValueBytesMax + 1}`,
      clusterSays: `value must be at most ${L.kvValueBytesMax} bytes`,
      args: (v: string) => ({ key: 'k', value: v }),
      cluster: async (v: string) => (await kv()).put('k', utf8(v)),
    }),
  ];
}

function taskRows(env: Env): Boundary[] {
  const L = env.limits;
  const worker = 'agent-2';
  const tasks = async () => (await env.sdk(worker)).tasks;
  const task = <V>(name: string, tool: string, r: Omit<Row<V>, 'name' | 'tool' | 'agent'>) =>
    row({ name: `${tool} ${name}`, tool, agent: worker, ...r });
  /** A task on the board, claimed by the worker when `claimed`. */
  const onBoard = async (taskId: string, claimed: boolean) => {
    const t = await tasks();
    await t.create(taskId, utf8('do it'));
    if (claimed) await t.claim(taskId, L.leaseTicksMax);
  };
  const lease = secondsAround(L.leaseTicksMax, env.tickMs);
  const ids = { claim: fresh(), done: textOf(L.taskIdBytesMax, fresh()), result: fresh() };
  return [
    task('taskId', 'create_task', {
      largest: textOf(L.taskIdBytesMax, fresh()),
      pastIt: textOf(L.taskIdBytesMax + 1, fresh()),
      says: `taskId must be 1..${L.taskIdBytesMax} UTF-8 bytes, got ${L.taskIdBytesMax + 1}`,
      args: (v: string) => ({ taskId: v, payload: 'p' }),
      cluster: async (v: string) => (await tasks()).create(v, utf8('p')),
    }),
    task('payload', 'create_task', {
      largest: textOf(L.taskPayloadBytesMax),
      pastIt: textOf(L.taskPayloadBytesMax + 1),
      says: `payload must be 0..${L.taskPayloadBytesMax} UTF-8 bytes, got ${L.taskPayloadBytesMax + 1}`,
      clusterSays: `payload must be at most ${L.taskPayloadBytesMax} bytes`,
      args: (v: string) => ({ taskId: fresh(), payload: v }),
      cluster: async (v: string) => (await tasks()).create(fresh(), utf8(v)),
    }),
    task('leaseSeconds', 'claim_task', {
      ...lease,
      says: `leaseSeconds must be at most ${lease.largest} s`,
      clusterSays: `ttl must be an integer in 1..${L.leaseTicksMax}`,
      before: () => onBoard(ids.claim, false),
      args: (v: number) => ({ taskId: ids.claim, leaseSeconds: v }),
      cluster: async (v: number) => (await tasks()).claim(ids.claim, Math.ceil((v * 1000) / env.tickMs)),
    }),
    task('taskId', 'complete_task', {
      largest: ids.done,
      pastIt: textOf(L.taskIdBytesMax + 1, fresh()),
      says: `taskId must be 1..${L.taskIdBytesMax} UTF-8 bytes, got ${L.taskIdBytesMax + 1}`,
      before: () => onBoard(ids.done, true),
      args: (v: string) => ({ taskId: v, result: 'r' }),
      cluster: async (v: string) => (await tasks()).complete(v, utf8('r')),
    }),
    task('result', 'complete_task', {
      largest: textOf(L.taskResultBytesMax),
      pastIt: textOf(L.taskResultBytesMax + 1),
      says: `result must be 0..${L.taskResultBytesMax} UTF-8 bytes, got ${L.taskResultBytesMax + 1}`,
      clusterSays: `result must be at most ${L.taskResultBytesMax} bytes`,
      before: () => onBoard(ids.result, true),
      args: (v: string) => ({ taskId: ids.result, result: v }),
      cluster: async (v: string) => (await tasks()).complete(ids.result, utf8(v)),
    }),
  ];
}
