/**
 * The MCP server: one agent identity's coordination primitives as MCP tools, and decisions as
 * MCP resources. Every tool signs as that agent, through the SDK client, so every answer is one
 * that f+1 replicas vouched for; a failure becomes a tool error (`isError: true`), never a crash.
 */
import {
  decodeBallot,
  decodeRequestBody,
  decodeResult,
  encodeBallot,
  ops,
  type ProposalSummary,
  type ProposalView,
  type Rule,
  type SignedBallot,
  verifyEvidence,
} from '@conclave/coordination';
import { quorumsOf, verifyReceipt } from '@conclave/core';
import { ConclaveError, type Coordination, RejectedError, TimeoutError } from '@conclave/sdk';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { failureOf, invalidArgument, type ToolFailure, toolError } from './errors.ts';
import {
  decodeReceiptText,
  evidenceForModel,
  type JsonObject,
  kvForModel,
  operationForModel,
  proposalForModel,
  receiptForModel,
  summaryForModel,
  taskForModel,
} from './present.ts';

/** Milliseconds per tick when the cluster does not say (the daemons' default). */
export const DEFAULT_TICK_MS = 10;

/** Tool hints for a call that changes the replicated state once per call (not idempotent, not destructive, closed world). */
const WRITES = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: false,
} as const;

/** How long `wait_for_decision` waits unless told otherwise, and at most. */
export const WAIT_SECONDS_DEFAULT = 30;
export const WAIT_SECONDS_MAX = 600;
/** While a wait sees no change, a progress notification still goes out this often (keeps client timeouts that reset on progress alive). */
export const WAIT_HEARTBEAT_MS = 10_000;
/** How often a wait asks the replicas. */
export const WAIT_POLL_MS = 200;
/** How long a vote's receipt is looked for, and how many times the ballot is sent to get one. */
export const RECEIPT_TIMEOUT_MS = 2_000;
export const RECEIPT_ATTEMPTS_MAX = 3;
/** Proposals a listing returns at most (the state machine's page bound). */
export const LIST_LIMIT_MAX = 100;
const URI_PREFIX = 'conclave://decisions';

export interface ConclaveMcpServerOptions {
  /** The coordination primitives over a connected client: the one agent this server signs as. */
  readonly coordination: Coordination;
  /** Milliseconds per tick of the cluster's agreed time (cluster.json `tickMs`), to turn seconds into ticks. */
  readonly tickMs?: number;
  /** Where the server writes one line per call and failure (stderr in stdio mode: never stdout). */
  readonly log?: (line: string) => void;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Thrown inside a tool for input the server refuses before asking the cluster. */
class ToolInputError extends Error {
  readonly failure: ToolFailure;
  constructor(failure: ToolFailure) {
    super(failure.message);
    this.failure = failure;
  }
}

const id = (what: string) => z.string().min(1).max(128).describe(what);
const consistency = z
  .enum(['linearizable', 'quorum', 'local'])
  .default('linearizable')
  .describe(
    'linearizable (default): ordered like a write, sees every earlier write. quorum: 2f+1 replicas agree, faster, may miss a write in flight. local: one replica, may be stale or lie.',
  );

/** A new MCP server (one per session) over one agent's coordination client. */
export function createConclaveMcpServer(options: ConclaveMcpServerOptions): McpServer {
  const c = options.coordination;
  const client = c.client;
  const me = client.agent;
  const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
  const log = options.log ?? (() => undefined);
  const ticksOf = (seconds: number) => Math.max(1, Math.ceil((seconds * 1000) / tickMs));
  const n = client.cluster.replicas.length;
  const f = quorumsOf(n).weak - 1;

  const server = new McpServer(
    { name: 'conclave', title: `Conclave (agent ${me})`, version: '0.1.0' },
    {
      instructions: [
        `You act as agent "${me}" of a Conclave cluster: ${n} replicas, of which up to f=${f} may be Byzantine.`,
        "Every write you make is signed with this agent's key and ordered by consensus; every answer was vouched for by at least f+1 replicas.",
        'To decide something with other agents: propose, then each voter calls cast_vote, then wait_for_decision.',
        'Keep the receipt cast_vote returns: verify_receipt proves offline that the vote was decided.',
      ].join(' '),
    },
  );

  /** Runs a tool's work; its result as JSON text and structured content, or a tool error. */
  async function answer(name: string, work: () => Promise<JsonObject>): Promise<CallToolResult> {
    const started = Date.now();
    try {
      const result = await work();
      log(`${name} ok ${Date.now() - started} ms`);
      return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result };
    } catch (error) {
      const failure = error instanceof ToolInputError ? error.failure : failureOf(error);
      log(`${name} failed ${Date.now() - started} ms: ${failure.message}`);
      return toolError(failure);
    }
  }

