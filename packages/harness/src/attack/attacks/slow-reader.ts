/**
 * slow-reader: the attacker asks every replica for the largest answers its quotas let it build
 * (its whole task list: `tasksPerAgentMax` tasks with `taskPayloadBytesMax` payloads, ~8.5 KB),
 * then stops reading its socket: this process stops itself (SIGSTOP), so the kernel buffers fill
 * and the answers pile up in each replica's send queue, past the per-agent bound (1 MiB). The
 * runner kills it.
 */
import { DEFAULT_COORDINATION_LIMITS } from '@conclave/coordination';
import { createQuery } from '@conclave/core';
import { ops } from '@conclave/sdk';
import { type Attack, connectAttacker, refusalOf } from './context.ts';
import { openRawLink, sendCounted } from './raw-link.ts';

/** Tasks created so the task list is large: as many as the attacker's quota allows, each as large. */
const TASKS = DEFAULT_COORDINATION_LIMITS.tasksPerAgentMax;
const TASK_PAYLOAD_BYTES = DEFAULT_COORDINATION_LIMITS.taskPayloadBytesMax;
/** Large queries sent to each replica before reading stops: ~2 MB of answers each. */
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
        (error) => {
          const reason = refusalOf(error);
          context.count(`refused_${reason}`);
          // A task the cluster calls malformed is a bug in the attack, not a defence: stop loudly.
          if (reason === 'INVALID') throw error;
        },
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
