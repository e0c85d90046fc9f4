/** `list_evidence`: proof that agents equivocated, re-checked here against the registry's key history. */
import { verifyEvidence } from '@conclave/coordination';
import { evidenceForModel } from '../present.ts';
import { registryOf } from './registry.ts';
import { defineTool, READS } from './tool.ts';

export const listEvidence = defineTool({
  name: 'list_evidence',
  title: 'List evidence of misbehaviour',
  description:
    "Lists proof that agents misbehaved, each item with \"means\" in words. Kinds: ballot (two different signed ballots on one proposal), request (two different requests with one requestId), commitment (two different signed commitments on a sealed proposal), reveal_mismatch (a sealed ballot revealed that does not match the agent's own commitment: first is the commitment, second the ballot, with the salt), no_reveal (a sealed commitment never revealed by revealDeadline: first is the commitment, second is null). \"verified\" says whether this server re-checked the item itself against the agent's keys in the registry's key history (any key it has held; a read f+1 replicas vouch for), so it does not rest on the replicas that recorded it: the signatures, that the two objects differ, and for reveal_mismatch that the ballot and salt do not reproduce the seal. For no_reveal only the commitment can be checked: the missing reveal is the replicas' attestation. An agent with ballot, commitment or reveal_mismatch evidence on a proposal has its vote excluded there; a no_reveal counts as the proposal's missingReveal.",
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
