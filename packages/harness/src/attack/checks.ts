/**
 * The attack-specific checks: what the honest agent must still be able to do, or still own,
 * when the attacker has done its worst. Each returns null on success, else why it failed.
 */
import { DEFAULT_COORDINATION_LIMITS } from '@conclave/coordination';
import { type Coordination, decodeResult, ops, RejectedError } from '@conclave/sdk';
import type { AttackerHandle } from './attacker-handle.ts';
import type { CheckKind } from './catalog.ts';
import { HONEST_OWNED_KEY } from './names.ts';

/** How long the runner waits, after the attack window, for an exhaust attacker to be refused. */
export const EXHAUST_WAIT_MS = 90_000;
const CHECK_CALL_TIMEOUT_MS = 10_000;
export const HONEST_OWNED_VALUE = 'written by the honest agent';
/** Events the log keeps per producer (DEFAULT_COORDINATION_LIMITS.eventsPerAgentMax). */
const EVENTS_KEPT_PER_AGENT = DEFAULT_COORDINATION_LIMITS.eventsPerAgentMax;
/** Pages of events read when counting the honest agent's; the log is bounded, so is this. */
const EVENT_PAGES_MAX = 64;
const EVENT_PAGE_SIZE = 100;

/** What the runner prepares before the attack, does halfway through it, and checks after. */
export interface SpecificCheck {
  prepare(): Promise<void>;
  midway(): Promise<void>;
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
function afterExhaustion(
  attacker: () => AttackerHandle | undefined,
  attempt: () => Promise<unknown>,
): SpecificCheck {
  return {
    prepare: async () => {},
    midway: async () => {},
    verify: async () => {
      const exhausted = attacker()?.exhausted;
      if (exhausted === undefined) return 'no attacker was started';
      let timer: ReturnType<typeof setTimeout> | undefined;
      const reason = await Promise.race([
        exhausted,
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
    midway: async () => {},
    verify: async () => {
      const entry = await honest.kv.get(HONEST_OWNED_KEY, { timeoutMs: CHECK_CALL_TIMEOUT_MS });
      const now = entry.value === null ? 'deleted' : new TextDecoder().decode(entry.value);
      if (now !== HONEST_OWNED_VALUE) return `key now ${JSON.stringify(now.slice(0, 30))}`;
      if (entry.updatedBy !== honest.client.agent) return `last written by ${entry.updatedBy}`;
      return null;
    },
  };
}

/**
 * The honest agent's own share of the event log survives the attack: every event produced by
 * an agent's own operations counts against its own share only, so after the attack the log
 * must still hold the honest agent's latest min(eventsPerAgentMax, writes since the marker + 1)
 * events. An attacker that could evict other agents' events would leave fewer.
 */
function ownEvents(honest: Coordination, honestWrites: () => number): SpecificCheck {
  let sequence = -1;
  let writesAtMarker = 0;
  return {
    prepare: async () => {},
    midway: async () => {
      const answer = await honest.client.request(
        ops.kvPut({ key: 'honest/marker', value: new Uint8Array(1) }),
        { timeoutMs: CHECK_CALL_TIMEOUT_MS },
      );
      sequence = answer.sequence;
      writesAtMarker = honestWrites();
    },
    verify: async () => {
      if (sequence < 0) return 'the honest marker was never written';
      const ownWrites = honestWrites() - writesAtMarker;
      const expected = Math.min(EVENTS_KEPT_PER_AGENT, ownWrites + 1);
      const kept = await countEventsOf(honest, sequence);
      if (typeof kept === 'string') return kept;
      if (kept < expected)
        return `only ${kept} of the honest agent's events since ${sequence} kept (expected ≥ ${expected}; it wrote ${ownWrites} since)`;
      return null;
    },
  };
}

/** Counts the events in the log from `fromSequence` on that the honest agent produced, or says why it could not. */
async function countEventsOf(honest: Coordination, fromSequence: number): Promise<number | string> {
  let count = 0;
  let cursor = { fromSequence, fromIndex: 0 };
  for (let page = 0; page < EVENT_PAGES_MAX; page++) {
    // Ordered (linearizable): a quorum read can find the replicas mid-commit and not agree.
    const answer = await honest.client.request(ops.events({ ...cursor, limit: EVENT_PAGE_SIZE }), {
      timeoutMs: CHECK_CALL_TIMEOUT_MS,
    });
    const result = decodeResult(answer.result);
    if (!result.ok || result.kind !== 'events')
      return `events read failed: ${JSON.stringify(result).slice(0, 80)}`;
    for (const event of result.events) if (event.producer === honest.client.agent) count += 1;
    if (result.events.length < EVENT_PAGE_SIZE) return count;
    cursor = { fromSequence: result.next.sequence, fromIndex: result.next.index };
  }
  return count;
}

export function specificCheck(
  kind: CheckKind,
  honest: Coordination,
  attacker: () => AttackerHandle | undefined,
  honestWrites: () => number,
): SpecificCheck {
  const id = `${Date.now()}`;
  const options = { timeoutMs: CHECK_CALL_TIMEOUT_MS };
  switch (kind) {
    case 'new-kv-key':
      return afterExhaustion(attacker, () => honest.kv.put(`honest/new-${id}`, new Uint8Array(4), options));
    case 'new-lock':
      return afterExhaustion(attacker, () => honest.locks.acquire(`honest/lock-${id}`, 1_000, options));
    case 'new-proposal':
      return afterExhaustion(attacker, () =>
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
      return afterExhaustion(attacker, () => honest.tasks.create(`honest-${id}`, new Uint8Array(4), options));
    case 'owned-key':
      return ownedKey(honest);
    case 'own-events':
      return ownEvents(honest, honestWrites);
  }
}
