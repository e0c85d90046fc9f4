/**
 * Several state machines side by side in one replicated state: each operation names the
 * machine it is for, so an application can run its own deterministic state machine beside the
 * coordination one (or several of its own) and still get one total order across all of them.
 *
 *   operation = canonical [name, innerOperation]   — see `composedOperation`
 *
 * Snapshots and digests cover every machine (sorted by name); `advanceTime` and
 * `onEquivocation` reach every machine that has them; an operation for an unknown machine gets
 * an error result, never an exception.
 */
import { decodeCanonical, encodeCanonical } from './codec.ts';
import type { BatchContext, ExecutionContext, RequestEquivocation, StateMachine } from './state-machine.ts';

const NAME_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

/** Wraps an operation for the machine called `name` in a composition. */
export function composedOperation(name: string, operation: Uint8Array): Uint8Array {
  return encodeCanonical([name, operation]);
}

/** The error result of an operation a composition cannot route: canonical `[false, message]`. */
function routingError(message: string): Uint8Array {
  return encodeCanonical([false, message]);
}

export function composeStateMachines(
  machines: Readonly<Record<string, StateMachine>>,
  hash: (data: Uint8Array) => Uint8Array,
): StateMachine {
  const names = Object.keys(machines).sort();
  if (names.length === 0) throw new TypeError('composeStateMachines needs at least one state machine');
  for (const name of names) {
    if (!NAME_PATTERN.test(name))
      throw new TypeError(`state machine name ${JSON.stringify(name)} must match ${NAME_PATTERN}`);
  }
  const route = (operation: Uint8Array): { machine: StateMachine; inner: Uint8Array } | string => {
    const decoded = decodeCanonical(operation);
    if (!decoded.ok || !Array.isArray(decoded.value) || decoded.value.length !== 2)
      return 'not a composed operation: [name, operation]';
    const [name, inner] = decoded.value as [unknown, unknown];
    if (typeof name !== 'string' || !(inner instanceof Uint8Array))
      return 'not a composed operation: [name, operation]';
    const machine = Object.hasOwn(machines, name) ? machines[name] : undefined;
    if (machine === undefined)
      return `no state machine called ${JSON.stringify(name)} (there are: ${names.join(', ')})`;
    return { machine, inner };
  };
  return {
    apply(operation: Uint8Array, context: ExecutionContext): Uint8Array {
      const routed = route(operation);
      return typeof routed === 'string' ? routingError(routed) : routed.machine.apply(routed.inner, context);
    },
    query(operation: Uint8Array): Uint8Array {
      const routed = route(operation);
      if (typeof routed === 'string') return routingError(routed);
      return routed.machine.query?.(routed.inner) ?? routingError('this state machine answers no queries');
    },
    snapshot(): Uint8Array {
      return encodeCanonical(names.map((name) => [name, (machines[name] as StateMachine).snapshot()]));
    },
    restore(snapshot: Uint8Array): void {
      const decoded = decodeCanonical(snapshot);
      if (!decoded.ok || !Array.isArray(decoded.value)) throw new Error('composed snapshot does not decode');
      const parts = new Map(decoded.value as [string, Uint8Array][]);
      for (const name of names) {
        const part = parts.get(name);
        if (part === undefined) throw new Error(`composed snapshot has no part for ${name}`);
        (machines[name] as StateMachine).restore(part);
      }
    },
    digest(): Uint8Array {
      return hash(encodeCanonical(names.map((name) => [name, (machines[name] as StateMachine).digest()])));
    },
    advanceTime(context: BatchContext): void {
      for (const name of names) machines[name]?.advanceTime?.(context);
    },
    onEquivocation(evidence: RequestEquivocation, context: BatchContext): void {
      for (const name of names) machines[name]?.onEquivocation?.(evidence, context);
    },
  };
}
