/** `create_task`: puts a task on the shared board for any agent to claim. */
import { taskForModel } from '../present.ts';
import { utf8Text } from './fields.ts';
import { defineTool, WRITES } from './tool.ts';

export const createTask = defineTool({
  name: 'create_task',
  title: 'Put a task on the board',
  description:
    'Puts a task on the shared task board for any agent to claim. REJECTED (CONFLICT) if the id is taken.',
  annotations: WRITES,
  input: (fields) => ({
    taskId: fields.taskId('A unique task id.'),
    payload: utf8Text('payload', fields.limits.taskPayloadBytesMax, 0).describe(
      'What the task is, as text (instructions, JSON…).',
    ),
  }),
  run: async (args, context, extra) =>
    taskForModel(
      await context.coordination.tasks.create(args.taskId, new TextEncoder().encode(args.payload), {
        signal: extra.signal,
      }),
    ),
});
