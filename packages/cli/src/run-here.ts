/**
 * Runs a `conclave` command inside this process, capturing what it prints and its exit status:
 * for tests that run many commands, where a process each costs seconds of start-up (node + tsx)
 * and tells nothing more. The command's code is the same; `runConclave` runs the real binary.
 * Not reentrant: one command at a time per process (it borrows process.stdout, stderr, exitCode).
 */
import { runCli } from './commands.ts';
import type { CliRun } from './local-cluster.ts';

export async function runConclaveHere(args: readonly string[]): Promise<CliRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  const exitCodeBefore = process.exitCode;
  process.stdout.write = ((chunk: string | Uint8Array) => stdout.push(String(chunk)) > 0) as typeof writeOut;
  process.stderr.write = ((chunk: string | Uint8Array) => stderr.push(String(chunk)) > 0) as typeof writeErr;
  process.exitCode = undefined;
  try {
    await runCli([...args]);
    return { status: Number(process.exitCode ?? 0), stdout: stdout.join(''), stderr: stderr.join('') };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    process.exitCode = exitCodeBefore;
  }
}
