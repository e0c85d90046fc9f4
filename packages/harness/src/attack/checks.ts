/**
 * The attack-specific checks: what the honest agent must still be able to do, or still own,
 * when the attacker has done its worst. Each returns null on success, else why it failed.
 */
import { type Coordination, decodeResult, ops, RejectedError } from '@conclave/sdk';
import type { AttackerHandle } from './attacker-handle.ts';
import type { CheckKind } from './catalog.ts';
import { HONEST_OWNED_KEY } from './names.ts';

/** How long the runner waits, after the attack window, for an exhaust attacker to be refused. */
export const EXHAUST_WAIT_MS = 90_000;
const CHECK_CALL_TIMEOUT_MS = 10_000;
export const HONEST_OWNED_VALUE = 'written by the honest agent';

/** What the runner prepares before the attack, and what it checks after. */
export interface SpecificCheck {
  prepare(): Promise<void>;
  /** Null when the honest agent was unharmed, else the failure in a few words. */
  verify(): Promise<string | null>;
}

function describeError(error: unknown): string {
  if (error instanceof RejectedError) return `refused ${error.reason}`;
  if (error instanceof Error)
    return `${(error as { code?: string }).code ?? error.name}: ${error.message.slice(0, 80)}`;
  return String(error);
}

/** Waits (bounded) until the attacker says it is refused; then `attempt` must succeed. */
function afterExhaustion(attacker: AttackerHandle, attempt: () => Promise<unknown>): SpecificCheck {
  return {
    prepare: async () => {},
    verify: async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const reason = await Promise.race([
        attacker.exhausted,
        new Promise<undefined>((done) => (timer = setTimeout(() => done(undefined), EXHAUST_WAIT_MS))),
      ]);
      clearTimeout(timer);
      if (reason === undefined) return `attacker not refused within ${EXHAUST_WAIT_MS / 1000} s`;
      try {
        await attempt();
        return null;
      } catch (error) {
        return `honest ${describeError(error)} (attacker refused ${reason})`;
      }
    },
  };
}

function ownedKey(honest: Coordination): SpecificCheck {
  const value = new TextEncoder().encode(HONEST_OWNED_VALUE);
  return {
    prepare: async () => {
      await honest.kv.put(HONEST_OWNED_KEY, value, { timeoutMs: CHECK_CALL_TIMEOUT_MS });
    },
    verify: async () => {
      const entry = await honest.kv.get(HONEST_OWNED_KEY, { timeoutMs: CHECK_CALL_TIMEOUT_MS });
      const now = entry.value === null ? 'deleted' : new TextDecoder().decode(entry.value);
      if (now !== HONEST_OWNED_VALUE) return `key now ${JSON.stringify(now.slice(0, 30))}`;
      if (entry.updatedBy !== honest.client.agent) return `last written by ${entry.updatedBy}`;
      return null;
    },
  };
}

/** The honest agent's event, written as the attack starts, is still in the log when it ends. */
function ownEvents(honest: Coordination): SpecificCheck {
  let sequence = -1;
  return {
    prepare: async () => {
      const answer = await honest.client.request(
        ops.kvPut({ key: 'honest/marker', value: new Uint8Array(1) }),
        { timeoutMs: CHECK_CALL_TIMEOUT_MS },
      );
      sequence = answer.sequence;
    },
    verify: async () => {
      const answer = await honest.client.query(ops.events({ fromSequence: sequence, limit: 1 }), 'quorum', {
        timeoutMs: CHECK_CALL_TIMEOUT_MS,
      });
      const result = decodeResult(answer.result);
      if (!result.ok || result.kind !== 'events')
        return `events read failed: ${JSON.stringify(result).slice(0, 80)}`;
      if (result.missed || (result.earliestSequence ?? Number.POSITIVE_INFINITY) > sequence)
        return `honest event at ${sequence} evicted (oldest kept ${result.earliestSequence})`;
      return null;
    },
  };
}

export function specificCheck(
  kind: CheckKind,
  honest: Coordination,
  attacker: () => AttackerHandle,
): SpecificCheck {
  const id = `${Date.now()}`;
  const options = { timeoutMs: CHECK_CALL_TIMEOUT_MS };
  switch (kind) {
    case 'new-kv-key':
      return afterExhaustion(attacker(), () => honest.kv.put(`honest/new-${id}`, new Uint8Array(4), options));
    case 'new-lock':
      return afterExhaustion(attacker(), () => honest.locks.acquire(`honest/lock-${id}`, 1_000, options));
    case 'new-proposal':
      return afterExhaustion(attacker(), () =>
        honest.propose({
          proposalId: `honest-${id}`,
          title: 'honest',
          rule: { kind: 'threshold', k: 1 },
          voters: [{ agent: honest.client.agent, weight: 1 }],
          ttlTicks: 1_000,
          ...options,
        }),
      );
    case 'new-task':
      return afterExhaustion(attacker(), () =>
        honest.tasks.create(`honest-${id}`, new Uint8Array(4), options),
      );
    case 'owned-key':
      return ownedKey(honest);
    case 'own-events':
      return ownEvents(honest);
  }
}
