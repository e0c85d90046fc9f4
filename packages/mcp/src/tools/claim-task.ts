/** `claim_task`: takes an open task under a lease, so only this agent can complete it meanwhile. */
import { taskForModel } from '../present.ts';
import { secondsMaxOf, ticksOf } from '../ticks.ts';
import { secondsUpTo } from './fields.ts';
import { defineTool, WRITES } from './tool.ts';

/** How long a claim lasts unless the caller says (within the cluster's lease bound). */
const LEASE_SECONDS_DEFAULT = 300;

export const claimTask = defineTool({
  name: 'claim_task',
  title: 'Claim a task',
  description:
    'Claims an open task for this agent under a lease: only this agent can complete it until the lease ends, after which it returns to the board. REJECTED (CONFLICT) if someone else holds it or it is done.',
  annotations: WRITES,
  input: (fields) => ({
    taskId: fields.taskId('The task to claim.'),
    leaseSeconds: secondsUpTo('leaseSeconds', fields.limits.leaseTicksMax, 'leaseTicksMax', fields.tickMs)
      .default(Math.min(LEASE_SECONDS_DEFAULT, secondsMaxOf(fields.limits.leaseTicksMax, fields.tickMs)))
      .describe('How long the claim lasts.'),
  }),
  run: async (args, context, extra) =>
    taskForModel(
      await context.coordination.tasks.claim(args.taskId, ticksOf(args.leaseSeconds, context.tickMs), {
        signal: extra.signal,
      }),
    ),
});
