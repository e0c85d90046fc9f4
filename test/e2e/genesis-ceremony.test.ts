import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMembership } from './membership-flow.ts';
import {
  type RunningReplica,
  runConclaveHere,
  startReplica,
  statusOf,
  stopReplica,
  waitFor,
} from './support.ts';

const work = mkdtempSync(join(tmpdir(), 'conclave-ceremony-'));
const running: RunningReplica[] = [];
afterAll(async () => {
  await Promise.all(running.map((r) => stopReplica(r, 'SIGKILL')));
  rmSync(work, { recursive: true, force: true });
});

// In this process: the same command code, without seconds of node + tsx start-up per call
// (cli.test.ts runs the real binary). One at a time: it borrows stdout, stderr and exitCode.
const conclave = (...args: string[]) => runConclaveHere(args);

async function ok(...args: string[]): Promise<string> {
  const result = await conclave(...args);
  expect(result.status, `conclave ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

/**
 * Join statements sign a fixed port, so these replicas cannot take port 0. The ports are drawn
 * below Linux's ephemeral range (32768+), where the other tests' port-0 listeners and every
 * outgoing connection land, and away from cli.test.ts's fixed 23400-23700; nothing is bound to
 * find them.
 */
const BASE_PORT = 24_000 + Math.floor(Math.random() * 8_000);

describe('a cluster from a genesis ceremony', () => {
  it('four keygens, assemble, four signatures, four daemons, kv put/get', async () => {
    const operators = [0, 1, 2, 3].map((id) => join(work, `operator-${id}`));
    const agentDir = join(work, 'alice');
    const coordinator = join(work, 'coordinator');
    mkdirSync(coordinator);
    for (const [id, dir] of operators.entries()) {
      await ok(
        'keygen',
        '--replica',
        String(id),
        '--host',
        '127.0.0.1',
        '--port',
        String(BASE_PORT + id),
        '--out',
        dir,
      );
    }
    await ok('keygen', '--agent', 'alice', '--out', agentDir);
    // Only the public statements travel to the coordinator.
    const statements = [
      ...operators.map((dir, id) => join(dir, `replica-${id}.join.json`)),
      join(agentDir, 'alice.join.json'),
    ];
    const genesis = join(coordinator, 'genesis.json');
    const assembled = await ok(
      'genesis',
      'assemble',
      ...statements,
      '--out',
      genesis,
      '--council',
      'alice',
      '--threshold',
      '1',
    );
    const hash = /hash ([0-9a-f]{64})/.exec(assembled)?.[1] as string;
    expect(hash).toMatch(/^[0-9a-f]{64}$/);

    // Each operator signs the current file with the key in its own directory, then passes it on.
    for (const [id, dir] of operators.entries()) {
      copyFileSync(genesis, join(dir, 'genesis.json'));
      const signed = await ok(
        'genesis',
        'sign',
        join(dir, 'genesis.json'),
        '--key',
        join(dir, 'keys', `replica-${id}.secret`),
      );
      expect(signed).toMatch(`signed as replica ${id}: ${id + 1} of 4`);
      copyFileSync(join(dir, 'genesis.json'), genesis);
      if (id === 0) {
        const early = await conclave('start', '--dir', dir, '--replica', '0', '--genesis-hash', hash);
        expect(early.status).toBe(1);
        expect(early.stderr.trim()).toMatch(
          /^error: .*not signed by every replica operator yet \(missing: replica 1, 2, 3\)/,
        );
        expect(early.stderr.trim().split('\n')).toHaveLength(1);
      }
    }
    const verified = await ok('genesis', 'verify', genesis, '--genesis-hash', hash);
    expect(verified).toMatch(`hash ${hash}`);
    expect(verified).toMatch(/signed by replica 0, 1, 2, 3; not yet by replica none/);

    for (const [id, dir] of operators.entries()) {
      copyFileSync(genesis, join(dir, 'genesis.json'));
      running.push(startReplica(dir, id, ['--genesis-hash', hash]));
    }
    await waitFor(
      'four replicas up from the genesis',
      async () => {
        const exited = running.find((r) => r.process.exitCode !== null);
        if (exited !== undefined) throw new Error(`replica ${exited.id} exited:\n${exited.output}`);
        const statuses = await Promise.all(operators.map((dir, id) => statusOf(dir, id)));
        return statuses.every(Boolean) ? true : undefined;
      },
      30_000,
    );

    copyFileSync(genesis, join(agentDir, 'genesis.json'));
    const put = await ok('kv', 'put', 'release', 'v1', '--dir', agentDir, '--agent', 'alice', '--json');
    expect(JSON.parse(put.trim().split('\n').at(-1) as string)).toMatchObject({
      key: 'release',
      value: 'v1',
      receiptVerified: true,
    });
    const get = await ok('kv', 'get', 'release', '--dir', agentDir, '--agent', 'alice', '--json');
    expect(JSON.parse(get.trim())).toMatchObject({ key: 'release', value: 'v1' });
    ceremony = { operators, agentDir, hash };
  }, 300_000);

  it('membership at run time: add, rotate, remove, and every replica restarted keeps the registry', async () => {
    expect(ceremony, 'the ceremony test above must have started the cluster').toBeDefined();
    const { operators, agentDir, hash } = ceremony as NonNullable<typeof ceremony>;
    const membership = await runMembership(operators[0] as string, agentDir);
    // Every replica restarted in turn comes back with the same registry, and the cluster serves.
    for (const [id, dir] of operators.entries()) {
      await stopReplica(running[id] as RunningReplica, 'SIGKILL');
      running[id] = startReplica(dir, id, ['--genesis-hash', hash]);
      await waitFor(`replica ${id} back`, () => statusOf(dir, id), 30_000);
      expect(await membership.registryAt(id)).toEqual(membership.registry);
    }
    await membership.close();
  }, 300_000);
});

let ceremony: { operators: string[]; agentDir: string; hash: string } | undefined;
