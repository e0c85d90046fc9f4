/**
 * Every attack `pnpm attack` knows, in the order it runs them, with what the attacker does and
 * which attack-specific check (checks.ts) the runner makes.
 */
import { connectionFlood } from './attacks/connection-flood.ts';
import type { Attack } from './attacks/context.ts';
import { control } from './attacks/control.ts';
import { eventWipe } from './attacks/event-wipe.ts';
import { kvExhaust, lockExhaust, proposalExhaust, taskExhaust } from './attacks/exhaust.ts';
import { giantFrameAttack } from './attacks/giant-frame.ts';
import { kvOverwrite } from './attacks/kv-overwrite.ts';
import { queryFlood, queryFlood500, requestFlood } from './attacks/replay-flood.ts';
import { slowReader } from './attacks/slow-reader.ts';
import { slowloris } from './attacks/slowloris.ts';
import { strangerFlood } from './attacks/stranger-flood.ts';

/** The attack-specific checks the runner knows (see checks.ts). */
export type CheckKind = 'new-kv-key' | 'new-lock' | 'new-proposal' | 'new-task' | 'owned-key' | 'own-events';

export interface AttackEntry {
  readonly name: string;
  readonly summary: string;
  readonly run: Attack;
  readonly check?: CheckKind;
}

export const ATTACKS: readonly AttackEntry[] = [
  {
    name: 'control',
    summary: 'no attack: the attacker connects and idles (what the criteria give unattacked)',
    run: control,
  },
  {
    name: 'kv-exhaust',
    summary: 'one agent puts kv keys until refused',
    run: kvExhaust,
    check: 'new-kv-key',
  },
  {
    name: 'lock-exhaust',
    summary: 'one agent takes long-leased locks until refused',
    run: lockExhaust,
    check: 'new-lock',
  },
  {
    name: 'proposal-exhaust',
    summary: 'one agent opens and decides proposals until refused',
    run: proposalExhaust,
    check: 'new-proposal',
  },
  {
    name: 'task-exhaust',
    summary: 'one agent creates tasks until refused',
    run: taskExhaust,
    check: 'new-task',
  },
  {
    name: 'kv-overwrite',
    summary: "one agent puts, CASes and deletes the honest agent's key",
    run: kvOverwrite,
    check: 'owned-key',
  },
  {
    name: 'giant-frame',
    summary: '16 MiB frames declaring ~16.7M array entries, every 400 ms',
    run: giantFrameAttack,
  },
  { name: 'query-flood', summary: 'one signed query replayed as fast as possible', run: queryFlood },
  { name: 'query-flood-500', summary: 'one signed query replayed at 500/s', run: queryFlood500 },
  { name: 'request-flood', summary: 'one signed request replayed as fast as possible', run: requestFlood },
  { name: 'slow-reader', summary: 'asks for large answers, then stops reading', run: slowReader },
  {
    name: 'slowloris',
    summary: '500 sockets upgraded to WebSocket that never finish the handshake',
    run: slowloris,
  },
  {
    name: 'event-wipe',
    summary: 'evicts the shared event log with timed lock expiries and puts',
    run: eventWipe,
    check: 'own-events',
  },
  {
    name: 'connection-flood',
    summary: 'one agent opens 64 authenticated transports to every replica',
    run: connectionFlood,
  },
  {
    name: 'stranger-flood',
    summary:
      '64 strangers with unregistered ids redial every replica, each refused with a signed UNKNOWN_AGENT',
    run: strangerFlood,
  },
];

export function attackNamed(name: string): AttackEntry | undefined {
  return ATTACKS.find((a) => a.name === name);
}