  /**
   * Casts a signed ballot and fetches its receipt. Replicas serve a receipt only while its batch
   * is above their stable checkpoint, so a fetch can lose the race with a checkpoint; the same
   * signed ballot sent again is then a duplicate (it never counts twice) with a fresh receipt.
   */
  async function castWithReceipt(signed: SignedBallot, signal: AbortSignal) {
    let first:
      | {
          sequence: number;
          requestId: number;
          replicas: readonly number[];
          proposal: ProposalSummary;
          duplicate: boolean;
        }
      | undefined;
    for (let attempt = 1; attempt <= RECEIPT_ATTEMPTS_MAX; attempt++) {
      const sent = await client.request(ops.vote(signed), { signal }).then(
        (answer) => ({ answer, result: decodeResult(answer.result) }),
        (error: unknown) => {
          if (first === undefined) throw error;
          return undefined; // the vote itself counted; only the receipt is missing
        },
      );
      if (sent === undefined) break;
      const { answer, result } = sent;
      if (!result.ok) {
        if (first === undefined) throw new RejectedError(result.code, result.message);
        break;
      }
      if (result.kind !== 'vote')
        throw new ConclaveError('INVALID_ARGUMENT', `expected a vote result, got ${result.kind}`);
      first ??= {
        sequence: answer.sequence,
        requestId: answer.requestId,
        replicas: answer.replicas,
        proposal: result.proposal,
        duplicate: result.duplicate,
      };
      try {
        const receipt = await client.receipt(answer.sequence, answer.requestId, {
          signal,
          timeoutMs: RECEIPT_TIMEOUT_MS,
        });
        return { ...first, receipt: { receipt, sequence: answer.sequence } };
      } catch (error) {
        if (!(error instanceof TimeoutError)) throw error;
        log(
          `cast_vote: no receipt for sequence ${answer.sequence} (attempt ${attempt}); the replicas may have passed a checkpoint`,
        );
      }
    }
    return { ...(first as NonNullable<typeof first>), receipt: undefined };
  }

  const call = (extra: Extra) => ({ signal: extra.signal });

  // --- who am I ---------------------------------------------------------------------------------

