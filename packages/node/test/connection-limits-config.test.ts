/** `connectionLimits` in cluster.json: the transport's defaults when absent, a clear CONFIG_INVALID when wrong. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectionOptionsOf, initCluster, loadClusterFile } from '../src/cluster-file.ts';
import { CliError } from '../src/errors.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function clusterWith(connectionLimits: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-connection-limits-'));
  dirs.push(dir);
  initCluster({ dir, replicas: 4, agents: 1 });
  const path = join(dir, 'cluster.json');
  const file = JSON.parse(readFileSync(path, 'utf8'));
  writeFileSync(path, JSON.stringify({ ...file, connectionLimits }));
  return dir;
}

describe('connectionLimits in cluster.json', () => {
  it('passes what is set to the transport and leaves the rest to its defaults', () => {
    expect(connectionOptionsOf(loadClusterFile(clusterWith(undefined)))).toEqual({});
    const set = { handshakesPendingPerAddressMax: 48, slowReaderMs: 10_000 };
    expect(connectionOptionsOf(loadClusterFile(clusterWith(set)))).toEqual(set);
  });

  it.each([
    [{ connectionsMax: 0 }, /connectionLimits.connectionsMax/],
    [{ slowReaderMs: 'long' }, /connectionLimits.slowReaderMs/],
    [{ sendQueueBytesMax: 10 }, /not a setting/],
    [{ handshakesPendingMax: 8, handshakesPendingPerAddressMax: 9 }, /handshakesPendingPerAddressMax/],
    [{ handshakesPendingPerAddressMax: 65 }, /handshakesPendingPerAddressMax/],
    ['all', /must be an object/],
  ])('refuses %j with a message naming it', (connectionLimits, message) => {
    const dir = clusterWith(connectionLimits);
    expect(() => loadClusterFile(dir)).toThrow(CliError);
    expect(() => loadClusterFile(dir)).toThrow(message);
  });
});
