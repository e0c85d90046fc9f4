/**
 * kv-overwrite: the attacker puts, compare-and-sets and deletes a key the honest agent wrote.
 * Without ownership every write succeeds; with it each is refused FORBIDDEN.
 */
import { HONEST_OWNED_KEY } from '../names.ts';
import { type Attack, connectAttacker, refusalOf, sleep } from './context.ts';

const FORGED = new TextEncoder().encode('overwritten by the attacker');
const PAUSE_MS = 20;

export const kvOverwrite: Attack = async (context) => {
  const coord = await connectAttacker(context);
  const attempts: ((version: number) => Promise<unknown>)[] = [
    () => coord.kv.put(HONEST_OWNED_KEY, FORGED),
    (version) => coord.kv.cas(HONEST_OWNED_KEY, version, FORGED),
    () => coord.kv.delete(HONEST_OWNED_KEY),
  ];
  for (let i = 0; !context.signal.aborted; i++) {
    try {
      // One replica's answer is enough to aim a cas (a stale version only makes it fail), and
      // cannot stall on replicas a batch apart the way a quorum read can under load.
      const current = await coord.kv.get(HONEST_OWNED_KEY, { consistency: 'local' }).catch(() => undefined);
      await (attempts[i % attempts.length] as (version: number) => Promise<unknown>)(current?.version ?? 0);
      context.count('overwrites');
    } catch (error) {
      const reason = refusalOf(error);
      context.count(`refused_${reason}`);
      if (reason === 'FORBIDDEN') context.exhausted(reason);
    }
    await sleep(PAUSE_MS, context.signal);
  }
};
