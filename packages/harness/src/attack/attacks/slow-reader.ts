/**
 * slow-reader: the attacker asks every replica for large answers (pages of tasks with 4 KB
 * payloads), then stops reading its socket: this process stops itself (SIGSTOP), so the kernel
 * buffers fill and the answers pile up in each replica's send queue. The runner kills it.
 */
import { createQuery } from '@conclave/core';
import { ops } from '@conclave/sdk';
import { type Attack, connectAttacker } from './context.ts';
import { openRawLink, sendCounted } from './raw-link.ts';

/** Tasks created so one page of the task list is large (one page holds at most pageMax = 100). */
const TASKS = 100;
const TASK_PAYLOAD_BYTES = 4_000;
/** Large queries sent to each replica before reading stops: ~400 KB of answer each. */
export const SLOW_READER_QUERIES_PER_REPLICA = 256;

export const slowReader: Attack = async (context) => {
  const coord = await connectAttacker(context);
  const payload = new Uint8Array(TASK_PAYLOAD_BYTES).fill(0x61);
  const outcomes = await Promise.allSettled(
    Array.from({ length: TASKS }, (_, i) => coord.tasks.create(`attacker-big-${i}`, payload)),
  );
  context.set('tasks', outcomes.filter((o) => o.status === 'fulfilled').length);
  const link = await openRawLink(context);
  const operation = ops.listTasks({ limit: TASKS });
  const base = Date.now();
  for (let i = 0; i < SLOW_READER_QUERIES_PER_REPLICA && !context.signal.aborted; i++) {
    const { frame } = createQuery(
      { agent: context.agent, queryId: base + i, operation },
      link.crypto,
      link.secretKey,
    );
    for (const replica of link.replicas) sendCounted(context, link, replica, frame);
  }
  // Let the queries leave, then stop reading for good.
  await new Promise((done) => setTimeout(done, 200));
  context.set('reading', 'stopped');
  context.flush();
  process.kill(process.pid, 'SIGSTOP');
};