  server.registerTool(
    'cluster_info',
    {
      title: 'Who this agent is',
      description:
        'Returns the agent id this server acts as (every write is signed with its key), the other registered agents (possible voters), the number of replicas n and how many may be faulty (f), and how long a tick of agreed time is. Call it first to learn agent ids for propose.',
      inputSchema: {},
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async () =>
      answer('cluster_info', async () => ({
        agent: me,
        agents: client.cluster.agents.map((a) => a.id),
        replicas: n,
        f,
        tickMs,
        answersAcceptedOn: `${f + 1} matching replica answers`,
      })),
  );

  // --- proposals --------------------------------------------------------------------------------

  server.registerTool(
    'propose',
    {
      title: 'Open a proposal',
      description:
        'Opens a proposal that the listed voter agents decide by signed ballots before a deadline. Rules: threshold (approved once k voters approve), weighted (approved once approving weights reach approveWeight), score (each voter scores every candidate; highest median or trimmed mean wins). It ends approved, rejected (approval can no longer be reached), no_quorum or expired (deadline passed). Returns the proposal. Proposing the same id with the same definition again is harmless; a different definition gets REJECTED (CONFLICT).',
      inputSchema: {
        proposalId: id('A unique id for the proposal, e.g. "ship-2.0".'),
        title: z.string().min(1).max(256).describe('The question, in one line, e.g. "Ship release 2.0?"'),
        rule: z
          .discriminatedUnion('kind', [
            z.object({
              kind: z.literal('threshold'),
              k: z.number().int().min(1).describe('Approvals needed (voter weights ignored).'),
            }),
            z.object({
              kind: z.literal('weighted'),
              approveWeight: z.number().int().min(1).describe('Total weight of approving voters needed.'),
            }),
            z.object({
              kind: z.literal('score'),
              aggregate: z.enum(['median', 'trimmed_mean']),
              trimPermille: z
                .number()
                .int()
                .min(0)
                .max(499)
                .default(0)
                .describe('trimmed_mean only: thousandths of ballots dropped at each end (0 for median).'),
              minBallots: z.number().int().min(1).describe('Ballots needed for a result.'),
            }),
          ])
          .describe('How the proposal is decided.'),
        voters: z
          .array(
            z.object({
              agent: z.string().min(1).describe('A registered agent id (cluster_info lists them).'),
              weight: z.number().int().min(1).default(1),
            }),
          )
          .min(1)
          .max(64)
          .describe('Who may vote, each once. The proposer need not be one.'),
        ttlSeconds: z
          .number()
          .positive()
          .max(30 * 24 * 3600)
          .default(600)
          .describe("Voting closes this many seconds from now (in the cluster's agreed time)."),
        candidates: z
          .array(z.string().min(1).max(128))
          .min(2)
          .max(16)
          .optional()
          .describe('Score rule only: the candidate answers voters score.'),
      },
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    async (args, extra) =>
      answer('propose', async () => {
        const rule: Rule =
          args.rule.kind === 'score'
            ? {
                kind: 'score',
                aggregate: args.rule.aggregate,
                trimPermille: args.rule.aggregate === 'median' ? 0 : args.rule.trimPermille,
                minBallots: args.rule.minBallots,
              }
            : args.rule;
        const proposal = await c.propose({
          proposalId: args.proposalId,
          title: args.title,
          rule,
          voters: args.voters,
          ttlTicks: ticksOf(args.ttlSeconds),
          ...(args.candidates === undefined ? {} : { candidates: args.candidates }),
          ...call(extra),
        });
        return proposalForModel(proposal);
      }),
  );

  server.registerTool(
    'cast_vote',
    {
      title: 'Vote on a proposal',
      description: `Casts this agent's (${me}) ballot on a proposal, signed with its key, and returns where it was ordered, the proposal's status, and a receipt (base64) that proves the vote was decided; keep it and check it with verify_receipt. One ballot per agent per proposal: voting the same again is a harmless duplicate, but a DIFFERENT second ballot is equivocation: it is refused, recorded as evidence against this agent, and this agent's vote stops counting. Choice: "approve", "reject" or "abstain"; for score proposals, a score for every candidate.`,
      inputSchema: {
        proposalId: id('The proposal to vote on.'),
        choice: z
          .union([
            z.enum(['approve', 'reject', 'abstain']),
            z
              .array(z.object({ candidate: z.string().min(1), score: z.number().int().min(0) }))
              .min(1)
              .describe('Score proposals: one entry per candidate, higher is better.'),
          ])
          .optional()
          .describe('Your choice. Required unless signedBallot is given.'),
        reason: z.string().max(1024).optional().describe('Why, in a sentence; recorded with the ballot.'),
        confidence: z.number().min(0).max(1).optional().describe('0..1, recorded, not counted. Default 1.'),
        signedBallot: z
          .object({
            ballotBase64: z.string().min(1),
            signatureBase64: z.string().min(1),
          })
          .optional()
          .describe(
            `Advanced: relay a ballot already signed elsewhere with ${me}'s key instead of choice. A ballot that names another agent, or whose signature does not check, is refused (FORGED_BALLOT).`,
          ),
      },
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    async (args, extra) =>
      answer('cast_vote', async () => {
        let signed: SignedBallot;
        if (args.signedBallot !== undefined) {
          if (args.choice !== undefined)
            throw new ToolInputError(invalidArgument('give either choice or signedBallot, not both'));
          const ballotBytes = new Uint8Array(Buffer.from(args.signedBallot.ballotBase64, 'base64'));
          const signature = new Uint8Array(Buffer.from(args.signedBallot.signatureBase64, 'base64'));
          const ballot = decodeBallot(ballotBytes);
          if (!ballot.ok)
            throw new ToolInputError(invalidArgument(`signedBallot is not a ballot: ${ballot.message}`));
          if (ballot.ballot.proposalId !== args.proposalId)
            throw new ToolInputError(
              invalidArgument(
                `signedBallot is for proposal ${ballot.ballot.proposalId}, not ${args.proposalId}`,
              ),
            );
          signed = { ballotBytes, signature };
        } else {
          if (args.choice === undefined)
            throw new ToolInputError(
              invalidArgument('choice is required (approve, reject, abstain, or scores)'),
            );
          const ballotBytes = encodeBallot({
            proposalId: args.proposalId,
            agent: me,
            choice:
              typeof args.choice === 'string'
                ? args.choice
                : args.choice.map(({ candidate, score }) => [candidate, score] as const),
            reason: args.reason ?? '',
            confidencePermille: Math.round((args.confidence ?? 1) * 1000),
          });
          signed = { ballotBytes, signature: client.sign(ballotBytes) };
        }
        const result = await castWithReceipt(signed, extra.signal);
        return {
          proposalId: args.proposalId,
          agent: me,
          ...(args.choice === undefined ? {} : { choice: args.choice }),
          duplicate: result.duplicate,
          sequence: result.sequence,
          requestId: result.requestId,
          vouchedBy: result.replicas,
          proposal: summaryForModel(result.proposal),
          ...(result.receipt === undefined
            ? {
                receipt: null,
                receiptMissing:
                  'the vote counted (f+1 replicas vouched for it) but its receipt was not available; call cast_vote again with the same choice to get one (a harmless duplicate)',
              }
            : {
                receipt: receiptForModel(result.receipt.receipt),
                receiptFormat: 'base64 of the canonical receipt; check it with verify_receipt',
                ...(result.receipt.sequence === result.sequence
                  ? {}
                  : {
                      receiptSequence: result.receipt.sequence,
                      receiptOf: 'a re-send of this same signed ballot',
                    }),
              }),
        };
      }),
  );

  server.registerTool(
    'get_decision',
    {
      title: 'Read a proposal',
      description:
        'Reads a proposal now: status (open, approved, rejected, no_quorum, expired), rule, voters, deadline, and the tally (counted ballots with choices, voters excluded for equivocation, score aggregates and winner). Does not wait; use wait_for_decision to wait for the outcome.',
      inputSchema: { proposalId: id('The proposal to read.'), consistency },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args, extra) =>
      answer('get_decision', async () =>
        proposalForModel(
          await c.decision(args.proposalId, { consistency: args.consistency, ...call(extra) }),
        ),
      ),
  );

  server.registerTool(
    'wait_for_decision',
    {
      title: "Wait for a proposal's outcome",
      description: `Waits until the proposal is decided (approved, rejected, no_quorum or expired) and returns it with its tally. Sends progress notifications while it waits (whenever the tally changes, and every ${WAIT_HEARTBEAT_MS / 1000} s), and stops when the call is cancelled. If it is still open after timeoutSeconds, returns a TIMEOUT error with the current tally: call it again or get_decision later.`,
      inputSchema: {
        proposalId: id('The proposal to wait for.'),
        timeoutSeconds: z
          .number()
          .positive()
          .max(WAIT_SECONDS_MAX)
          .default(WAIT_SECONDS_DEFAULT)
          .describe(
            `How long to wait at most (default ${WAIT_SECONDS_DEFAULT}, at most ${WAIT_SECONDS_MAX}).`,
          ),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args, extra) =>
      answer('wait_for_decision', async () => {
        const token = extra._meta?.progressToken;
        let progress = 0;
        let last: ProposalView | undefined;
        const notify = (message: string) => {
          if (token === undefined || extra.signal.aborted) return;
          progress += 1;
          extra
            .sendNotification({
              method: 'notifications/progress',
              params: { progressToken: token, progress, message },
            })
            .catch(() => undefined);
        };
        const heartbeat = setInterval(
          () => notify(last === undefined ? 'waiting for the replicas' : `still open: ${tallyLine(last)}`),
          WAIT_HEARTBEAT_MS,
        );
        try {
          const decided = await c.waitForDecision(args.proposalId, {
            signal: extra.signal,
            timeoutMs: args.timeoutSeconds * 1000,
            pollMs: WAIT_POLL_MS,
            onProgress: (proposal) => {
              last = proposal;
              notify(`open: ${tallyLine(proposal)}`);
            },
          });
          return proposalForModel(decided);
        } catch (error) {
          if (error instanceof TimeoutError) {
            throw new ToolInputError({
              code: 'TIMEOUT',
              message: `TIMEOUT: proposal ${args.proposalId} is still open after ${args.timeoutSeconds} s${last === undefined ? '' : ` (${tallyLine(last)})`} — call wait_for_decision again, or get_decision later`,
            });
          }
          throw error;
        } finally {
          clearInterval(heartbeat);
        }
      }),
  );

  server.registerTool(
    'list_proposals',
    {
      title: 'List proposals',
      description:
        'Lists proposals in id order with status, title, proposer, deadline and (score rules) winner. Use get_decision for a full tally.',
      inputSchema: {
        status: z.enum(['open', 'decided', 'all']).default('all'),
        after: z.string().optional().describe('Page cursor: list ids after this one.'),
        limit: z.number().int().min(1).max(LIST_LIMIT_MAX).default(50),
        consistency,
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args, extra) =>
      answer('list_proposals', async () => {
        const proposals = await c.proposals(
          {
            status: args.status,
            limit: args.limit,
            ...(args.after === undefined ? {} : { after: args.after }),
          },
          { consistency: args.consistency, ...call(extra) },
        );
        return { proposals: proposals.map(summaryForModel) };
      }),
  );

  // --- evidence and receipts --------------------------------------------------------------------

  server.registerTool(
    'list_evidence',
    {
      title: 'List equivocation evidence',
      description:
        'Lists proof that agents misbehaved: two different ballots (or requests) signed by one agent where only one is allowed. Each item shows both signed objects and "verified": whether this server re-checked both signatures against the agent\'s registered key (so it does not depend on trusting the replicas). An agent with evidence on a proposal has its vote excluded there.',
      inputSchema: {
        agent: z.string().optional().describe('Only evidence against this agent.'),
        proposalId: z.string().optional().describe('Only evidence about this proposal.'),
        consistency,
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args, extra) =>
      answer('list_evidence', async () => {
        const evidence = await c.evidence(
          {
            ...(args.agent === undefined ? {} : { agent: args.agent }),
            ...(args.proposalId === undefined ? {} : { proposalId: args.proposalId }),
          },
          { consistency: args.consistency, ...call(extra) },
        );
        return {
          evidence: evidence.map((item) => {
            const check = verifyEvidence(item, client.cluster.agents, client.crypto);
            return evidenceForModel(item, check.ok ? { ok: true } : { ok: false, reason: check.reason });
          }),
        };
      }),
  );

  server.registerTool(
    'verify_receipt',
    {
      title: 'Check a receipt offline',
      description:
        "Checks a receipt (base64 from cast_vote, or the hex the conclave CLI prints) against the cluster's public keys, without asking any replica: the agent's signature on the request, its inclusion in the batch, and 2f+1 replica signatures on the commit. Returns valid true/false with the reason, and what the receipt proves (which agent did what, at which sequence). A tampered or foreign receipt is valid: false, not an error.",
      inputSchema: { receipt: z.string().min(1).describe('The receipt, base64 or hex.') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args) =>
      answer('verify_receipt', async () => {
        const receipt = decodeReceiptText(args.receipt);
        if (receipt === undefined)
          return { valid: false, reason: 'not a receipt (expected base64 or hex of one)' };
        const check = verifyReceipt(receipt, client.cluster, client.crypto);
        if (!check.ok) return { valid: false, reason: check.reason };
        const body = decodeRequestBody(receipt.request.bytes);
        return {
          valid: true,
          agent: check.request.agent,
          requestId: check.request.requestId,
          sequence: check.sequence,
          view: check.view,
          agreedTime: receipt.timestamp,
          replicaSignatures: receipt.commits.length,
          operation: body === undefined ? null : operationForModel(body.operation),
        };
      }),
  );

  // --- kv ---------------------------------------------------------------------------------------

  server.registerTool(
    'kv_get',
    {
      title: 'Read a shared key',
      description:
        "Reads a key of the cluster's shared key-value store: its value (text), version (0 when absent) and who last wrote it. Pass the version to kv_put as expectedVersion to update it safely.",
      inputSchema: { key: z.string().min(1).max(256), consistency },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args, extra) =>
      answer('kv_get', async () =>
        kvForModel(await c.kv.get(args.key, { consistency: args.consistency, ...call(extra) })),
      ),
  );

  server.registerTool(
    'kv_put',
    {
      title: 'Write a shared key',
      description:
        "Writes a text value to a key of the shared key-value store, through consensus, and returns the new version. With expectedVersion, writes only if the key is still at that version (0: only if absent), else REJECTED (VERSION_MISMATCH): use it to avoid overwriting another agent's write.",
      inputSchema: {
        key: z.string().min(1).max(256),
        value: z.string().max(60_000).describe('The value, as text.'),
        expectedVersion: z
          .number()
          .int()
          .min(0)
          .optional()
          .describe('Compare-and-set: the version you read.'),
      },
      annotations: {
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    async (args, extra) =>
      answer('kv_put', async () => {
        const value = new TextEncoder().encode(args.value);
        const entry =
          args.expectedVersion === undefined
            ? await c.kv.put(args.key, value, call(extra))
            : await c.kv.cas(args.key, args.expectedVersion, value, call(extra));
        return kvForModel(entry);
      }),
  );

  // --- task board -------------------------------------------------------------------------------

  server.registerTool(
    'create_task',
    {
      title: 'Put a task on the board',
      description:
        'Puts a task on the shared task board for any agent to claim. REJECTED (CONFLICT) if the id is taken.',
      inputSchema: {
        taskId: id('A unique task id.'),
        payload: z.string().max(60_000).describe('What the task is, as text (instructions, JSON…).'),
      },
      annotations: WRITES,
    },
    async (args, extra) =>
      answer('create_task', async () =>
        taskForModel(await c.tasks.create(args.taskId, new TextEncoder().encode(args.payload), call(extra))),
      ),
  );

  server.registerTool(
    'claim_task',
    {
      title: 'Claim a task',
      description:
        'Claims an open task for this agent under a lease: only this agent can complete it until the lease ends, after which it returns to the board. REJECTED (CONFLICT) if someone else holds it or it is done.',
      inputSchema: {
        taskId: id('The task to claim.'),
        leaseSeconds: z
          .number()
          .positive()
          .max(7 * 24 * 3600)
          .default(300)
          .describe('How long the claim lasts.'),
      },
      annotations: WRITES,
    },
    async (args, extra) =>
      answer('claim_task', async () =>
        taskForModel(await c.tasks.claim(args.taskId, ticksOf(args.leaseSeconds), call(extra))),
      ),
  );

  server.registerTool(
    'complete_task',
    {
      title: 'Complete a task',
      description:
        'Marks a task this agent has claimed (with a lease still running) as done, with its result. REJECTED (FORBIDDEN) if this agent does not hold the claim, (EXPIRED) if the lease ran out.',
      inputSchema: {
        taskId: id('The task to complete.'),
        result: z.string().max(60_000).describe('The result, as text.'),
      },
      annotations: WRITES,
    },
    async (args, extra) =>
      answer('complete_task', async () =>
        taskForModel(await c.tasks.complete(args.taskId, new TextEncoder().encode(args.result), call(extra))),
      ),
  );

  server.registerTool(
    'list_tasks',
    {
      title: 'List tasks',
      description: 'Lists tasks on the board in id order, with status, claimant and result.',
      inputSchema: {
        status: z.enum(['open', 'claimed', 'done', 'all']).default('open'),
        consistency,
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args, extra) =>
      answer('list_tasks', async () => {
        const tasks = await c.tasks.list(
          { status: args.status },
          { consistency: args.consistency, ...call(extra) },
        );
        return { tasks: tasks.map(taskForModel) };
      }),
  );

  // --- resources --------------------------------------------------------------------------------

  const readFailure = (error: unknown): never => {
    const failure = failureOf(error);
    log(`resource read failed: ${failure.message}`);
    throw new McpError(
      failure.reason === 'NOT_FOUND' ? ErrorCode.InvalidParams : ErrorCode.InternalError,
      failure.message,
    );
  };
  const allProposals = (signal: AbortSignal) =>
    c.proposals({ status: 'all', limit: LIST_LIMIT_MAX }, { signal }).catch(readFailure);

  server.registerResource(
    'decisions',
    URI_PREFIX,
    {
      title: 'Proposals and their status',
      description: `Every proposal (up to ${LIST_LIMIT_MAX}) with its status, as JSON.`,
      mimeType: 'application/json',
    },
    async (uri, extra) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: 'application/json',
          text: JSON.stringify({ proposals: (await allProposals(extra.signal)).map(summaryForModel) }),
        },
      ],
    }),
  );

  server.registerResource(
    'decision',
    new ResourceTemplate(`${URI_PREFIX}/{proposalId}`, {
      list: async (extra) => ({
        resources: (await allProposals(extra.signal)).map((p) => ({
          uri: `${URI_PREFIX}/${encodeURIComponent(p.proposalId)}`,
          name: p.proposalId,
          title: p.title,
          description: `${p.status}: ${p.title}`,
          mimeType: 'application/json',
        })),
      }),
    }),
    {
      title: 'A proposal and its tally',
      description: 'One proposal: status, rule, voters, deadline and tally, as JSON (a linearizable read).',
      mimeType: 'application/json',
    },
    async (uri, variables, extra) => {
      const raw = variables.proposalId;
      const proposalId = decodeURIComponent(Array.isArray(raw) ? (raw[0] ?? '') : (raw ?? ''));
      const proposal = await c.decision(proposalId, { signal: extra.signal }).catch(readFailure);
      return {
        contents: [
          { uri: uri.href, mimeType: 'application/json', text: JSON.stringify(proposalForModel(proposal)) },
        ],
      };
    },
  );

  return server;
}

/** One line on a proposal's standing, for progress messages. */
function tallyLine(proposal: ProposalView): string {
  const t = proposal.tally;
  const parts = [
    `${t.approve.count} approve`,
    `${t.reject.count} reject`,
    `${t.abstain.count} abstain`,
    `${t.pending.count} pending`,
  ];
  if (t.excluded.length > 0)
    parts.push(`${t.excluded.length} excluded (${t.excluded.map((e) => e.agent).join(', ')})`);
  if (t.winner !== null) parts.push(`leading: ${t.winner}`);
  return parts.join(', ');
}
