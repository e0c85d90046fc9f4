/**
 * `conclave agent …`: the agent registry. `add` and `remove` propose the council action (then the
 * council votes with `conclave proposal vote`); `rotate` (agent-rotate.ts) and `revoke` are an
 * agent's own self-service changes, effective at once; `list` and `council` read the registry,
 * `usage` what each agent holds against its quotas.
 */
import { loadClusterFile } from '@conclave/node';
import { actionOf } from './action-args.ts';
import { rotate } from './agent-rotate.ts';
import { actingAgent, asAgent, noMoreThan } from './agent-session.ts';
import { print, requireString, UsageError, type Values } from './args.ts';
import { coordinationLimitsOf } from './coordination-limits.ts';
import { agentJson, agentLines, councilLines, usageLine } from './governance-view.ts';
import { proposeAction } from './proposal-commands.ts';

export async function agentCommand(args: readonly string[], values: Values): Promise<number> {
  const [action, ...rest] = args;
  switch (action) {
    case 'add':
      return proposeAction(actionOf('register-agent', rest, values), values);
    case 'remove':
      return proposeAction(actionOf('remove-agent', rest, values), values);
    case 'rotate':
      noMoreThan(rest, 0);
      return rotate(values);
    case 'revoke':
      noMoreThan(rest, 0);
      return revoke(values);
    case 'list':
      noMoreThan(rest, 0);
      return list(values);
    case 'council':
      noMoreThan(rest, 0);
      return council(values);
    case 'usage':
      noMoreThan(rest, 0);
      return usage(values);
    default:
      throw new UsageError('agent takes add, remove, rotate, revoke, list, council or usage');
  }
}

async function revoke(values: Values): Promise<number> {
  const agent = actingAgent(values);
  if (values.yes !== true)
    throw new UsageError(
      `revoking removes ${agent} from the registry for good (only the council can register it again); add --yes`,
    );
  const change = await asAgent(values, (c) => c.revokeSelf());
  if (values.json) print(JSON.stringify({ effectiveFrom: change.effectiveFrom, ...agentJson(change.agent) }));
  else print(`revoked ${agent}: refused from sequence ${change.effectiveFrom} on`);
  return 0;
}

/** The registry page size the cluster in `--dir` allows (its `pageMax`). */
function pageMaxOf(values: Values): number {
  return coordinationLimitsOf(loadClusterFile(requireString(values.dir, '--dir'))).pageMax;
}

async function list(values: Values): Promise<number> {
  const agents = await asAgent(values, (c) => c.agents({ pageLimit: pageMaxOf(values) }));
  if (values.json) print(JSON.stringify({ agents: agents.map(agentJson) }));
  else for (const agent of agents) for (const line of agentLines(agent)) print(line);
  return 0;
}

async function usage(values: Values): Promise<number> {
  const usages = await asAgent(values, (c) => c.usage({ pageLimit: pageMaxOf(values) }));
  if (values.json) print(JSON.stringify({ usage: usages }));
  else for (const line of usages.map(usageLine)) print(line);
  return 0;
}

async function council(values: Values): Promise<number> {
  const { view, agents } = await asAgent(values, async (c) => ({
    view: await c.council(),
    agents: await c.agents({ pageLimit: pageMaxOf(values) }),
  }));
  if (values.json) print(JSON.stringify(view));
  else for (const line of councilLines(view, agents)) print(line);
  return 0;
}
