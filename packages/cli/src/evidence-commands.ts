/**
 * `conclave evidence list`: the evidence the replicas recorded (equivocation, mismatching and
 * missing reveals), each item checked here with `verifyEvidence` against the registry's key
 * history (every key each agent has held), so that a reader need not take the replicas' word
 * that the accused signed what they are accused of.
 */
import { decodeResult, type Evidence, ops, verifyEvidence } from '@conclave/coordination';
import { nodeCrypto } from '@conclave/core';
import { CliError } from '@conclave/node';
import { type Coordination, refusalError } from '@conclave/sdk';
import { asAgent, noMoreThan } from './agent-session.ts';
import { agentIdOf, integer, print, UsageError, type Values } from './args.ts';
import { evidenceJson, evidenceLine } from './governance-view.ts';

export async function evidenceCommand(args: readonly string[], values: Values): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'list') throw new UsageError('evidence takes list');
  noMoreThan(rest, 0);
  // Here --agent filters whose evidence is listed; --as says who reads.
  const agent = typeof values.agent === 'string' ? agentIdOf(values.agent) : undefined;
  const proposalId = typeof values.proposal === 'string' ? values.proposal : undefined;
  const limit = values.limit === undefined ? undefined : integer(values.limit, '--limit');
  if (limit !== undefined && limit < 1) throw new UsageError(`--limit takes a positive number, got ${limit}`);
  const reader = { ...values, agent: undefined };
  const { items, agents } = await asAgent(reader, async (c) => ({
    items: await allEvidence(c, agent ?? null, proposalId ?? null, limit),
    agents: await c.agents(),
  }));
  const crypto = nodeCrypto();
  const checked = items.map((item: Evidence) => ({
    item,
    verification: verifyEvidence(item, agents, crypto),
  }));
  const bad = checked.filter((c) => !c.verification.ok);
  if (values.json) {
    print(
      JSON.stringify({
        ...(agent === undefined ? {} : { agent }),
        ...(proposalId === undefined ? {} : { proposalId }),
        evidence: checked.map(({ item, verification }) => ({
          ...evidenceJson(item),
          verified: verification.ok,
          reason: verification.ok ? null : verification.reason,
        })),
      }),
    );
  } else if (items.length === 0) {
    print('no evidence');
  } else {
    for (const { item, verification } of checked)
      print(
        `${evidenceLine(item)}: ${verification.ok ? 'verified' : `NOT VERIFIED (${verification.reason})`}`,
      );
  }
  if (bad.length > 0)
    throw new CliError(
      'EVIDENCE_INVALID',
      `EVIDENCE_INVALID: ${bad.length} of ${items.length} items do not verify against the registry's keys (${bad.map((b) => b.item.id).join(', ')})`,
    );
  return 0;
}

/** Every page of the evidence that matches, or the first `limit` items. */
async function allEvidence(
  c: Coordination,
  agent: string | null,
  proposalId: string | null,
  limit: number | undefined,
): Promise<Evidence[]> {
  const all: Evidence[] = [];
  for (let after: number | null = null; ; ) {
    // Ordered (linearizable) reads, as the SDK's evidence() makes them.
    const answer = await c.client.request(ops.listEvidence({ agent, proposalId, after }));
    const page = decodeResult(answer.result);
    if (!page.ok) throw refusalError(page.code, page.message, page.resource);
    if (page.kind !== 'evidence') throw new CliError('REJECTED', `expected evidence, got ${page.kind}`);
    all.push(...page.evidence);
    if (limit !== undefined && all.length >= limit) return all.slice(0, limit);
    if (page.next === null || page.evidence.length === 0) return all;
    after = page.next;
  }
}
