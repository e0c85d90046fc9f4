/**
 * `propose_action`: a council member proposes a registry or council change; council members
 * then vote on it with `cast_vote`, and the state machine executes it in the step that approves it.
 */
import {
  type AgentQuotas,
  actions,
  type CoordinationLimits,
  type GovernanceAction,
  ops,
  QUOTA_LIMIT_NAMES,
} from '@conclave/coordination';
import {
  type CryptoBackend,
  checkJoinStatement,
  encodeJoinStatement,
  JOIN_TAG,
  joinStatementFromJson,
} from '@conclave/core';
import { z } from 'zod';
import { invalidArgument } from '../errors.ts';
import { proposalForModel } from '../present.ts';
import { secondsMaxOf, ticksOf } from '../ticks.ts';
import { type Fields, integerIn, listOf, secondsUpTo, utf8Text } from './fields.ts';
import { absoluteTerms, SEALED_WHEN, sealedSchema, sealedTermsOf, sendProposal } from './sealed-terms.ts';
import { defineTool, IDEMPOTENT_WRITES, ToolFailureError } from './tool.ts';

const TTL_SECONDS_DEFAULT = 600;

export const proposeAction = defineTool({
  name: 'propose_action',
  title: 'Propose a governance action',
  description: `Proposes a change to the agent registry or the council, for the council to approve: register_agent (from the new agent's join statement, the JSON \`conclave keygen --agent NAME\` writes), remove_agent, rotate_agent_key (for an agent that lost its key), set_agent_weight, set_agent_quotas, set_council. Only council members may propose (get_council lists them; others get REJECTED (NOT_COUNCIL)). Council members then vote with cast_vote (the proposer too: proposing is not voting); once the approving weight reaches the threshold the action executes in that same step, and get_decision / wait_for_decision show "actionOutcome" (executed, or failed with the refusal it met). ${SEALED_WHEN} Returns the proposal.`,
  annotations: IDEMPOTENT_WRITES,
  input: (fields) => ({
    proposalId: fields.proposalId('A unique id for the proposal, e.g. "add-dave".'),
    title: utf8Text('title', fields.limits.titleBytesMax, 0)
      .optional()
      .describe('One line for the voters, e.g. "Register dave, our new build agent".'),
    action: actionSchema(fields),
    ttlSeconds: secondsUpTo('ttlSeconds', fields.limits.deadlineTicksMax, 'deadlineTicksMax', fields.tickMs)
      .default(Math.min(TTL_SECONDS_DEFAULT, secondsMaxOf(fields.limits.deadlineTicksMax, fields.tickMs)))
      .describe("Voting closes this many seconds from now (in the cluster's agreed time)."),
    sealed: sealedSchema(fields),
  }),
  run: async (args, context, extra) => {
    const action = actionOf(args.action, context.coordination.client.crypto);
    // The council's rule is a threshold of approving weight: a yes/no rule.
    const sealed = sealedTermsOf(args.sealed, args.ttlSeconds, context.tickMs, 'weighted');
    if (sealed !== null) {
      const now = await context.coordination.agreedTime({ signal: extra.signal });
      const operation = ops.proposeAction({
        proposalId: args.proposalId,
        ...(args.title === undefined ? {} : { title: args.title }),
        deadline: now + ticksOf(args.ttlSeconds, context.tickMs),
        action,
        sealed: absoluteTerms(sealed, now),
      });
      return proposalForModel(await sendProposal(context, operation, extra.signal));
    }
    const proposal = await context.coordination.proposeAction(action, {
      proposalId: args.proposalId,
      ...(args.title === undefined ? {} : { title: args.title }),
      ttlTicks: ticksOf(args.ttlSeconds, context.tickMs),
      signal: extra.signal,
    });
    return proposalForModel(proposal);
  },
});

type ActionInput = z.output<ReturnType<typeof actionSchema>>;
type JoinInput = z.output<ReturnType<typeof joinStatementSchema>>;

