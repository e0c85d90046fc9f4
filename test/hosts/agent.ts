/**
 * The agents' host: runs inside the agents' namespace (`ip netns exec NS node --import tsx
 * agent.ts DIR AGENT…`), one SDK client per agent, and obeys one JSON command per stdin line,
 * answering one JSON line on stdout:
 *
 *   {"cmd":"bench","writes":N}   closed loop, every client writing until N puts are acknowledged
 *                                 → {"latenciesMs":[…],"elapsedMs":E,"failed":F}
 *   {"cmd":"stream-start"}       every client writes, one put at a time, until stopped → {"ok":true}
 *   {"cmd":"stream-stop"}        → {"writes":[{"sentAt","ackedAt"}…],"failed":F} (epoch ms)
 *
 * Exits when stdin closes.
 */
import { createInterface } from 'node:readline';
import { connectAgent } from '@conclave/cli';
import { encodeKvOperation } from '@conclave/core';
import type { ConclaveClient } from '@conclave/sdk';

const [dir, ...agents] = process.argv.slice(2);
if (dir === undefined || agents.length === 0) throw new Error('usage: agent.ts DIR AGENT…');

/** A write the cluster does not acknowledge in this long counts as failed (it may still execute). */
const WRITE_TIMEOUT_MS = 30_000;

const clients: ConclaveClient[] = await Promise.all(
  agents.map((agent) => connectAgent({ dir, agent, timeoutMs: WRITE_TIMEOUT_MS, connectTimeoutMs: 30_000 })),
);
let counter = 0;

async function put(client: ConclaveClient): Promise<void> {
  counter += 1;
  await client.request(
    encodeKvOperation({ op: 'put', key: `${client.agent}/k${counter % 16}`, value: `v${counter}` }),
  );
}

async function bench(writes: number): Promise<object> {
  const latenciesMs: number[] = [];
  let failed = 0;
  let started = 0;
  const begin = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (started < writes) {
        started += 1;
        const sentAt = performance.now();
        try {
          await put(client);
          latenciesMs.push(performance.now() - sentAt);
        } catch {
          failed += 1;
        }
      }
    }),
  );
  return { latenciesMs, elapsedMs: performance.now() - begin, failed };
}

let streaming = false;
let stream: Promise<void>[] = [];
const acked: { sentAt: number; ackedAt: number }[] = [];
let streamFailed = 0;

function streamStart(): object {
  streaming = true;
  acked.length = 0;
  streamFailed = 0;
  stream = clients.map(async (client) => {
    while (streaming) {
      const sentAt = Date.now();
      try {
        await put(client);
        acked.push({ sentAt, ackedAt: Date.now() });
      } catch {
        streamFailed += 1;
      }
    }
  });
  return { ok: true };
}

async function streamStop(): Promise<object> {
  streaming = false;
  await Promise.all(stream);
  return { writes: [...acked], failed: streamFailed };
}

const reply = (value: object) => process.stdout.write(`${JSON.stringify(value)}\n`);
reply({ ready: true });
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const command = JSON.parse(line) as { cmd: string; writes?: number };
  try {
    if (command.cmd === 'bench') reply(await bench(command.writes ?? 100));
    else if (command.cmd === 'stream-start') reply(streamStart());
    else if (command.cmd === 'stream-stop') reply(await streamStop());
    else reply({ error: `unknown command ${command.cmd}` });
  } catch (error) {
    reply({ error: String((error as Error).message) });
  }
}
await Promise.allSettled(clients.map((client) => client.close()));
process.exit(0);
