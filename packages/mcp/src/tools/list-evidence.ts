/** `list_evidence`: proof that agents equivocated, re-checked here against the registry's key history. */
import { verifyEvidence } from '@conclave/coordination';
import { evidenceForModel } from '../present.ts';
import { registryOf } from './registry.ts';
import { defineTool, READS } from './tool.ts';

export const listEvidence = defineTool({
  name: 'list_evidence',
  title: 'List equivocation evidence',
  description:
    'Lists proof that agents misbehaved: two different ballots (or requests) signed by one agent where only one is allowed. Each item shows both signed objects and "verified": whether this server re-checked both signatures against the agent\'s keys in the registry\'s key history, any key it has held (a read f+1 replicas vouch for), so it does not rest on the replicas that recorded the evidence. An agent with evidence on a proposal has its vote excluded there.',
  annotations: READS,
  input: (fields) => ({
    agent: fields.agentId('agent', 'Only evidence against this agent.').optional(),
    proposalId: fields.proposalId('Only evidence about this proposal.').optional(),
    consistency: fields.consistency,
  }),
  run: async (args, context, extra) => {
    const client = context.coordination.client;
    const options = { consistency: args.consistency, signal: extra.signal };
    // The registry's key history, so evidence signed before a rotation or removal still checks.
    const agents = await registryOf(context, options);
    const evidence = await context.coordination.evidence(
      {
        limit: context.pageSize,
        ...(args.agent === undefined ? {} : { agent: args.agent }),
        ...(args.proposalId === undefined ? {} : { proposalId: args.proposalId }),
      },
      options,
    );
    return {
      evidence: evidence.map((item) => {
        // Checked here, so the answer does not rest on trusting the replicas.
        const check = verifyEvidence(item, agents, client.crypto);
        return evidenceForModel(item, check.ok ? { ok: true } : { ok: false, reason: check.reason });
      }),
    };
  },
});
