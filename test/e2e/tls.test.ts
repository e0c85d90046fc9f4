/**
 * TLS end to end: with "tls" in cluster.json, replicas listen on wss and agents dial wss; writes
 * work as before, and a client that does not trust the certificate cannot even connect.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connectAgent } from '@conclave/cli';
import { decodeKvResult, encodeKvOperation } from '@conclave/core';
import { type ClusterFile, readListeningAddress } from '@conclave/node';
import { generate } from 'selfsigned';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { makeCluster, type RunningReplica, startReplica, statusOf, stopReplica, waitFor } from './support.ts';

const running: RunningReplica[] = [];
let clusterDir = '';
afterAll(async () => {
  await Promise.all(running.map((r) => stopReplica(r, 'SIGKILL')));
  if (clusterDir !== '') rmSync(dirname(clusterDir), { recursive: true, force: true });
});

describe('TLS between replicas and agents', () => {
  it('carries the protocol over wss when cluster.json configures it', async () => {
    const { dir, file } = await makeCluster(4, 1, {}, 'kv');
    clusterDir = dir;
    const pems = await generate([{ name: 'commonName', value: 'conclave-e2e' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    mkdirSync(join(dir, 'tls'), { mode: 0o700 });
    writeFileSync(join(dir, 'tls', 'ca.pem'), pems.cert);
    for (const replica of file.replicas) {
      writeFileSync(join(dir, 'tls', `replica-${replica.id}.crt`), pems.cert);
      writeFileSync(join(dir, 'tls', `replica-${replica.id}.key`), pems.private, { mode: 0o600 });
    }
    const path = join(dir, 'cluster.json');
    const withTls: ClusterFile = {
      ...(JSON.parse(readFileSync(path, 'utf8')) as ClusterFile),
      tls: { ca: 'tls/ca.pem', cert: 'tls/replica-{id}.crt', key: 'tls/replica-{id}.key' },
    };
    writeFileSync(path, JSON.stringify(withTls, null, 2));
    for (let id = 0; id < 4; id++) running.push(startReplica(dir, id));
    await waitFor(
      'replicas up',
      async () =>
        (await Promise.all([0, 1, 2, 3].map((id) => statusOf(dir, id)))).every(Boolean) ? true : undefined,
      30_000,
    );
    expect(running[0]!.output).toMatch(/"tls":true/);

    const client = await connectAgent({ dir, agent: 'agent-0' });
    try {
      const outcome = await client.request(
        encodeKvOperation({ op: 'put', key: 'secret', value: 'over tls' }),
      );
      expect(decodeKvResult(outcome.result)).toMatchObject({ ok: true, value: 'over tls' });
    } finally {
      await client.close();
    }

    // Plain ws to a wss port fails; wss without trusting the certificate fails too.
    const attempt = (url: string, options: WebSocket.ClientOptions = {}) =>
      new Promise<'open' | 'failed'>((done) => {
        const socket = new WebSocket(url, options);
        socket.once('open', () => {
          socket.terminate();
          done('open');
        });
        socket.once('error', () => done('failed'));
        setTimeout(() => {
          socket.terminate();
          done('failed');
        }, 5_000);
      });
    const port = readListeningAddress(dir, 0)!.port;
    expect(await attempt(`ws://127.0.0.1:${port}`)).toBe('failed');
    expect(await attempt(`wss://127.0.0.1:${port}`)).toBe('failed');
    expect(await attempt(`wss://127.0.0.1:${port}`, { ca: pems.cert })).toBe('open');
  }, 120_000);
});
