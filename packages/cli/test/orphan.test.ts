/**
 * A replica started by `startReplica` (tests, benchmarks, the demo, chaos) stops by itself when
 * the process that started it dies, even by SIGKILL: no orphan daemons left running.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeCluster, ROOT, startReplica, statusOf, stopReplica, waitFor } from '../src/local-cluster.ts';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('replicas started by startReplica', () => {
  it('still stop promptly and cleanly on SIGTERM (stdin is a pipe they listen to)', async () => {
    const { dir } = await makeCluster(4, 1, {}, 'kv');
    const replica = startReplica(dir, 0, ['--log-level', 'warn']);
    try {
      await waitFor('the replica to serve /status', () => statusOf(dir, 0), 30_000);
      const began = Date.now();
      expect(await stopReplica(replica, 'SIGTERM', 10_000), replica.output).toBe(0);
      expect(Date.now() - began).toBeLessThan(5_000);
    } finally {
      await stopReplica(replica, 'SIGKILL');
      rmSync(dirname(dir), { recursive: true, force: true });
    }
  });

  it('stop when the process that started them is killed with SIGKILL', async () => {
    const { dir } = await makeCluster(4, 1, {}, 'kv');
    const script = `import { startReplica } from ${JSON.stringify(join(ROOT, 'packages/cli/src/local-cluster.ts'))};
const replica = startReplica(${JSON.stringify(dir)}, 0, ['--log-level', 'warn']);
console.log(replica.process.pid);
setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let replicaPid: number | undefined;
    try {
      replicaPid = await waitFor(
        'the replica pid',
        () =>
          new Promise<number | undefined>((done) =>
            parent.stdout?.once('data', (d) => done(Number(String(d).trim()))),
          ),
        30_000,
      );
      await waitFor('the replica to serve /status', () => statusOf(dir, 0), 30_000);
      parent.kill('SIGKILL');
      const pid = replicaPid;
      await waitFor('the orphaned replica to stop', () => (alive(pid) ? undefined : true), 15_000);
      expect(alive(pid)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
      if (replicaPid !== undefined && alive(replicaPid)) process.kill(replicaPid, 'SIGKILL');
      rmSync(dirname(dir), { recursive: true, force: true });
    }
  });
});
