/**
 * slow-reader: the attacker asks every replica for large answers (pages of tasks with 4 KB
 * payloads), then stops reading its socket: this process stops itself (SIGSTOP), so the kernel
 * buffers fill and the answers pile up in each replica's send queue. The runner kills it.
 */
import { createQuery } from '@conclave/core';
import { ops } from '@conclave/sdk';
import { type Attack, connectAttacker, refusalOf } from './context.ts';
import { openRawLink, sendCounted } from './raw-link.ts';

/** Tasks created so one page of the task list is large (one page holds at most pageMax = 100). */
const TASKS = 100;
const TASK_PAYLOAD_BYTES = 4_000;
/** Large queries sent to each replica before reading stops: ~400 KB of answer each. */
export const SLOW_READER_QUERIES_PER_REPLICA = 256;
/** How long the attacker spends creating its large tasks before it asks for them. */
const SLOW_READER_FILL_MS = 3_000;
const FILL_IN_FLIGHT = 8;

export const slowReader: Attack = async (context) => {
  const coord = await connectAttacker(context);
  const payload = new Uint8Array(TASK_PAYLOAD_BYTES).fill(0x61);
  // Fill for a bounded time: fewer tasks still make each answer large.
  const fillUntil = Date.now() + SLOW_READER_FILL_MS;
  let created = 0;
  let next = 0;
  const worker = async () => {
    while (next < TASKS && Date.now() < fillUntil && !context.signal.aborted) {
      const i = next++;
      await coord.tasks.create(`attacker-big-${i}`, payload).then(
        () => created++,
        (error) => context.count(`refused_${refusalOf(error)}`),
      );
    }
  };
  await Promise.all(Array.from({ length: FILL_IN_FLIGHT }, worker));
  context.set('tasks', created);
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
