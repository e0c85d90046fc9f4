/**
 * The built daemon (`pnpm build`): one JavaScript file that runs without tsx. Built into a
 * directory of its own, it prints the CLI's usage, and four replicas started from it (with a
 * signature worker, whose script is copied beside the bundle) order and execute a request.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connectAgent } from '@conclave/cli';
import { decodeKvResult, encodeKvOperation } from '@conclave/core';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDaemon, DIST } from '../../packages/cli/scripts/build.ts';
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

const outDir = join(DIST, `test-${process.pid}`);
const running: RunningReplica[] = [];
let clusterDir = '';

afterAll(async () => {
  await Promise.all(running.map((r) => stopReplica(r, 'SIGKILL')));
  if (clusterDir !== '') rmSync(dirname(clusterDir), { recursive: true, force: true });
  rmSync(outDir, { recursive: true, force: true });
});

describe('the built daemon', () => {
  it('runs a cluster without a TypeScript loader', async () => {
    const bundle = await buildDaemon(outDir);
    const help = spawnSync(process.execPath, [bundle, '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('conclave start');

    const { dir } = await makeCluster(4, 1, {}, 'kv');
    clusterDir = dir;
    for (let id = 0; id < 4; id++)
      running.push(startReplica(dir, id, ['--verify-workers', '1', '--log-level', 'warn'], { bundle }));
    await waitFor(
      'replicas up',
      async () => {
        const statuses = await Promise.all(running.map((r) => statusOf(dir, r.id)));
        return statuses.every((s) => s !== undefined) ? true : undefined;
      },
      30_000,
    );
    const agent = await connectAgent({ dir, agent: 'agent-0', timeoutMs: 10_000 });
    try {
      const outcome = await agent.request(encodeKvOperation({ op: 'put', key: 'k', value: 'built' }), {
        timeoutMs: 10_000,
      });
      expect(decodeKvResult(outcome.result)).toMatchObject({ ok: true, value: 'built' });
    } finally {
      await agent.close();
    }
    // The worker script was found beside the bundle: the pool is alive and has checked signatures.
    const metrics = await metricsOf(dir, 0);
    expect(metricValue(metrics, 'conclave_verify_workers')).toBe(1);
    expect(metricValue(metrics, 'conclave_signature_checks_total', 'where="pool"')).toBeGreaterThan(0);
    expect(running.map((r) => r.process.exitCode)).toEqual([null, null, null, null]);
  });
});
