/** What `conclave mcp` hands the MCP server: the cluster's coordination limits and the HTTP session idle time. */
import { DEFAULT_COORDINATION_LIMITS } from '@conclave/coordination';
import { CliError } from '@conclave/node';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/commands.ts';
import { coordinationLimitsOf } from '../src/coordination-limits.ts';

describe('coordination limits from cluster.json for conclave mcp', () => {
  it('are the defaults when the file has none', () => {
    expect(coordinationLimitsOf({ version: 1 })).toEqual(DEFAULT_COORDINATION_LIMITS);
  });

  it("carry the cluster's overrides over the defaults", () => {
    const limits = coordinationLimitsOf({ version: 1, coordination: { titleBytesMax: 32, pageMax: 10 } });
    expect(limits).toEqual({ ...DEFAULT_COORDINATION_LIMITS, titleBytesMax: 32, pageMax: 10 });
  });

  it('refuse what the replicas would refuse, an unknown name and a non-object, as CONFIG_INVALID', () => {
    const cases: [unknown, RegExp][] = [
      [{ titleBytesMax: 0 }, /coordination: titleBytesMax must be a positive safe integer/],
      [{ evidencePerAgentMax: 2_000, evidenceMax: 10 }, /must not exceed evidenceMax/],
      [{ titelBytesMax: 32 }, /unknown coordination limit titelBytesMax/],
      [[1, 2], /"coordination" must be an object/],
      [null, /"coordination" must be an object/],
    ];
    for (const [coordination, message] of cases) {
      let thrown: unknown;
      try {
        coordinationLimitsOf({ version: 1, coordination });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(CliError);
      expect((thrown as CliError).code).toBe('CONFIG_INVALID');
      expect((thrown as CliError).message).toMatch(message);
    }
  });
});

describe('conclave mcp --session-idle-minutes', () => {
  async function usageErrorOf(argv: string[]): Promise<{ exitCode: unknown; stderr: string }> {
    let stderr = '';
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => {
      stderr += chunk;
      return true;
    }) as typeof process.stderr.write;
    try {
      await runCli(argv);
      return { exitCode: process.exitCode, stderr };
    } finally {
      process.stderr.write = write;
      process.exitCode = undefined;
    }
  }

  it('is refused without --http, and unless a positive whole number, before the cluster is read', async () => {
    const base = ['mcp', '--dir', '/nonexistent-cluster', '--agent', '0'];
    expect(await usageErrorOf([...base, '--session-idle-minutes', '5'])).toEqual({
      exitCode: 2,
      stderr: expect.stringContaining('--session-idle-minutes needs --http PORT'),
    });
    expect(await usageErrorOf([...base, '--http', '0', '--session-idle-minutes', '0'])).toEqual({
      exitCode: 2,
      stderr: expect.stringContaining('--session-idle-minutes takes a positive number of minutes, got 0'),
    });
  });
});
