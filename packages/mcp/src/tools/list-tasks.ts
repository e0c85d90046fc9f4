/** `list_tasks`: the task board in id order. */
import { z } from 'zod';
import { taskForModel } from '../present.ts';
import { defineTool, READS } from './tool.ts';

export const listTasks = defineTool({
  name: 'list_tasks',
  title: 'List tasks',
  description: 'Lists tasks on the board in id order, with status, claimant and result.',
  annotations: READS,
  input: (fields) => ({
    status: z.enum(['open', 'claimed', 'done', 'all']).default('open'),
    consistency: fields.consistency,
  }),
  run: async (args, context, extra) => {
    const tasks = await context.coordination.tasks.list(
      { status: args.status, limit: context.pageSize },
      { consistency: args.consistency, signal: extra.signal },
    );
    return { tasks: tasks.map(taskForModel) };
  },
});
