/**
 * control: the attacker connects and does nothing. Not an attack: the row shows what the
 * criteria give on this machine with no attack at all, so a FAIL elsewhere can be read against it.
 */
import { type Attack, connectAttacker, sleep } from './context.ts';

const IDLE_STEP_MS = 1_000;

export const control: Attack = async (context) => {
  await connectAttacker(context);
  while (!context.signal.aborted) await sleep(IDLE_STEP_MS, context.signal);
};
