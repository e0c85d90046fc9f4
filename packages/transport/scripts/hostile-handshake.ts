/**
 * What a stranger with no key costs a replica when it sends a 5-byte client proof that declares a
 * huge array (msgpack array32 header): time and heap per attempt, and whether it is refused.
 * A measurement to print, not a test to assert on.
 *
 *   node --expose-gc --import tsx packages/transport/scripts/hostile-handshake.ts [attempts]
 */
import { parseClientProof, parseServerHello, parseServerProof } from '../src/handshake.ts';

const attempts = Number(process.argv[2] ?? 20);
// 0xdd = array32, then a declared length of 2^24 elements: 5 bytes on the wire.
const hostile = new Uint8Array([0xdd, 0x01, 0x00, 0x00, 0x00]);
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});

for (const [name, parse] of [
  ['parseClientProof', parseClientProof],
  ['parseServerHello', parseServerHello],
  ['parseServerProof', parseServerProof],
] as const) {
  collect();
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  let refused = 0;
  const start = process.hrtime.bigint();
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (parse(hostile) === undefined) refused++;
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }
  const msPerAttempt = Number(process.hrtime.bigint() - start) / 1e6 / attempts;
  const peakMiB = (heapPeak - heapBefore) / 2 ** 20;
  console.log(
    `${name}: ${refused}/${attempts} refused, ${msPerAttempt.toFixed(3)} ms/attempt, ` +
      `heap peak +${peakMiB.toFixed(1)} MiB`,
  );
}
