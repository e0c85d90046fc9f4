/**
 * event-wipe: the attacker pushes the honest agent's events out of the shared event ring
 * (eventsMax = 1,024) as fast as it can with short-leased locks: each acquisition is an event
 * and each expiry another, the expiries landing together as agreed time passes them.
 */
import { ATTACK_IN_FLIGHT_MAX, type Attack, connectAttacker, refusalOf } from './context.ts';

/** Lock names the attacker cycles over (well under locksMax: leases end within a second). */
const LOCK_NAMES = 512;
const SHORT_LEASE_TICKS = 20;

export const eventWipe: Attack = async (context) => {
  const coord = await connectAttacker(context);
  let next = 0;
  const worker = async () => {
    while (!context.signal.aborted) {
      try {
        await coord.locks.acquire(`attacker/t${next++ % LOCK_NAMES}`, SHORT_LEASE_TICKS);
        context.count('locks');
      } catch (error) {
        context.count(`refused_${refusalOf(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: ATTACK_IN_FLIGHT_MAX }, worker));
};
