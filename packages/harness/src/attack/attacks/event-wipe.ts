/**
 * event-wipe: the attacker pushes the honest agent's events out of the shared event ring
 * (eventsMax = 1,024) with event-producing writes as fast as it can: short-leased locks, whose
 * expiries are events too and land together, alternating with kv puts.
 */
import { ATTACK_IN_FLIGHT_MAX, type Attack, connectAttacker, refusalOf } from './context.ts';

/** Lock names the attacker cycles over, each taken with a short lease that soon expires. */
const LOCK_NAMES = 256;
const SHORT_LEASE_TICKS = 20;
/** Distinct keys the puts rotate over, so the attacker's own kv use stays small. */
const KEYS = 16;

export const eventWipe: Attack = async (context) => {
  const coord = await connectAttacker(context);
  const value = new Uint8Array(8);
  let next = 0;
  const write = (i: number) =>
    i % 2 === 0
      ? coord.locks.acquire(`attacker/t${(i / 2) % LOCK_NAMES}`, SHORT_LEASE_TICKS).then(() => 'locks')
      : coord.kv.put(`attacker/e${i % KEYS}`, value).then(() => 'puts');
  const worker = async () => {
    while (!context.signal.aborted) {
      try {
        context.count(await write(next++));
      } catch (error) {
        context.count(`refused_${refusalOf(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: ATTACK_IN_FLIGHT_MAX }, worker));
};
