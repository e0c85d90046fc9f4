import { decodeKvResult, encodeKvOperation, KvStateMachine, verifyReceipt } from '@conclave/core';
import { lyingQueryReplies, lyingReplies, silent } from '@conclave/harness';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AbortedError,
  ClosedError,
  type InProcessCluster,
  type InProcessClusterOptions,
  NoQuorumError,
  startInProcessCluster,
  TimeoutError,
} from '../src/index.ts';

const clusters: InProcessCluster[] = [];
afterEach(async () => {
  for (const cluster of clusters.splice(0)) await cluster.stop();
});

async function kvCluster(options: InProcessClusterOptions = {}): Promise<InProcessCluster> {
  const cluster = await startInProcessCluster({
    stateMachine: ({ crypto }) => new KvStateMachine(crypto.hash),
    ...options,
  });
  clusters.push(cluster);
  return cluster;
}

const put = (key: string, value: string) => encodeKvOperation({ op: 'put', key, value });
const get = (key: string) => encodeKvOperation({ op: 'get', key });

describe('the SDK client', () => {
  it('orders a request, accepts f+1 matching answers, and returns a receipt that verifies offline', async () => {
    const cluster = await kvCluster();
    const client = await cluster.connect('agent-0');
    const written = await client.requestWithReceipt(put('color', 'blue'));
    expect(decodeKvResult(written.result)).toEqual({ ok: true, value: 'blue', version: 1 });
    expect(written.replicas.length).toBeGreaterThanOrEqual(client.f + 1);
    expect(verifyReceipt(written.receipt, cluster.cluster, cluster.crypto).ok).toBe(true);
    const read = await client.query(get('color'), 'quorum');
    expect(decodeKvResult(read.result)).toMatchObject({ value: 'blue' });
    expect(read.replicas.length).toBeGreaterThanOrEqual(2 * client.f + 1);
    const local = await client.query(get('color'), 'local', { replica: 2 });
    expect(local.replicas).toEqual([2]);
    await client.close();
  });

  it('is not fooled by a Byzantine replica that lies in its (validly signed) replies', async () => {
    const cluster = await kvCluster({ byzantine: { 1: lyingReplies } });
    const client = await cluster.connect('agent-1');
    for (let i = 0; i < 5; i++) {
      const result = await client.request(put('k', `v${i}`));
      expect(decodeKvResult(result.result)).toMatchObject({ ok: true, value: `v${i}` });
      expect(result.replicas).not.toContain(1);
    }
    await client.close();
  });

  it('goes around a silent primary: broadcasts after the primary timeout, the cluster changes view', async () => {
    const cluster = await kvCluster({
      byzantine: { 0: silent },
      protocol: { requestTimeoutTicks: 40, heartbeatTicks: 20 },
    });
    const client = await cluster.connect('agent-0', {
      retry: { primaryTimeoutMs: 50, resendIntervalMs: 200 },
    });
    const result = await client.request(put('k', 'v'), { timeoutMs: 10_000 });
    expect(decodeKvResult(result.result)).toMatchObject({ ok: true });
    expect(cluster.status(1).view).toBeGreaterThanOrEqual(1);
    expect(client.view).toBeGreaterThanOrEqual(1);
    await client.close();
  });

  it('times out with a typed error when f+1 replicas cannot answer', async () => {
    const cluster = await kvCluster({ byzantine: { 0: silent, 1: silent } });
    const client = await cluster.connect('agent-0', { connectTimeoutMs: 2_000 });
    const error = await client.request(put('k', 'v'), { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).code).toBe('TIMEOUT');
    await client.close();
  });

  it('honours an AbortSignal, before sending and while waiting', async () => {
    const cluster = await kvCluster({ byzantine: { 0: silent, 1: silent } });
    const client = await cluster.connect('agent-0');
    const aborted = AbortSignal.abort(new Error('changed my mind'));
    await expect(client.request(put('k', 'v'), { signal: aborted })).rejects.toBeInstanceOf(AbortedError);
    const controller = new AbortController();
    const pending = client.request(put('k', 'v'), { signal: controller.signal, timeoutMs: 5_000 });
    setTimeout(() => controller.abort(), 50);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as AbortedError).code).toBe('ABORTED');
    await client.close();
  });

  it('rejects calls in flight with ClosedError when closed', async () => {
    const cluster = await kvCluster({ byzantine: { 0: silent, 1: silent } });
    const client = await cluster.connect('agent-0');
    const pending = client.request(put('k', 'v'), { timeoutMs: 5_000 });
    await client.close();
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    await expect(client.request(put('k', 'v'))).rejects.toBeInstanceOf(ClosedError);
  });

  it('asks again when a quorum read disagrees for a moment, and gives NoQuorumError if it goes on', async () => {
    // Two replicas lie in their first two query replies: two rounds without 2f+1 agreeing.
    const cluster = await kvCluster({ byzantine: { 1: lyingQueryReplies(2), 2: lyingQueryReplies(2) } });
    const client = await cluster.connect('agent-0');
    await client.request(put('color', 'blue'));
    const read = await client.query(get('color'), 'quorum');
    expect(decodeKvResult(read.result)).toMatchObject({ value: 'blue' });
    await client.close();

    const liars = await kvCluster({
      byzantine: {
        1: lyingQueryReplies(Number.POSITIVE_INFINITY),
        2: lyingQueryReplies(Number.POSITIVE_INFINITY),
      },
    });
    const other = await liars.connect('agent-0');
    const error = await other.query(get('color'), 'quorum').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoQuorumError);
    expect((error as Error).message).toMatch(/no 3 agreed, in 4 rounds/);
    await other.close();
  });

  it('with a replica down, asks again once the others disagree, instead of waiting out the timeout', async () => {
    const cluster = await kvCluster({ byzantine: { 1: lyingQueryReplies(2), 3: silent } });
    const client = await cluster.connect('agent-0');
    await client.request(put('color', 'blue'));
    // Replicas 0 and 2 agree, 1 lies and 3 never answers: no round reaches 3 until 1 stops lying.
    const read = await client.query(get('color'), 'quorum', { timeoutMs: 5_000 });
    expect(decodeKvResult(read.result)).toMatchObject({ value: 'blue' });
    expect([...read.replicas].sort()).toEqual([0, 1, 2]);
    await client.close();
  });

  it('fails to connect with NoQuorumError when fewer than f+1 replicas are reachable', async () => {
    const cluster = await kvCluster();
    await cluster.stop();
    clusters.splice(clusters.indexOf(cluster), 1);
    await expect(cluster.connect('agent-0', { connectTimeoutMs: 200 })).rejects.toBeInstanceOf(NoQuorumError);
  });
});
