/**
 * event-wipe: the attacker pushes the honest agent's events out of the shared event ring
 * (eventsMax = 1,024): many short-leased locks taken together, so their expiries land in one
 * batch, then event-producing kv puts as fast as it can.
 */
import { ATTACK_IN_FLIGHT_MAX, type Attack, connectAttacker, refusalOf } from './context.ts';

/** Locks taken at once with one short lease: their expiries are all events of the same moment. */
const TIMED_LOCKS = 256;
const TIMED_LEASE_TICKS = 20;
/** Distinct keys the puts rotate over, so the attacker's own kv use stays small. */
const KEYS = 16;

export const eventWipe: Attack = async (context) => {
  const coord = await connectAttacker(context);
  const value = new Uint8Array(8);
  await Promise.allSettled(
    Array.from({ length: TIMED_LOCKS }, (_, i) =>
      coord.locks.acquire(`attacker/t${i}`, TIMED_LEASE_TICKS).then(
        () => context.count('locks'),
        (error) => context.count(`refused_${refusalOf(error)}`),
      ),
    ),
  );
  let next = 0;
  const worker = async () => {
    while (!context.signal.aborted) {
      try {
        await coord.kv.put(`attacker/e${next++ % KEYS}`, value);
        context.count('puts');
      } catch (error) {
        context.count(`refused_${refusalOf(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: ATTACK_IN_FLIGHT_MAX }, worker));
};
