/** `agentLimits` in cluster.json: defaults when absent, a clear CONFIG_INVALID when wrong. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_AGENT_LIMITS } from '../src/agent-limits.ts';
import { initCluster, loadClusterFile, resolvedAgentLimits } from '../src/cluster-file.ts';
import { CliError } from '../src/errors.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function clusterWith(agentLimits: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-limits-'));
  dirs.push(dir);
  initCluster({ dir, replicas: 4, agents: 1 });
  const path = join(dir, 'cluster.json');
  const file = JSON.parse(readFileSync(path, 'utf8'));
  writeFileSync(path, JSON.stringify({ ...file, agentLimits }));
  return dir;
}

describe('agentLimits in cluster.json', () => {
  it('takes defaults for what is absent', () => {
    expect(resolvedAgentLimits(loadClusterFile(clusterWith(undefined)))).toEqual(DEFAULT_AGENT_LIMITS);
    expect(resolvedAgentLimits(loadClusterFile(clusterWith({ requestsPerSecond: 50 })))).toEqual({
      ...DEFAULT_AGENT_LIMITS,
      requestsPerSecond: 50,
    });
  });

  it.each([
    [{ requestsPerSecond: -1 }, /agentLimits.requestsPerSecond/],
    [{ queueFramesMax: 'many' }, /agentLimits.queueFramesMax/],
    [{ framesPerSecond: 10 }, /not a setting/],
    [[1, 2], /must be an object/],
  ])('refuses %j with a message naming it', (agentLimits, message) => {
    const dir = clusterWith(agentLimits);
    expect(() => loadClusterFile(dir)).toThrow(CliError);
    expect(() => loadClusterFile(dir)).toThrow(message);
  });
});
