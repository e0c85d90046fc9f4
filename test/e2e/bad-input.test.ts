/**
 * A live daemon under bad input: bytes that are not msgpack and well-formed frames with bad
 * signatures from an authenticated agent, unauthenticated garbage, oversized messages, and a
 * flood of connections that never authenticate. Each is rejected and counted in /metrics, the
 * daemon keeps serving writes, and its memory stays bounded.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connectAgent } from '@conclave/cli';
import {
  createRequest,
  decodeKvResult,
  encodeCanonical,
  encodeKvOperation,
  fromHex,
  nodeCrypto,
} from '@conclave/core';
import { dialOptions, directoryOf, loadSecretKey, readListeningAddress } from '@conclave/node';
import type { ConclaveClient } from '@conclave/sdk';
import { agentPeer, replicaPeer, webSocketTransport } from '@conclave/transport';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  makeCluster,
  metricsOf,
  metricValue,
  type RunningReplica,
  startReplica,
  statusOf,
  stopReplica,
  waitFor,
} from './support.ts';

const running: RunningReplica[] = [];
/** Pending handshakes one source address may hold (cluster.json connectionLimits). */
const PER_ADDRESS = 8;
let clusterDir = '';

afterAll(async () => {
  await Promise.all(running.map((r) => stopReplica(r, 'SIGKILL')));
  if (clusterDir !== '') rmSync(dirname(clusterDir), { recursive: true, force: true });
});

