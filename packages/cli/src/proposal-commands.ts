/**
 * `conclave proposal …`: governance proposals through the SDK's coordination API. A council
 * member proposes an action (`propose-action`, or the `agent add|remove` shortcuts); members
 * `vote`; `show` reads the tally, `wait` waits for the outcome. The state machine executes an
 * approved action in the step that approves it (`actionOutcome`).
 */
import type { Choice, GovernanceAction, ProposalView } from '@conclave/coordination';
import { encodeReceipt, toHex } from '@conclave/core';
import { CliError } from '@conclave/node';
import { actionOf, defaultProposalId } from './action-args.ts';
import { actingAgent, asAgent, noMoreThan, ttlFlag } from './agent-session.ts';
import { integer, print, requireString, UsageError, type Values } from './args.ts';
import { actionText, outcomeText, proposalJson, proposalLines } from './governance-view.ts';

const CHOICES = ['approve', 'reject', 'abstain'] as const;

export async function proposalCommand(args: readonly string[], values: Values): Promise<number> {
  const [action, ...rest] = args;
  switch (action) {
    case 'propose-action': {
      const [kind = '', ...actionArgs] = rest;
      return proposeAction(actionOf(kind, actionArgs, values), values);
    }
    case 'vote':
      return vote(rest, values);
    case 'show':
      return show(rest, values);
    case 'wait':
      return wait(rest, values);
    default:
      throw new UsageError('proposal takes propose-action, vote, show or wait');
  }
}

/** Proposes `action` as the acting council member, and says what the council does next. */
export async function proposeAction(action: GovernanceAction, values: Values): Promise<number> {
  const proposalId = typeof values.proposal === 'string' ? values.proposal : defaultProposalId(action);
  const ttlTicks = ttlFlag(values);
  const title = typeof values.title === 'string' ? values.title : actionText(action);
  const { proposal, threshold } = await asAgent(values, async (c) => ({
    proposal: await c.proposeAction(action, { proposalId, title, ttlTicks }),
    threshold: (await c.council()).threshold,
  }));
  if (values.json) {
    print(JSON.stringify({ ...proposalJson(proposal), threshold }));
    return 0;
  }
  const dir = String(values.dir);
  print(`proposed ${proposal.proposalId}: ${actionText(action)}`);
  print(
    `  the council approves it with weight ${threshold} before deadline ${proposal.deadline}; each member votes:`,
  );
  print(`  conclave proposal vote ${proposal.proposalId} approve --as MEMBER --dir ${dir}`);
  print(
    `  (the proposer too: proposing is not voting); then: conclave proposal wait ${proposal.proposalId} --as ${actingAgent(values)} --dir ${dir}`,
  );
  return 0;
}

function proposalIdOf(args: readonly string[], count: number, what: string): string {
  noMoreThan(args, count);
  return requireString(args[0], `a proposal ID (${what})`);
}

async function vote(args: readonly string[], values: Values): Promise<number> {
  const proposalId = proposalIdOf(args, 2, 'proposal vote ID approve|reject|abstain');
  const choice = args[1] as Choice;
  if (!CHOICES.includes(choice as (typeof CHOICES)[number]))
    throw new UsageError(`proposal vote takes ${CHOICES.join(', ')} after the ID`);
  const reason = typeof values.reason === 'string' ? values.reason : '';
  const { result, view } = await asAgent(values, async (c) => {
    const result = await c.vote(proposalId, choice, { reason });
    return { result, view: await c.decision(proposalId) };
  });
  const receipt = toHex(encodeReceipt(result.receipt));
  if (values.json) {
    print(
      JSON.stringify({
        ...proposalJson(view),
        sequence: result.sequence,
        duplicate: result.duplicate,
        receipt,
      }),
    );
    return 0;
  }
  print(
    `${result.duplicate ? 'already voted' : 'voted'} ${choice} on ${proposalId} at sequence ${result.sequence}`,
  );
  for (const line of proposalLines(view)) print(line);
  print(`receipt: ${receipt}`);
  return 0;
}

async function show(args: readonly string[], values: Values): Promise<number> {
  const proposalId = proposalIdOf(args, 1, 'proposal show ID');
  const view = await asAgent(values, (c) => c.decision(proposalId));
  printProposal(view, values);
  return 0;
}

/** Waits for the outcome: exit 0 when approved (and its action executed), 1 otherwise. */
async function wait(args: readonly string[], values: Values): Promise<number> {
  const proposalId = proposalIdOf(args, 1, 'proposal wait ID');
  const timeoutMs = integer(values.timeout, '--timeout', 60) * 1000;
  const view = await asAgent(values, (c) => c.waitForDecision(proposalId, { timeoutMs }));
  printProposal(view, values);
  if (view.status !== 'approved')
    throw new CliError('REJECTED', `proposal ${proposalId} ended ${view.status}`);
  if (view.action !== null && view.actionOutcome?.status !== 'executed')
    throw new CliError('REJECTED', `proposal ${proposalId}'s action ${outcomeText(view.actionOutcome)}`);
  return 0;
}

function printProposal(view: ProposalView, values: Values): void {
  if (values.json) print(JSON.stringify(proposalJson(view)));
  else for (const line of proposalLines(view)) print(line);
}
