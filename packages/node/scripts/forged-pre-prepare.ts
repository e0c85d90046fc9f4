/**
 * What a forged prePrepare (64 batches × 64 requests, outer signature garbage) costs a replica's
 * signature checks: as the daemon checked it before (every signature at once), with the sender
 * first (`precheckSignatures`), and from an agent's connection (refused by the inbox). A
 * measurement to print, not a test to assert on.
 *
 *   npx tsx packages/node/scripts/forged-pre-prepare.ts
 */
import { performance } from 'node:perf_hooks';
import { type CachingCrypto, type SignatureCheck, verifyCache } from '@conclave/core';
import { resolveAgentLimits } from '../src/agent-limits.ts';
import { FairInbox } from '../src/fair-inbox.ts';
import { precheckSignatures } from '../src/signature-precheck.ts';
import {
  BATCHES,
  backup,
  countingCrypto,
  largestPrePrepare,
  REQUESTS_PER_BATCH,
} from '../test/support/forged-pre-prepare.ts';

const frame = largestPrePrepare(true);

type Precheck = (
  checks: readonly SignatureCheck[],
  cache: CachingCrypto,
  verify: (checks: readonly SignatureCheck[]) => Promise<boolean[]>,
) => Promise<unknown> | undefined;

/** The daemon's path for a frame admitted to the inbox: decode, pool checks, then the step. */
async function measure(name: string, precheck: Precheck) {
  const counting = countingCrypto();
  const cache = verifyCache(counting);
  const replica = backup(cache);
  let pooled = 0;
  const start = performance.now();
  const decoded = replica.decode(frame);
  if (!decoded.ok) throw new Error('the forged frame does not decode');
  await precheck(replica.signatureChecks(decoded.value), cache, async (checks) => {
    pooled += checks.length;
    return checks.map((check) => counting.verify(check.data, check.signature, check.publicKey));
  });
  replica.step({ kind: 'messages', frames: [frame], decoded: [decoded] });
  const ms = performance.now() - start;
  console.log(
    `${name}: ${pooled} checks in the pool, ${counting.verified - pooled} in the step loop, ` +
      `${ms.toFixed(1)} ms (decode + checks + step, one thread)`,
  );
}

console.log(`forged prePrepare: ${frame.byteLength} bytes, ${BATCHES} × ${REQUESTS_PER_BATCH} requests`);
// As the daemon did before: every signature the cache does not know, in one go.
await measure('before (all at once)  ', async (checks, cache, verify) => {
  const valid = await verify(checks);
  checks.forEach((check, index) => {
    cache.remember(check.data, check.signature, check.publicKey, valid[index] === true);
  });
});
await measure('after (sender first)  ', precheckSignatures);
const inbox = new FairInbox<string>(resolveAgentLimits(), 4, () => performance.now());
let made = 0;
const offer = inbox.offer({ kind: 'agent', id: 'mallory' }, frame, () => `${made++}`);
console.log(`from an agent's connection: ${JSON.stringify(offer)}; decoded and checked ${made} times`);
