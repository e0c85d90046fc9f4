/**
 * `conclave proposal …`: proposals through the SDK's coordination API. Any agent proposes
 * (`propose`); a council member proposes an action (`propose-action`, or the `agent add|remove`
 * shortcuts); voters `vote` (on a sealed proposal: commit, then reveal); `show` reads the tally,
 * `wait` waits for the outcome, `evidence` lists what voters were caught at. The state machine
 * executes an approved action in the step that approves it (`actionOutcome`).
 */
import type { GovernanceAction, ProposalFilter, ProposalSummary, ProposalView } from '@conclave/coordination';
import { CliError } from '@conclave/node';
import { actionOf, defaultProposalId } from './action-args.ts';
import { actingAgent, asAgent, noMoreThan, ttlFlag } from './agent-session.ts';
import { integer, print, requireString, UsageError, type Values } from './args.ts';
import {
  actionText,
  evidenceJson,
  evidenceLine,
  outcomeText,
  proposalJson,
  proposalLines,
} from './governance-view.ts';
import { propose, sealedFlag } from './proposal-propose.ts';
import { vote } from './proposal-vote.ts';

export async function proposalCommand(args: readonly string[], values: Values): Promise<number> {
  const [action, ...rest] = args;
  switch (action) {
    case 'propose':
      return propose(rest, values);
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
    case 'evidence':
      return evidence(rest, values);
    case 'list':
      return list(rest, values);
    default:
      throw new UsageError('proposal takes propose, propose-action, vote, show, wait, evidence or list');
  }
}

/** Proposes `action` as the acting council member, and says what the council does next. */
export async function proposeAction(action: GovernanceAction, values: Values): Promise<number> {
  const proposalId = typeof values.proposal === 'string' ? values.proposal : defaultProposalId(action);
  const ttlTicks = ttlFlag(values);
  const sealed = sealedFlag(values);
  const title = typeof values.title === 'string' ? values.title : actionText(action);
  const options = { proposalId, title, ttlTicks, ...(sealed === undefined ? {} : { sealed }) };
  const { proposal, threshold } = await asAgent(values, async (c) => ({
    proposal: await c.proposeAction(action, options),
    threshold: (await c.council()).threshold,
  }));
  if (values.json) {
    print(JSON.stringify({ ...proposalJson(proposal), threshold }));
    return 0;
  }
  const dir = String(values.dir);
  print(`proposed ${proposal.proposalId}: ${actionText(action)}`);
  if (proposal.sealed !== null)
    print(
      `  sealed: members commit until ${proposal.sealed.commitDeadline}, then reveal (proposal vote does both)`,
    );
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

/** Evidence recorded on a proposal: equivocation, and on sealed ones mismatching and missing reveals. */
async function evidence(args: readonly string[], values: Values): Promise<number> {
  const proposalId = proposalIdOf(args, 1, 'proposal evidence ID');
  const items = await asAgent(values, (c) => c.evidence({ proposalId }));
  if (values.json) print(JSON.stringify({ proposalId, evidence: items.map(evidenceJson) }));
  else if (items.length === 0) print(`no evidence on ${proposalId}`);
  else for (const item of items) print(evidenceLine(item));
  return 0;
}

const PROPOSAL_FILTERS: readonly ProposalFilter[] = ['open', 'decided', 'all'];

/** Proposals in id order, every page of them: open ones by default (`--status decided|all`). */
async function list(args: readonly string[], values: Values): Promise<number> {
  noMoreThan(args, 0);
  const status = (values.status ?? 'open') as ProposalFilter;
  if (!PROPOSAL_FILTERS.includes(status))
    throw new UsageError(`--status takes ${PROPOSAL_FILTERS.join(', ')}, got ${String(values.status)}`);
  const proposals = await asAgent(values, async (c) => {
    const all: ProposalSummary[] = [];
    for (let after: string | null = null; ; ) {
      const page = await c.proposals({ status, after });
      if (page.length === 0) return all;
      all.push(...page);
      after = page[page.length - 1]?.proposalId ?? null;
    }
  });
  if (values.json) {
    print(JSON.stringify({ status, proposals }));
    return 0;
  }
  if (proposals.length === 0) print(`no ${status === 'all' ? '' : `${status} `}proposals`);
  for (const p of proposals) {
    const phase = p.status === 'open' && p.sealed !== null ? ` (${p.phase} phase)` : '';
    const action = p.actionKind === null ? '' : ` action ${p.actionKind}`;
    print(
      `${p.proposalId}: ${p.status}${phase}, deadline ${p.deadline}, by ${p.proposer}${action} — ${p.title}`,
    );
  }
  return 0;
}