/** One object per action kind, told apart by `kind`. */
function actionSchema(fields: Fields) {
  const agent = fields.agentId('agent', 'The agent id the action is about.');
  const weight = integerIn('weight', 1, fields.limits.weightMax);
  return z
    .discriminatedUnion('kind', [
      z.object({
        kind: z.literal('register_agent'),
        joinStatement: joinStatementSchema(),
        weight: weight.default(1).describe('Its voting weight in council actions.'),
        quotas: quotasSchema(fields.limits).default({}),
        observer: z
          .boolean()
          .default(false)
          .describe(
            'Register a read-only observer (a dashboard, an auditor): it may read, never write or vote.',
          ),
      }),
      z.object({ kind: z.literal('remove_agent'), agent }),
      z.object({ kind: z.literal('rotate_agent_key'), agent, joinStatement: joinStatementSchema() }),
      z.object({ kind: z.literal('set_agent_weight'), agent, weight }),
      z.object({ kind: z.literal('set_agent_quotas'), agent, quotas: quotasSchema(fields.limits) }),
      z.object({
        kind: z.literal('set_council'),
        members: listOf(
          fields.agentId('members', 'A registered agent id.'),
          'members',
          1,
          fields.limits.votersMax,
        ),
        threshold: integerIn('threshold', 1, fields.limits.votersMax).describe(
          'The approving weight an action needs.',
        ),
      }),
    ])
    .describe('What the council is asked to approve.');
}

/** The join statement as `conclave keygen` writes it (JSON, keys in hex). */
function joinStatementSchema() {
  return z
    .object({
      kind: z.literal(JOIN_TAG),
      role: z.literal('agent'),
      id: z.string().min(1),
      publicKey: z.string().regex(/^[0-9a-fA-F]{64}$/, 'publicKey must be 64 hex digits'),
      signature: z.string().regex(/^[0-9a-fA-F]{128}$/, 'signature must be 128 hex digits'),
    })
    .describe(
      "The agent's join statement, the JSON object in NAME.join.json (kind, role, id, publicKey, signature): it proves the agent holds the key.",
    );
}

/** Per-agent quota overrides, each at most the cluster's global limit of the same name. */
function quotasSchema(limits: CoordinationLimits) {
  const shape = Object.fromEntries(
    QUOTA_LIMIT_NAMES.map((name) => [name, integerIn(name, 1, limits[name]).optional()]),
  ) as Record<(typeof QUOTA_LIMIT_NAMES)[number], z.ZodOptional<z.ZodNumber>>;
  return z.object(shape).strict().describe('Per-agent limits lower than the global ones (optional).');
}

/** The statement, checked here (shape and proof of possession), as bytes for the action. */
function joinBytes(json: JoinInput, crypto: CryptoBackend): Uint8Array {
  let statement: ReturnType<typeof joinStatementFromJson>;
  try {
    statement = joinStatementFromJson(json);
  } catch (error) {
    throw new ToolFailureError(invalidArgument(`joinStatement: ${(error as Error).message}`));
  }
  const problem = checkJoinStatement(statement, crypto);
  if (problem !== undefined) throw new ToolFailureError(invalidArgument(`joinStatement: ${problem}`));
  return encodeJoinStatement(statement);
}

function actionOf(input: ActionInput, crypto: CryptoBackend): GovernanceAction {
  switch (input.kind) {
    case 'register_agent':
      return actions.registerAgent({
        joinStatement: joinBytes(input.joinStatement, crypto),
        weight: input.weight,
        quotas: input.quotas as AgentQuotas,
        observer: input.observer,
      });
    case 'remove_agent':
      return actions.removeAgent(input.agent);
    case 'rotate_agent_key': {
      if (input.joinStatement.id !== input.agent)
        throw new ToolFailureError(
          invalidArgument(`the join statement is ${input.joinStatement.id}'s, not ${input.agent}'s`),
        );
      return actions.rotateAgentKey(input.agent, joinBytes(input.joinStatement, crypto));
    }
    case 'set_agent_weight':
      return actions.setAgentWeight(input.agent, input.weight);
    case 'set_agent_quotas':
      return actions.setAgentQuotas(input.agent, input.quotas as AgentQuotas);
    case 'set_council':
      return actions.setCouncil(input.members, input.threshold);
  }
}
