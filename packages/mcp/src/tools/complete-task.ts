/** `complete_task`: marks a task this agent holds as done, with its result. */
import { taskForModel } from '../present.ts';
import { utf8Text } from './fields.ts';
import { defineTool, WRITES } from './tool.ts';

export const completeTask = defineTool({
  name: 'complete_task',
  title: 'Complete a task',
  description:
    'Marks a task this agent has claimed (with a lease still running) as done, with its result. REJECTED (FORBIDDEN) if this agent does not hold the claim, (EXPIRED) if the lease ran out.',
  annotations: WRITES,
  input: (fields) => ({
    taskId: fields.taskId('The task to complete.'),
    result: utf8Text('result', fields.limits.taskResultBytesMax, 0).describe('The result, as text.'),
  }),
  run: async (args, context, extra) =>
    taskForModel(
      await context.coordination.tasks.complete(args.taskId, new TextEncoder().encode(args.result), {
        signal: extra.signal,
      }),
    ),
});
