/**
 * Running the `conclave` command from the sources in tests, and what every refusal must look
 * like to a person: one line on stderr, starting with "error:", no stack trace.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import {
  type CliRun,
  makeCluster,
  ROOT,
  type RunningReplica,
  startReplica,
  statusOf,
  stopReplica,
  waitFor,
} from '../../src/local-cluster.ts';

export { type CliRun, runConclave } from '../../src/local-cluster.ts';

/** Runs `conclave ARGS…` and waits for it (synchronously); killed after `timeoutMs`. */
export function conclaveSync(args: readonly string[], timeoutMs = 30_000): CliRun {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'packages/cli/src/cli.ts'), ...args],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: timeoutMs,
    },
  );
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A refusal as a person meets it: one line on stderr, "error: …" matching `pattern`, no stack trace. */
export function expectOneLineError(run: CliRun, pattern: RegExp): void {
  const lines = run.stderr.trim().split('\n');
  expect(lines[0], run.stderr).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

/** A refusal with exit `status`, as `expectOneLineError` describes it. */
export function expectRefused(run: CliRun, status: number, pattern: RegExp): void {
  expect(run.status, run.stdout).toBe(status);
  expectOneLineError(run, pattern);
}

/** A command that succeeded (the output is shown when it did not). */
export function expectOk(run: CliRun): void {
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
}

/** The last line of stdout, parsed: a `--json` command's result. */
export const lastJson = (run: CliRun) => JSON.parse(run.stdout.trim().split('\n').at(-1) as string);

/** Four daemons of a fresh local cluster, and how to stop them (SIGKILL) and remove their directory. */
export interface LocalDaemons {
  readonly dir: string;
  readonly stop: () => Promise<void>;
}

/** Starts four daemons on a fresh cluster (4 agents) and waits, up to 60 s, until each answers its status. */
export async function startFourDaemons(): Promise<LocalDaemons> {
  const { dir } = await makeCluster(4, 4);
  const running: RunningReplica[] = [];
  const stop = async () => {
    await Promise.all(running.map((r) => stopReplica(r, 'SIGKILL')));
    rmSync(dirname(dir), { recursive: true, force: true });
  };
  for (let id = 0; id < 4; id++) running.push(startReplica(dir, id));
  await waitFor(
    'replicas up',
    async () =>
      (await Promise.all([0, 1, 2, 3].map((id) => statusOf(dir, id)))).every(Boolean) ? true : undefined,
    60_000,
  ).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { dir, stop };
}
