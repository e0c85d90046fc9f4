/**
 * Four real daemons; one registered agent replays a single signed query to every replica as
 * fast as it can for 3 s while an honest agent keeps writing. With the daemon's fair inbox and
 * default `agentLimits`, the flooder is refused (counted under its own name), every honest write
 * completes, and no replica changes view.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { connectAgent } from '@conclave/cli';
import { createQuery, decodeKvResult, encodeKvOperation, nodeCrypto } from '@conclave/core';
import { dialOptions, directoryOf, loadSecretKey } from '@conclave/node';
import { agentPeer, replicaPeer, webSocketTransport } from '@conclave/transport';
import { afterAll, describe, expect, it } from 'vitest';
import {
  makeCluster,
  metricsOf,
  metricValue,
  type RunningReplica,
  startReplica,
  statusOf,
  stopReplica,
  waitFor,
} from './support.ts';

const FLOOD_MS = 3_000;
const REPLICAS = [0, 1, 2, 3];
const running: RunningReplica[] = [];
let clusterDir = '';

afterAll(async () => {
  await Promise.all(running.map((r) => stopReplica(r, 'SIGKILL')));
  if (clusterDir !== '') rmSync(dirname(clusterDir), { recursive: true, force: true });
});

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('an agent flooding replayed queries', () => {
  it('is refused under its own name, and costs honest agents no view change', async () => {
    const { dir, file } = await makeCluster(4, 2, {}, 'kv');
    clusterDir = dir;
    for (const id of REPLICAS) running.push(startReplica(dir, id, ['--log-level', 'error']));
    await waitFor(
      'all replicas up',
      async () =>
        (await Promise.all(REPLICAS.map((id) => statusOf(dir, id)))).every(Boolean) ? true : undefined,
      30_000,
    );
    const honest = await connectAgent({ dir, agent: 'agent-0' });
    const put = async (key: string) =>
      decodeKvResult((await honest.request(encodeKvOperation({ op: 'put', key, value: 'v' }))).result);
    expect(await put('before')).toMatchObject({ ok: true });
    // Settled in one view first (start-up on a loaded machine may cost a view change; not ours).
    const settled = await waitFor(
      'every replica executed the first write in one view',
      async () => {
        const statuses = await Promise.all(REPLICAS.map((id) => statusOf(dir, id)));
        if (statuses.some((s) => s === undefined || s.executedSequence < 1 || s.changingView))
          return undefined;
        const views = new Set(statuses.map((s) => s?.view));
        return views.size === 1 ? statuses[0]?.view : undefined;
      },
      30_000,
    );

    const flooder = file.agents[1];
    if (flooder === undefined) throw new Error('the cluster has two agents');
    const crypto = nodeCrypto();
    const secretKey = loadSecretKey(dir, flooder.id, flooder.publicKey);
    const transport = webSocketTransport({
      identity: { peer: agentPeer(flooder.id), secretKey },
      directory: directoryOf(file),
      crypto,
      ...dialOptions(dir, file),
    });
    await transport.start();
    await waitFor(
      'flooder connected to every replica',
      () => (REPLICAS.every((id) => transport.connected().includes(replicaPeer(id))) ? true : undefined),
      10_000,
    );
    // One signature, replayed: the attacker pays nothing per frame but the send.
    const { frame } = createQuery(
      { agent: flooder.id, queryId: 1, operation: encodeKvOperation({ op: 'get', key: 'before' }) },
      crypto,
      secretKey,
    );

    let floodSent = 0;
    const floodUntil = performance.now() + FLOOD_MS;
    const flood = (async () => {
      while (performance.now() < floodUntil) {
        for (let i = 0; i < 100; i++)
          for (const id of REPLICAS) if (transport.send(replicaPeer(id), frame) === 'queued') floodSent++;
        await new Promise((next) => setImmediate(next));
      }
    })();
    const latenciesMs: number[] = [];
    let writes = 0;
    while (performance.now() < floodUntil) {
      const started = performance.now();
      expect(await put(`during-${writes++}`)).toMatchObject({ ok: true });
      latenciesMs.push(performance.now() - started);
    }
    await flood;
    expect(await put('after')).toMatchObject({ ok: true });

    const texts = await Promise.all(REPLICAS.map((id) => metricsOf(dir, id)));
    const refused = sum(
      texts.map((text) => metricValue(text, 'conclave_agent_refused_total', `agent="${flooder.id}"`)),
    );
    const honestRefused = sum(
      texts.map((text) => metricValue(text, 'conclave_agent_refused_total', 'agent="agent-0"')),
    );
    latenciesMs.sort((a, b) => a - b);
    console.log(
      `flood: ${floodSent} frames sent, ${refused} refused; honest: ${writes} writes, ` +
        `p50 ${Math.round(latenciesMs[Math.floor(latenciesMs.length / 2)] ?? 0)} ms, ` +
        `max ${Math.round(latenciesMs.at(-1) ?? 0)} ms`,
    );
    expect(refused).toBeGreaterThan(0);
    expect(honestRefused).toBe(0);
    expect(writes).toBeGreaterThan(0);
    for (const text of texts) expect(metricValue(text, 'conclave_view')).toBe(settled);
    await transport.close();
    await honest.close();
  }, 90_000);
});
