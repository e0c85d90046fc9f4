/** `list_evidence`: proof that agents equivocated, re-checked here against their registered keys. */
import { verifyEvidence } from '@conclave/coordination';
import { evidenceForModel } from '../present.ts';
import { defineTool, READS } from './tool.ts';

export const listEvidence = defineTool({
  name: 'list_evidence',
  title: 'List equivocation evidence',
  description:
    'Lists proof that agents misbehaved: two different ballots (or requests) signed by one agent where only one is allowed. Each item shows both signed objects and "verified": whether this server re-checked both signatures against the agent\'s registered key (so it does not depend on trusting the replicas). An agent with evidence on a proposal has its vote excluded there.',
  annotations: READS,
  input: (fields) => ({
    agent: fields.agentId('agent', 'Only evidence against this agent.').optional(),
    proposalId: fields.proposalId('Only evidence about this proposal.').optional(),
    consistency: fields.consistency,
  }),
  run: async (args, context, extra) => {
    const client = context.coordination.client;
    const evidence = await context.coordination.evidence(
      {
        limit: context.pageSize,
        ...(args.agent === undefined ? {} : { agent: args.agent }),
        ...(args.proposalId === undefined ? {} : { proposalId: args.proposalId }),
      },
      { consistency: args.consistency, signal: extra.signal },
    );
    return {
      evidence: evidence.map((item) => {
        // Checked here, so the answer does not rest on trusting the replicas.
        const check = verifyEvidence(item, client.cluster.agents, client.crypto);
        return evidenceForModel(item, check.ok ? { ok: true } : { ok: false, reason: check.reason });
      }),
    };
  },
});
