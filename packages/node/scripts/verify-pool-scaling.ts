/**
 * How the signature worker pool scales with its size on this machine: checks per second for
 * 1, 2, … workers (up to the cores), the step loop's thread only packing and unpacking. On a
 * server with more cores the same run shows where adding verify workers stops paying.
 *
 *   pnpm bench:pool [--checks N]
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { nodeCrypto, type SignatureCheck } from '@conclave/core';
import { VerifyPool } from '../src/verify-pool.ts';

const { values } = parseArgs({ options: { checks: { type: 'string', default: '20000' } } });
const total = Number(values.checks);
const crypto = nodeCrypto();
const keys = crypto.keyPairFromSeed(new Uint8Array(32).fill(7));
const checks: SignatureCheck[] = Array.from({ length: 1000 }, (_, i) => {
  const data = new Uint8Array(200).fill(i % 256);
  return { data, signature: crypto.sign(data, keys.secretKey), publicKey: keys.publicKey };
});

const began = performance.now();
for (let i = 0; i < total / 4; i++)
  crypto.verify(
    checks[i % 1000]?.data as Uint8Array,
    checks[i % 1000]?.signature as Uint8Array,
    keys.publicKey,
  );
const inline = (total / 4 / (performance.now() - began)) * 1000;
console.log(`inline (step loop): ${inline.toFixed(0)} checks/s`);
const cores = availableParallelism();
for (let workers = 1; workers <= Math.max(2, cores); workers++) {
  const pool = new VerifyPool(workers);
  await pool.verify(checks.slice(0, 50)); // warm the workers up
  const start = performance.now();
  const rounds: Promise<boolean[]>[] = [];
  for (let done = 0; done < total; done += checks.length) rounds.push(pool.verify(checks));
  const results = await Promise.all(rounds);
  const seconds = (performance.now() - start) / 1000;
  if (!results.every((r) => r.every(Boolean))) throw new Error('a valid signature was refused');
  console.log(
    `${workers} worker${workers === 1 ? '' : 's'}: ${(total / seconds).toFixed(0)} checks/s (${(total / seconds / inline).toFixed(2)}x inline; ${cores} cores)`,
  );
  await pool.close();
}
