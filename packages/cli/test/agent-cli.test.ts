import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  makeCluster,
  type RunningReplica,
  startReplica,
  statusOf,
  stopReplica,
  waitFor,
} from '../src/local-cluster.ts';
import { runConclaveHere } from '../src/run-here.ts';
import type { CliRun } from './support/run-cli.ts';

const running: RunningReplica[] = [];
let clusterDir = '';
afterAll(async () => {
  await Promise.all(running.map((r) => stopReplica(r, 'SIGKILL')));
  if (clusterDir !== '') rmSync(dirname(clusterDir), { recursive: true, force: true });
});

type Run = CliRun;

// In this process: the same command code, without seconds of node + tsx start-up per call
// (cli.test.ts runs the real binary). One at a time: it borrows stdout, stderr and exitCode.
const conclave = (...args: string[]) => runConclaveHere(args);

const lastJson = (run: Run) => JSON.parse(run.stdout.trim().split('\n').at(-1) as string);

function expectOk(run: Run): void {
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
}

/** Fails with one line on stderr, starting with "error:", no stack trace. */
function expectOneLineError(run: Run, pattern: RegExp): void {
  expect(run.status, run.stdout).toBe(1);
  const lines = run.stderr.trim().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
}

describe('conclave agent and proposal against real daemons', () => {
  it('registers dave by a council vote; dave writes, rotates its key, writes again; once removed it is refused', async () => {
    const { dir } = await makeCluster(4, 4);
    clusterDir = dir;
    for (let id = 0; id < 4; id++) running.push(startReplica(dir, id));
    await waitFor(
      'replicas up',
      async () =>
        (await Promise.all([0, 1, 2, 3].map((id) => statusOf(dir, id)))).every(Boolean) ? true : undefined,
      60_000,
    );
    const at = ['--dir', dir];

    expectOk(await conclave('keygen', '--agent', 'dave', '--out', dir));
    const unknown = await conclave('kv', 'put', 'dave/x', '1', ...at, '--agent', 'dave');
    expectOneLineError(unknown, /UNKNOWN_AGENT/);

    // agent-0 proposes; the council (4 members, threshold 3) approves.
    const added = await conclave(
      'agent',
      'add',
      join(dir, 'dave.join.json'),
      '--as',
      '0',
      '--proposal',
      'add-dave',
      ...at,
    );
    expectOk(added);
    expect(added.stdout).toMatch(/proposed add-dave: register agent dave/);
    expect(added.stdout).toMatch(/conclave proposal vote add-dave approve/);
    await approve('add-dave', at);
    const shown = await conclave('proposal', 'show', 'add-dave', '--as', '3', ...at, '--json');
    expectOk(shown);
    expect(lastJson(shown)).toMatchObject({
      status: 'approved',
      action: { kind: 'register_agent', agent: 'dave' },
      actionOutcome: { status: 'executed' },
    });

    expectOk(await conclave('kv', 'put', 'dave/x', '1', ...at, '--agent', 'dave'));

    const keyFile = join(dir, 'keys', 'dave.secret');
    const before = readFileSync(keyFile, 'utf8');
    const rotated = await conclave('agent', 'rotate', '--as', 'dave', ...at, '--json');
    expectOk(rotated);
    expect(readFileSync(keyFile, 'utf8')).not.toBe(before);
    expect(existsSync(`${keyFile}.old`)).toBe(false);
    // The record after the rotation: the old key's interval closed where the new one's opens.
    const dave = lastJson(rotated);
    expect(dave).toMatchObject({ id: 'dave', removed: false });
    expect(dave.keys).toHaveLength(2);
    expect(dave.keys[0].until).toBe(dave.keys[1].from);
    expect(dave.keys[1].until).toBeNull();
    expectOk(await conclave('kv', 'put', 'dave/x', '2', ...at, '--agent', 'dave'));

    expectOk(await conclave('agent', 'remove', 'dave', '--as', '1', '--proposal', 'remove-dave', ...at));
    await approve('remove-dave', at, false);
    const removed = await conclave('kv', 'put', 'dave/x', '3', ...at, '--agent', 'dave');
    expectOneLineError(removed, /UNKNOWN_AGENT/);
  });
});

/**
 * Three council members approve (the third vote's step executes the action, so it has once the
 * votes return); `proposal wait` then exits 0 (approved and executed).
 */
async function approve(proposalId: string, at: string[], wait = true): Promise<void> {
  for (const member of ['0', '1', '2'])
    expectOk(await conclave('proposal', 'vote', proposalId, 'approve', '--as', member, ...at));
  if (wait) expectOk(await conclave('proposal', 'wait', proposalId, '--as', '3', ...at, '--timeout', '20'));
}
