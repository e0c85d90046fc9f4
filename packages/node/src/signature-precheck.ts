/**
 * What the daemon asks the verify pool for one frame, and in which order: the sender's signature
 * first, the batch's request signatures only once it holds.
 *
 * A prePrepare carries up to 64 batches of 64 requests, each signed by its agent. Checking them
 * all together made one frame with a forged outer signature cost 4,097 checks; checking the
 * sender first makes it cost one. The replica checks the sender first too (`#verifySender`), so
 * a frame whose sender fails is refused before any request signature is looked at.
 *
 * Verdicts only feed the replica's cache of checked signatures; the replica still checks every
 * signature it relies on, so this order costs time, never safety.
 *
 * The order costs a second trip to the pool, which every prePrepare paid on every backup (~4% of
 * `pnpm bench` throughput). It buys nothing for a frame signed by the replica whose
 * authenticated connection brought it: a forged signature there means that replica is
 * Byzantine, and it could as well sign the frame and have every request checked. So such a
 * frame's checks go to the pool together; the order holds for frames one peer relays from
 * another (view changes, fetched batches) and for agents.
 */
import { bytesEqual, type CachingCrypto, type SignatureCheck } from '@conclave/core';

/** The verdict cache the replica reads (core's `verifyCache`). */
export type VerdictCache = Pick<CachingCrypto, 'known' | 'remember'>;

/** Checks signatures somewhere else (the worker pool); one boolean per check, in order. */
export type VerifyChecks = (checks: readonly SignatureCheck[]) => Promise<boolean[]>;

/**
 * Checks what the cache does not know of `checks` (as `Replica.signatureChecks` lists them: the
 * sender's first, then a prePrepare's requests), remembering every verdict. `undefined` when
 * there is nothing to check: the sender's signature is already known, and known bad, or known
 * good with every request known too. Rejects when `verify` does (the pool broke).
 * `connectionKey`: the public key the frame's connection was authenticated with (a replica's),
 * if any; a frame signed with it has all its checks sent at once.
 */
export function precheckSignatures(
  checks: readonly SignatureCheck[],
  cache: VerdictCache,
  verify: VerifyChecks,
  connectionKey?: Uint8Array,
): Promise<void> | undefined {
  const [sender, ...requests] = checks;
  if (sender === undefined) return undefined;
  const senderVerdict = known(cache, sender);
  if (senderVerdict === false) return undefined; // one lookup, and the replica refuses it
  if (senderVerdict === true) return checkUnknown(requests, cache, verify);
  if (connectionKey !== undefined && bytesEqual(sender.publicKey, connectionKey))
    return checkUnknown(checks, cache, verify);
  return checkAll([sender], cache, verify).then(([senderValid]) =>
    senderValid === true ? checkUnknown(requests, cache, verify) : undefined,
  );
}

function checkUnknown(
  checks: readonly SignatureCheck[],
  cache: VerdictCache,
  verify: VerifyChecks,
): Promise<void> | undefined {
  // What the cache already knows is not checked again: a replayed request costs a lookup.
  const unknown = checks.filter((check) => known(cache, check) === undefined);
  if (unknown.length === 0) return undefined;
  return checkAll(unknown, cache, verify).then(() => undefined);
}

async function checkAll(
  checks: readonly SignatureCheck[],
  cache: VerdictCache,
  verify: VerifyChecks,
): Promise<boolean[]> {
  const valid = await verify(checks);
  checks.forEach((check, index) => {
    cache.remember(check.data, check.signature, check.publicKey, valid[index] === true);
  });
  return valid;
}

function known(cache: VerdictCache, check: SignatureCheck): boolean | undefined {
  return cache.known(check.data, check.signature, check.publicKey);
}
