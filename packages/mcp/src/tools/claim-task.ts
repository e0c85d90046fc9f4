/** `claim_task`: takes an open task under a lease, so only this agent can complete it meanwhile. */
import { z } from 'zod';
import { taskForModel } from '../present.ts';
import { ticksOf } from '../ticks.ts';
import { defineTool, WRITES } from './tool.ts';

export const claimTask = defineTool({
  name: 'claim_task',
  title: 'Claim a task',
  description:
    'Claims an open task for this agent under a lease: only this agent can complete it until the lease ends, after which it returns to the board. REJECTED (CONFLICT) if someone else holds it or it is done.',
  annotations: WRITES,
  input: (fields) => ({
    taskId: fields.id('The task to claim.'),
    leaseSeconds: z
      .number()
      .positive()
      .max(7 * 24 * 3600)
      .default(300)
      .describe('How long the claim lasts.'),
  }),
  run: async (args, context, extra) =>
    taskForModel(
      await context.coordination.tasks.claim(args.taskId, ticksOf(args.leaseSeconds, context.tickMs), {
        signal: extra.signal,
      }),
    ),
});
