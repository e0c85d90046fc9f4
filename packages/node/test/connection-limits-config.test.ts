/** `connectionLimits` in cluster.json: the transport's defaults when absent, a clear CONFIG_INVALID when wrong. */
import { afterEach, describe, expect, it } from 'vitest';
import { connectionOptionsOf, loadClusterFile } from '../src/cluster-file.ts';
import { CliError } from '../src/errors.ts';
import { clusterDirs } from './support/cluster-with.ts';

const clusters = clusterDirs();
afterEach(() => clusters.removeAll());
const clusterWith = (value: unknown) => clusters.with('connectionLimits', value);

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
