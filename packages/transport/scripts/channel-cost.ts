/**
 * What the channel MAC costs per frame (seal at the sender + open at the receiver), next to the
 * Ed25519 sign + verify it lets replies skip. A measurement to print, not a test to assert on.
 *
 *   npx tsx packages/transport/scripts/channel-cost.ts [iterations]
 */
import { nodeCrypto } from '@conclave/core';
import { channel } from '../src/channel.ts';

const iterations = Number(process.argv[2] ?? 20_000);
const keys = { clientToServer: new Uint8Array(32).fill(1), serverToClient: new Uint8Array(32).fill(2) };
const crypto = nodeCrypto();
const signer = crypto.keyPairFromSeed(new Uint8Array(32).fill(3));

function microsecondsPer(work: (index: number) => void, count: number): number {
  for (let index = 0; index < Math.min(count, 2_000); index++) work(index); // warm up
  const start = process.hrtime.bigint();
  for (let index = 0; index < count; index++) work(index);
  return Number(process.hrtime.bigint() - start) / 1_000 / count;
}

console.log(`node ${process.version}, ${iterations} frames per size`);
for (const frameBytes of [200, 20 * 1024]) {
  const frame = new Uint8Array(frameBytes).fill(7);
  const sender = channel('client', keys);
  const receiver = channel('server', keys);
  const sealOpen = microsecondsPer(() => {
    if (receiver.open(sender.seal(frame)) === undefined) throw new Error('a genuine frame did not open');
  }, iterations);
  const signVerifyCount = Math.max(1, Math.floor(iterations / 10));
  const signVerify = microsecondsPer(() => {
    if (!crypto.verify(frame, crypto.sign(frame, signer.secretKey), signer.publicKey))
      throw new Error('a genuine signature did not verify');
  }, signVerifyCount);
  console.log(
    `${String(frameBytes).padStart(6)} B: channel seal+open ${sealOpen.toFixed(2)} µs/frame; ` +
      `Ed25519 sign+verify ${signVerify.toFixed(1)} µs/frame`,
  );
}
