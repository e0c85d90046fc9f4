/** `get_council`: who approves governance actions, and the approving weight an action needs. */
import { councilForModel } from '../present-registry.ts';
import { registryOf } from './registry.ts';
import { defineTool, READS } from './tool.ts';

export const getCouncil = defineTool({
  name: 'get_council',
  title: 'Read the council',
  description:
    'Returns the council: its members with their voting weights, the total weight, and the threshold (the approving weight a governance action needs). Only members may propose_action and vote on action proposals.',
  annotations: READS,
  input: (fields) => ({ consistency: fields.consistency }),
  run: async (args, context, extra) => {
    const options = { consistency: args.consistency, signal: extra.signal };
    const [council, agents] = await Promise.all([
      context.coordination.council(options),
      registryOf(context, options),
    ]);
    return {
      agent: context.agent,
      isMember: council.members.includes(context.agent),
      ...councilForModel(council, agents),
    };
  },
});
