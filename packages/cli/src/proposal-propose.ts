/**
 * `conclave proposal propose ID`: an ordinary yes/no proposal (a threshold or weighted rule,
 * voters with weights; score rules are the SDK's and the MCP server's), and the `--sealed` flags that `propose-action` takes too: voters commit to a
 * sealed ballot until the commit deadline and reveal it after.
 */
import type { MissingReveal, Rule, Voter } from '@conclave/coordination';
import type { SealedOptions } from '@conclave/sdk';
import { actingAgent, asAgent, noMoreThan, ttlFlag } from './agent-session.ts';
import { agentIdOf, integer, print, requireString, UsageError, type Values } from './args.ts';
import { proposalJson } from './governance-view.ts';

const MISSING_REVEALS: readonly MissingReveal[] = ['abstain', 'reject'];

/**
 * `--sealed` with `--commit-ticks N` (from the cluster's agreed time now) or `--commit-deadline T`
 * (absolute), and `--missing-reveal abstain|reject`; undefined for an open ballot.
 */
export function sealedFlag(values: Values): SealedOptions | undefined {
  const ticks = values['commit-ticks'];
  const deadline = values['commit-deadline'];
  const missing = values['missing-reveal'];
  if (values.sealed !== true) {
    if (ticks !== undefined || deadline !== undefined || missing !== undefined)
      throw new UsageError('--commit-ticks, --commit-deadline and --missing-reveal need --sealed');
    return undefined;
  }
  if ((ticks === undefined) === (deadline === undefined))
    throw new UsageError('--sealed needs --commit-ticks N or --commit-deadline T (one of them)');
  if (missing !== undefined && !MISSING_REVEALS.includes(missing as MissingReveal))
    throw new UsageError(`--missing-reveal takes ${MISSING_REVEALS.join(' or ')}, got ${String(missing)}`);
  const at =
    ticks === undefined
      ? { commitDeadline: integer(deadline, '--commit-deadline') }
      : { commitTicks: positive(ticks) };
  return { ...at, missingReveal: (missing ?? 'abstain') as MissingReveal };
}

function positive(value: Values[string]): number {
  const ticks = integer(value, '--commit-ticks');
  if (ticks < 1) throw new UsageError(`--commit-ticks takes a positive number of ticks, got ${ticks}`);
  return ticks;
}

/** `--rule threshold:K | weighted:W`: approved by K approving voters, or by approving weight W. */
export function ruleFlag(value: Values[string]): Rule {
  const [kind = '', arg] = requireString(value, '--rule').split(':');
  const number = () => integer(arg, `--rule ${kind}:N`);
  switch (kind) {
    case 'threshold':
      return { kind: 'threshold', k: number() };
    case 'weighted':
      return { kind: 'weighted', approveWeight: number() };
    default:
      throw new UsageError(`--rule takes threshold:K or weighted:W, got ${String(value)}`);
  }
}

/** `--voters A,B,C` with `--weights A=W,…` (default weight 1); a number names agent-N. */
export function votersFlag(values: Values): Voter[] {
  const agents = requireString(values.voters, '--voters').split(',').filter(Boolean).map(agentIdOf);
  const weights = new Map<string, number>();
  for (const pair of typeof values.weights === 'string' ? values.weights.split(',') : []) {
    const [agent = '', weight] = pair.split('=');
    if (!agents.includes(agentIdOf(agent))) throw new UsageError(`--weights names ${agent}, not in --voters`);
    weights.set(agentIdOf(agent), integer(weight, `--weights ${agent}=W`));
  }
  return agents.map((agent) => ({ agent, weight: weights.get(agent) ?? 1 }));
}

/** Opens an ordinary proposal as the acting agent, and says how to vote on it. */
export async function propose(args: readonly string[], values: Values): Promise<number> {
  noMoreThan(args, 1);
  const proposalId = requireString(args[0], 'a proposal ID (proposal propose ID)');
  const sealed = sealedFlag(values);
  const options = {
    proposalId,
    title: typeof values.title === 'string' ? values.title : proposalId,
    rule: ruleFlag(values.rule),
    voters: votersFlag(values),
    ttlTicks: ttlFlag(values),
    ...(sealed === undefined ? {} : { sealed }),
  };
  const view = await asAgent(values, (c) => c.propose(options));
  if (values.json) {
    print(JSON.stringify(proposalJson(view)));
    return 0;
  }
  print(`proposed ${view.proposalId}: ${view.title}, deadline ${view.deadline}`);
  if (view.sealed !== null)
    print(
      `  sealed: voters commit until ${view.sealed.commitDeadline} and reveal until ${view.deadline}; a voter that does not reveal counts as ${view.sealed.missingReveal}`,
    );
  print(
    `  each voter: conclave proposal vote ${view.proposalId} approve|reject|abstain --as VOTER --dir ${String(values.dir)}`,
  );
  print(
    `  then: conclave proposal wait ${view.proposalId} --as ${actingAgent(values)} --dir ${String(values.dir)}`,
  );
  return 0;
}
