/** `list_agents`: the agent registry, with each agent's key history. */
import { agentForModel } from '../present-registry.ts';
import { registryOf } from './registry.ts';
import { defineTool, READS } from './tool.ts';

export const listAgents = defineTool({
  name: 'list_agents',
  title: 'List the registered agents',
  description:
    'Lists every agent record of the registry, current and removed: its current public key (hex; null once removed), voting weight, council membership, quota overrides, and its key history ("keys": each key with the log sequences [from, until) it was in force; until null for the current key). Agents registered, rotated or removed since the cluster started are here; cluster_info shows only the genesis agents.',
  annotations: READS,
  input: (fields) => ({ consistency: fields.consistency }),
  run: async (args, context, extra) => {
    const agents = await registryOf(context, { consistency: args.consistency, signal: extra.signal });
    return { agents: agents.map(agentForModel) };
  },
});
