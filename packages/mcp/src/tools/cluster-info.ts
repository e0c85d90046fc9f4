/** `cluster_info`: who this server signs as, and the cluster it talks to. */
import { defineTool, READS } from './tool.ts';

export const clusterInfo = defineTool({
  name: 'cluster_info',
  title: 'Who this agent is',
  description:
    'Returns the agent id this server acts as (every write is signed with its key), the agents the cluster started with (possible voters; list_agents shows the live registry, with agents registered or removed since), the number of replicas n and how many may be faulty (f), and how long a tick of agreed time is. Call it first to learn agent ids for propose.',
  annotations: READS,
  input: () => ({}),
  run: async (_args, context) => ({
    agent: context.agent,
    agents: context.coordination.client.cluster.agents.map((a) => a.id),
    replicas: context.replicas,
    f: context.f,
    tickMs: context.tickMs,
    answersAcceptedOn: `${context.f + 1} matching replica answers`,
  }),
});