describe('a live daemon under bad input', () => {
  it('rejects and counts every kind, keeps serving, and stays within its memory', async () => {
    const { dir, file } = await makeCluster(4, 3, {}, 'kv');
    clusterDir = dir;
    // This test is about the decoder and signature checks: room for mallory's 2,400-frame burst,
    // which default agentLimits would refuse before decoding (agent-flood.test.ts covers that).
    const path = join(dir, 'cluster.json');
    const generous = {
      requestsPerSecond: 100_000,
      readsPerSecond: 100_000,
      burstFrames: 100_000,
      queueFramesMax: 4_096,
    };
    // A smaller per-address share than the default (16), to see cluster.json reach the transport.
    const connectionLimits = { handshakesPendingPerAddressMax: PER_ADDRESS };
    writeFileSync(
      path,
      JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), agentLimits: generous, connectionLimits }),
    );
    for (let id = 0; id < 4; id++) running.push(startReplica(dir, id));
    await waitFor(
      'all replicas up',
      async () =>
        (await Promise.all([0, 1, 2, 3].map((id) => statusOf(dir, id)))).every(Boolean) ? true : undefined,
      30_000,
    );
    const target = 1; // a backup: bad input must not cost a view change either
    const port = readListeningAddress(dir, target)!.port;
    const crypto = nodeCrypto();
    const put = async (client: ConclaveClient, key: string, value: string) =>
      decodeKvResult((await client.request(encodeKvOperation({ op: 'put', key, value }))).result);

    const honest = await connectAgent({ dir, agent: 'agent-0' });
    expect(await put(honest, 'before', '1')).toMatchObject({ ok: true });
    // The cluster settles first: every replica has executed the write, in one view. (Replicas
    // that start far apart on a loaded machine may change view once before they are all
    // connected; that is start-up, not the bad input this test is about.)
    const settled = await waitFor(
      'every replica executed the first write in one view',
      async () => {
        const statuses = await Promise.all([0, 1, 2, 3].map((id) => statusOf(dir, id)));
        if (statuses.some((s) => s === undefined || s.executedSequence < 1)) return undefined;
        const views = new Set(statuses.map((s) => s!.view));
        return views.size === 1 && !statuses.some((s) => s!.changingView) ? statuses[0]!.view : undefined;
      },
      30_000,
    );
    const rssBefore = (await statusOf(dir, target))!.rssBytes;

    // An authenticated (registered) agent that sends junk over its connection.
    const mallory = file.agents[2]!;
    const malloryKey = loadSecretKey(dir, mallory.id, mallory.publicKey);
    const transport = webSocketTransport({
      identity: { peer: agentPeer(mallory.id), secretKey: malloryKey },
      directory: directoryOf(file),
      crypto,
      ...dialOptions(dir, file),
    });
    await transport.start();
    await waitFor(
      'mallory connected',
      () => (transport.connected().includes(replicaPeer(target)) ? true : undefined),
      10_000,
    );
    const junkFrames = 2_000;
    for (let i = 0; i < junkFrames; i++) {
      transport.send(replicaPeer(target), new Uint8Array([0xc1, i & 0xff, 0x00])); // 0xc1 is never valid msgpack
    }
    // Well-formed requests signed by mallory but claiming to be agent-1: naming agent-1's key
    // (bad signature) or naming mallory's own (a key not agent-1's: refused unchecked); and
    // well-formed frames whose signature bytes are garbage.
    const operation = encodeKvOperation({ op: 'put', key: 'stolen', value: 'x' });
    const victim = file.agents[1]!;
    for (let i = 0; i < 200; i++) {
      const forged = createRequest(
        { agent: victim.id, requestId: i + 1, operation, publicKey: fromHex(victim.publicKey) },
        crypto,
        malloryKey,
      );
      transport.send(replicaPeer(target), forged.frame);
      const ownKey = createRequest({ agent: victim.id, requestId: i + 1, operation }, crypto, malloryKey);
      transport.send(replicaPeer(target), ownKey.frame);
      const own = createRequest({ agent: mallory.id, requestId: i + 1, operation }, crypto, malloryKey);
      const garbled = encodeCanonical([own.request.bytes, new Uint8Array(64).fill(i & 0xff), []]);
      transport.send(replicaPeer(target), garbled);
    }
    // Canonical-looking frames that are not canonical (a non-minimal integer).
    transport.send(
      replicaPeer(target),
      new Uint8Array([0x93, 0xc4, 0x01, 0x01, 0xc4, 0x00, 0xdc, 0x00, 0x00]),
    );

    // Unauthenticated: garbage instead of a handshake, an oversized message, and a flood.
    // localAddress: a stranger on a host of its own (Linux routes all of 127/8 to loopback).
    const raw = (payload?: Uint8Array | string, localAddress?: string) =>
      new Promise<void>((done) => {
        const socket = new WebSocket(
          `ws://127.0.0.1:${port}`,
          localAddress === undefined ? {} : { localAddress },
        );
        socket.on('open', () => {
          if (payload !== undefined) socket.send(payload);
        });
        socket.on('error', () => done());
        socket.on('close', () => done());
        setTimeout(() => {
          socket.terminate();
          done();
        }, 3_000);
      });
    await Promise.all([
      raw(new Uint8Array([1, 2, 3, 4])),
      raw('not binary'),
      raw(new Uint8Array(17 * 1024 * 1024)),
    ]);
    // Two floods of 300 sockets that never authenticate: one host's, and a hundred hosts' (three each).
    const oneHost = Array.from({ length: 300 }, () => raw(undefined, '127.0.0.2'));
    const manyHosts = Array.from({ length: 300 }, (_, i) => raw(undefined, `127.0.1.${1 + (i % 100)}`));
    // While the floods hold sockets open, honest writes still succeed.
    expect(await put(honest, 'during', '2')).toMatchObject({ ok: true });
    await Promise.all([...oneHost, ...manyHosts]);

    const metrics = await waitFor(
      'rejections counted',
      async () => {
        const text = await metricsOf(dir, target);
        return metricValue(text, 'conclave_rejected_total', 'reason="MALFORMED"') >= junkFrames
          ? text
          : undefined;
      },
      15_000,
    );
    expect(metricValue(metrics, 'conclave_rejected_total', 'reason="BAD_SIGNATURE"')).toBeGreaterThanOrEqual(
      400,
    );
    expect(metricValue(metrics, 'conclave_rejected_total', 'reason="REVOKED_KEY"')).toBeGreaterThanOrEqual(
      200,
    );
    expect(metricValue(metrics, 'conclave_rejected_total', 'reason="NOT_CANONICAL"')).toBeGreaterThanOrEqual(
      1,
    );
    const transportRejected = (reason: string) =>
      metricValue(metrics, 'conclave_transport_rejected_total', `reason="${reason}"`);
    expect(transportRejected('NOT_BINARY')).toBe(1);
    expect(transportRejected('HANDSHAKE_FAILED')).toBe(1);
    expect(transportRejected('TOO_LARGE')).toBe(1);
    // One host holds at most its share of pending handshakes (PER_ADDRESS); its other sockets are
    // closed before the upgrade. Of all pending handshakes at most 64 wait at once, so the stalest
    // give way to newcomers (evicted, not refused: strangers cannot lock others out).
    expect(transportRejected('ADDRESS_BUSY')).toBeGreaterThanOrEqual(300 - PER_ADDRESS);
    expect(transportRejected('HANDSHAKE_EVICTED')).toBeGreaterThanOrEqual(300 + PER_ADDRESS - 64);
    expect(transportRejected('TOO_MANY_CONNECTIONS')).toBe(0);
    expect(metricValue(metrics, 'conclave_view')).toBe(settled);

    // Still serving, nothing stolen, memory bounded.
    expect(await put(honest, 'after', '3')).toMatchObject({ ok: true });
    const stolen = decodeKvResult(
      (await honest.query(encodeKvOperation({ op: 'get', key: 'stolen' }), 'quorum')).result,
    );
    expect(stolen).toMatchObject({ ok: true, value: null });
    const rssAfter = (await statusOf(dir, target))!.rssBytes;
    expect(rssAfter - rssBefore).toBeLessThan(150 * 1024 * 1024);
    console.log(
      `bad input: rss ${Math.round(rssBefore / 2 ** 20)} MB -> ${Math.round(rssAfter / 2 ** 20)} MB`,
    );
    await transport.close();
    await honest.close();
  }, 120_000);
});
