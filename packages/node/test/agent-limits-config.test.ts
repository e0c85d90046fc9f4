/** `agentLimits` in cluster.json: defaults when absent, a clear CONFIG_INVALID when wrong. */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_AGENT_LIMITS } from '../src/agent-limits.ts';
import { loadClusterFile, resolvedAgentLimits } from '../src/cluster-file.ts';
import { CliError } from '../src/errors.ts';
import { clusterDirs } from './support/cluster-with.ts';

const clusters = clusterDirs();
afterEach(() => clusters.removeAll());
const clusterWith = (value: unknown) => clusters.with('agentLimits', value);

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
