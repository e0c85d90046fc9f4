/**
 * Real daemons on 127.0.0.1: a 4-replica cluster under continuous writes survives kill -9 of
 * the primary (a view change happens, writes continue), the killed replica restarts from disk
 * and catches up, every replica is restarted in turn, and at the end all replicas report the
 * same executed sequence and state digest and every acknowledged write reads back.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { connectAgent } from '@conclave/cli';
import { decodeKvResult, encodeKvOperation } from '@conclave/core';
import { afterAll, describe, expect, it } from 'vitest';
import { makeCluster, type RunningReplica, startReplica, statusOf, stopReplica, waitFor } from './support.ts';

const running = new Map<number, RunningReplica>();
let clusterDir = '';

afterAll(async () => {
  await Promise.all([...running.values()].map((r) => stopReplica(r, 'SIGKILL')));
  if (clusterDir !== '') rmSync(dirname(clusterDir), { recursive: true, force: true });
});

describe('a cluster of real processes', () => {
  it('keeps every acknowledged write through kill -9 of the primary, restarts and a rolling restart', async () => {
    const { dir } = await makeCluster(
      4,
      2,
      {
        requestTimeoutTicks: 150,
        checkpointInterval: 16,
        watermarkWindow: 64,
      },
      'kv',
    );
    clusterDir = dir;
    for (let id = 0; id < 4; id++) running.set(id, startReplica(dir, id));
    const everyone = [0, 1, 2, 3];
    const statuses = async (ids: readonly number[]) => Promise.all(ids.map((id) => statusOf(dir, id)));
    await waitFor(
      'all replicas up',
      async () => ((await statuses(everyone)).every((s) => s !== undefined) ? true : undefined),
      30_000,
    );

    // A writer that keeps going until told to stop. Acknowledged = f+1 matching replies.
    const writer = await connectAgent({ dir, agent: 'agent-0', timeoutMs: 10_000 });
    const acknowledged = new Map<string, string>();
    const attemptedAfterAck = new Map<string, Set<string>>();
    let acks = 0;
    let timeouts = 0;
    let writing = true;
    const writes = (async () => {
      for (let i = 0; writing; i++) {
        const key = `k${i % 25}`;
        const value = `v${i}`;
        const later = attemptedAfterAck.get(key) ?? new Set<string>();
        later.add(value);
        attemptedAfterAck.set(key, later);
        try {
          const outcome = await writer.request(encodeKvOperation({ op: 'put', key, value }), {
            timeoutMs: 8_000,
          });
          expect(decodeKvResult(outcome.result)).toMatchObject({ ok: true, value });
          acknowledged.set(key, value);
          attemptedAfterAck.set(key, new Set());
          acks++;
        } catch {
          timeouts++; // may still execute later: only acknowledged writes are promised
        }
      }
    })();
    const acksReach = (n: number, timeoutMs: number) =>
      waitFor(`${n} acknowledged writes`, () => (acks >= n ? acks : undefined), timeoutMs);

    await acksReach(30, 30_000);

    // kill -9 the primary of view 0 while writes continue.
    const killedAt = acks;
    await stopReplica(running.get(0) as RunningReplica, 'SIGKILL');
    const afterViewChange = await waitFor(
      'a view change among the survivors',
      async () => {
        const s = await statuses([1, 2, 3]);
        return s.every((x) => x !== undefined && x.view >= 1 && !x.changingView) ? s : undefined;
      },
      30_000,
    );
    expect(afterViewChange.every((s) => s !== undefined && s.primary !== 0)).toBe(true);
    await acksReach(killedAt + 30, 30_000);

    // The killed replica restarts from its disk and catches up.
    running.set(0, startReplica(dir, 0));
    const caughtUp = async (id: number) => {
      const target = Math.max(
        ...(await statuses(everyone.filter((x) => x !== id))).map((s) => s?.executedSequence ?? 0),
      );
      await waitFor(
        `replica ${id} caught up to ${target}`,
        async () => {
          const s = await statusOf(dir, id);
          return s !== undefined && s.executedSequence >= target && !s.changingView ? s : undefined;
        },
        30_000,
      );
    };
    await caughtUp(0);

    // Stop and start every replica in turn, clean shutdowns this time.
    for (const id of everyone) {
      const before = acks;
      expect(await stopReplica(running.get(id) as RunningReplica, 'SIGTERM')).toBe(0);
      running.set(id, startReplica(dir, id));
      await caughtUp(id);
      await acksReach(before + 10, 30_000);
    }

    writing = false;
    await writes;
    await writer.close();

    // Everyone converges on the same executed sequence and state.
    const converged = await waitFor(
      'all replicas at the same executed sequence and state digest',
      async () => {
        const s = await statuses(everyone);
        if (s.some((x) => x === undefined)) return undefined;
        const sequences = new Set(s.map((x) => x?.executedSequence));
        const digests = new Set(s.map((x) => x?.stateDigest));
        return sequences.size === 1 && digests.size === 1 ? s : undefined;
      },
      30_000,
      50,
    );
    expect(converged).toHaveLength(4);

    // Every acknowledged write reads back (or was overwritten by a later write of the same key).
    const reader = await connectAgent({ dir, agent: 'agent-1' });
    try {
      for (const [key, value] of acknowledged) {
        const read = await reader.query(encodeKvOperation({ op: 'get', key }), 'quorum');
        const result = decodeKvResult(read.result);
        const allowed = new Set([value, ...(attemptedAfterAck.get(key) ?? [])]);
        expect(
          result.ok && result.value !== null && allowed.has(result.value),
          `${key}: read ${JSON.stringify(result)}, acknowledged ${value}`,
        ).toBe(true);
      }
      const sample = [...acknowledged.keys()].slice(0, 3);
      for (const key of sample) {
        const read = await reader.request(encodeKvOperation({ op: 'get', key }));
        expect(decodeKvResult(read.result)).toMatchObject({ ok: true });
      }
    } finally {
      await reader.close();
    }
    expect(acks).toBeGreaterThan(killedAt + 30);
    console.log(
      `e2e: ${acks} acknowledged writes, ${timeouts} timed out, final sequence ${converged[0]?.executedSequence}`,
    );
  }, 300_000);
});
