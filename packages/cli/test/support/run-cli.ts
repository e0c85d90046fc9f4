/**
 * Running the `conclave` command from the sources in tests, and what every refusal must look
 * like to a person: one line on stderr, starting with "error:", no stack trace.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { CliRun } from '../../src/local-cluster.ts';
import { ROOT } from '../../src/local-cluster.ts';

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
