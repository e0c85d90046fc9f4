/**
 * `coordination` in cluster.json: a partial CoordinationLimits, checked when the file is read
 * (unknown field, bad value, and whether this many agents at full quota fit a snapshot), and
 * what `conclave init` does with a registry the defaults cannot fit.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_COORDINATION_LIMITS } from '@conclave/coordination';
import { afterEach, describe, expect, it } from 'vitest';
import { initCluster, loadClusterFile, resolvedCoordinationLimits } from '../src/cluster-file.ts';
import { CliError } from '../src/errors.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-coordination-'));
  dirs.push(dir);
  return dir;
}

/** A 4-agent cluster whose file is then given `coordination` and, optionally, `agentCount` agents. */
function clusterWith(coordination: unknown, agentCount?: number, extra: object = {}): string {
  const dir = tempDir();
  initCluster({ dir, replicas: 4, agents: 4 });
  const path = join(dir, 'cluster.json');
  const file = JSON.parse(readFileSync(path, 'utf8'));
  const agents =
    agentCount === undefined
      ? file.agents
      : Array.from({ length: agentCount }, (_, i) => ({
          id: `agent-${i}`,
          publicKey: randomBytes(32).toString('hex'),
        }));
  writeFileSync(path, JSON.stringify({ ...file, ...extra, agents, coordination }));
  return dir;
}

function refusal(action: () => unknown): CliError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).code).toBe('CONFIG_INVALID');
    return error as CliError;
  }
  throw new Error('expected a CONFIG_INVALID refusal');
}

describe('coordination in cluster.json', () => {
  it('is the defaults when absent, and overrides them field by field', () => {
    expect(resolvedCoordinationLimits(loadClusterFile(clusterWith(undefined)))).toEqual(
      DEFAULT_COORDINATION_LIMITS,
    );
    const file = loadClusterFile(clusterWith({ kvKeysPerAgentMax: 2, pageMax: 10 }));
    expect(resolvedCoordinationLimits(file)).toEqual({
      ...DEFAULT_COORDINATION_LIMITS,
      kvKeysPerAgentMax: 2,
      pageMax: 10,
    });
  });

  it.each([
    [{ kvKeysPerAgentMax: 2, kvKeyzPerAgentMax: 3 }, /unknown coordination limit kvKeyzPerAgentMax/],
    [{ kvKeysPerAgentMax: 0 }, /coordination: kvKeysPerAgentMax must be a positive safe integer, got 0/],
    [{ titleBytesMax: 'long' }, /coordination: titleBytesMax must be a positive safe integer, got long/],
    [{ evidencePerAgentMax: 2_000 }, /evidencePerAgentMax \(2000\) must not exceed evidenceMax/],
    [[1, 2], /"coordination" must be an object/],
    [null, /"coordination" must be an object/],
  ])('refuses %j at load, naming the field', (coordination, message) => {
    const dir = clusterWith(coordination);
    expect(refusal(() => loadClusterFile(dir)).message).toMatch(message);
  });

  it('refuses at load a registry that cannot fit at full quota, naming the quotas to lower', () => {
    const dir = clusterWith(undefined, 100);
    const message = refusal(() => loadClusterFile(dir)).message;
    expect(message).toMatch(/100 agents at full quota could fill \d+ snapshot bytes/);
    expect(message).toMatch(
      /proposals weigh most .* lower openProposalsPerAgentMax, retainedProposalsPerAgentMax/,
    );
    expect(message).toMatch(/lower per-agent quotas in the "coordination" object of cluster.json/);
    // The same registry with lower quotas loads, and the daemon's limits are those.
    const lowered = { openProposalsPerAgentMax: 1, retainedProposalsPerAgentMax: 1, votersMax: 16 };
    const file = loadClusterFile(clusterWith(lowered, 100));
    expect(resolvedCoordinationLimits(file)).toMatchObject(lowered);
    // 64 agents fit the defaults (agentsMax, docs/limits.md), and a kv cluster keeps no per-agent state.
    expect(() => loadClusterFile(clusterWith(undefined, 64))).not.toThrow();
    expect(() => loadClusterFile(clusterWith(undefined, 100, { stateMachine: 'kv' }))).not.toThrow();
  });

  it('init refuses, before writing anything, a registry the defaults cannot fit; --coordination makes it fit', () => {
    const dir = join(tempDir(), 'big');
    const message = refusal(() => initCluster({ dir, agents: 100 })).message;
    expect(message).toMatch(/^--agents 100: coordination: 100 agents at full quota/);
    expect(message).toMatch(/pass lower per-agent quotas with --coordination/);
    expect(existsSync(dir)).toBe(false);
    const coordination = { openProposalsPerAgentMax: 1, retainedProposalsPerAgentMax: 1, votersMax: 16 };
    const { cluster } = initCluster({ dir, agents: 100, coordination });
    expect(cluster.coordination).toEqual(coordination);
    expect(resolvedCoordinationLimits(loadClusterFile(dir))).toMatchObject(coordination);
  });
});
