/**
 * cluster.json `coordination` reaches every replica: real daemons started from a cluster file
 * that lowers `kvKeysPerAgentMax` to 2 refuse an agent's third key with QUOTA (the default, 32,
 * would take it), and an agent cannot create a key under another agent's reserved prefix.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { connectAgent } from '@conclave/cli';
import { decodeResult, ops } from '@conclave/coordination';
import { afterAll, describe, expect, it } from 'vitest';
import { makeCluster, type RunningReplica, startReplica, statusOf, stopReplica, waitFor } from './support.ts';

const running: RunningReplica[] = [];
let clusterDir = '';

afterAll(async () => {
  await Promise.all(running.map((r) => stopReplica(r, 'SIGKILL')));
  if (clusterDir !== '') rmSync(dirname(clusterDir), { recursive: true, force: true });
});

describe('cluster.json coordination limits on real daemons', () => {
  it('a lowered kv-keys quota is enforced by the cluster', async () => {
    const { dir } = await makeCluster(4, 2, {}, 'coordination', { kvKeysPerAgentMax: 2 });
    clusterDir = dir;
    for (let id = 0; id < 4; id++) running.push(startReplica(dir, id));
    await waitFor(
      'all replicas up',
      async () =>
        (await Promise.all([0, 1, 2, 3].map((id) => statusOf(dir, id)))).every(Boolean) || undefined,
      30_000,
    );
    const agent = await connectAgent({ dir, agent: 'agent-0', timeoutMs: 10_000 });
    try {
      const put = async (key: string) =>
        decodeResult(
          (await agent.request(ops.kvPut({ key, value: new Uint8Array([1]) }), { timeoutMs: 10_000 })).result,
        );
      expect(await put('agent-0/a')).toMatchObject({ ok: true });
      expect(await put('agent-0/b')).toMatchObject({ ok: true });
      expect(await put('agent-0/c')).toMatchObject({ ok: false, code: 'QUOTA', resource: 'kv-keys' });
      expect(await put('agent-1/squat')).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    } finally {
      await agent.close();
    }
  }, 60_000);
});
