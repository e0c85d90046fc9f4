import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeReceipt, fromHex, nodeCrypto, verifyReceipt } from '@conclave/core';
import { clusterConfigOf } from '@conclave/node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  makeCluster,
  type RunningReplica,
  runConclave,
  startReplica,
  statusOf,
  stopReplica,
  waitFor,
} from './support.ts';

const running: RunningReplica[] = [];
let clusterDir = '';
afterAll(async () => {
  await Promise.all(running.map((r) => stopReplica(r, 'SIGKILL')));
  if (clusterDir !== '') rmSync(dirname(clusterDir), { recursive: true, force: true });
});

const conclave = (...args: string[]) => runConclave(args, 30_000);

describe('the conclave CLI against real daemons', () => {
  it('kv put/get in every consistency and status, as JSON', async () => {
    const { dir, file } = await makeCluster(4, 2);
    clusterDir = dir;
    for (let id = 0; id < 4; id++) running.push(startReplica(dir, id));
    await waitFor(
      'replicas up',
      async () =>
        (await Promise.all([0, 1, 2, 3].map((id) => statusOf(dir, id)))).every(Boolean) ? true : undefined,
      30_000,
    );

    const put = await conclave('kv', 'put', 'release', 'v1.4', '--dir', dir, '--agent', '0', '--json');
    expect(put.status, put.stderr).toBe(0);
    const written = JSON.parse(put.stdout.trim().split('\n').at(-1) as string);
    expect(written).toMatchObject({ key: 'release', value: 'v1.4', version: 1, receiptVerified: true });
    // The printed receipt checks offline, independently of the CLI.
    const receipt = decodeReceipt(fromHex(written.receipt));
    expect(receipt && verifyReceipt(receipt, clusterConfigOf(file), nodeCrypto()).ok).toBe(true);

    for (const consistency of ['linearizable', 'quorum', 'local']) {
      const get = await conclave(
        'kv',
        'get',
        'release',
        '--dir',
        dir,
        '--agent',
        '1',
        '--consistency',
        consistency,
        '--json',
      );
      expect(get.status, get.stderr).toBe(0);
      expect(JSON.parse(get.stdout.trim())).toMatchObject({
        key: 'release',
        value: 'v1.4',
        version: 1,
        consistency,
      });
    }

    const status = await conclave('status', '--dir', dir, '--json');
    expect(status.status).toBe(0);
    const parsed = JSON.parse(status.stdout.trim()) as { replicas: Record<string, unknown>[] };
    expect(parsed.replicas).toHaveLength(4);
    for (const [id, replica] of parsed.replicas.entries()) {
      if (replica.view !== 0) for (const r of running) console.error(`--- replica ${r.id}\n${r.output}`);
      expect(replica).toMatchObject({ id, reachable: true, view: 0 });
      expect(replica.executedSequence).toEqual(expect.any(Number));
      expect(replica.stableCheckpoint).toEqual(expect.any(Number));
      expect(replica.stateDigest).toMatch(/^[0-9a-f]{64}$/);
    }
  }, 120_000);
});
