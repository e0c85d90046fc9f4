/**
 * The agent registry as the checkers see it: which key each agent had in force after each
 * executed batch, per honest replica. Core reports a registry with a batch only when that batch
 * changed it; a replica can also arrive at a registry by state transfer (a snapshot) or by a
 * restart (its durable state), which no batch reports. `RegistryTracker` follows one replica:
 * forward from what it knew, through the changes its batches report, and backward from the
 * truth after each step (`Replica.agentKeys()`), so a jump leaves sequences unknown rather
 * than wrong.
 */
import { createHash } from 'node:crypto';
import { type ExecutedBatch, toHex } from '@conclave/core';
import type { RegistryRecord } from './record.ts';

/** Registries already converted, by the map core handed out (it keeps one map until a change). */
const converted = new WeakMap<ReadonlyMap<string, Uint8Array>, RegistryRecord>();
const digests = new WeakMap<RegistryRecord, string>();

/** A registry as plain data: agent id → key (hex), in id order. */
export function registryOf(keys: ReadonlyMap<string, Uint8Array>): RegistryRecord {
  const known = converted.get(keys);
  if (known !== undefined) return known;
  const registry = convert(keys);
  converted.set(keys, registry);
  return registry;
}

function convert(keys: ReadonlyMap<string, Uint8Array>): RegistryRecord {
  const entries = [...keys.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([id, key]) => [id, toHex(key)]));
}

/** A short digest of a registry: equal registries, equal digests. */
export function registryDigest(registry: RegistryRecord): string {
  const known = digests.get(registry);
  if (known !== undefined) return known;
  const digest = digestOf(registry);
  digests.set(registry, digest);
  return digest;
}

function digestOf(registry: RegistryRecord): string {
  const text = Object.keys(registry)
    .sort()
    .map((id) => `${id}=${registry[id]}`)
    .join(';');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** What the record says of the registry after one batch. */
export interface RegistryNote {
  /** The whole registry, when it differs from the one before (as this replica knew it). */
  readonly agentKeys?: RegistryRecord;
  /** Its digest, when known. */
  readonly registry?: string;
}

/** Follows one replica's registry across its steps (see the file comment). */
export class RegistryTracker {
  #current: RegistryRecord | undefined;

  constructor(start: ReadonlyMap<string, Uint8Array>) {
    this.#current = registryOf(start);
  }

  /** The replica's registry after a step, a restart or a restore: what it now holds. */
  reset(truth: ReadonlyMap<string, Uint8Array>): void {
    this.#current = registryOf(truth);
  }

  /**
   * Notes for one step's batches. `transferredTo` is the highest sequence a state transfer of
   * this step jumped to; `truth` the replica's registry after the step.
   */
  notes(
    batches: readonly ExecutedBatch[],
    transferredTo: number | undefined,
    truth: ReadonlyMap<string, Uint8Array>,
  ): RegistryNote[] {
    const forward = this.#forward(batches, transferredTo);
    const backward = backwardFrom(batches, registryOf(truth));
    let previous = this.#current;
    const notes = batches.map((_, i) => {
      const registry = forward[i] ?? backward[i];
      const changed =
        registry !== undefined &&
        (previous === undefined || (previous !== registry && !sameRegistry(previous, registry)));
      previous = registry;
      return {
        ...(changed ? { agentKeys: registry } : {}),
        ...(registry === undefined ? {} : { registry: registryDigest(registry) }),
      };
    });
    this.#current = registryOf(truth);
    return notes;
  }

  /** The registry after each batch from what the replica knew before the step; undefined past a jump. */
  #forward(
    batches: readonly ExecutedBatch[],
    transferredTo: number | undefined,
  ): (RegistryRecord | undefined)[] {
    let current = this.#current;
    let jumped = false;
    return batches.map((batch) => {
      if (!jumped && transferredTo !== undefined && batch.sequence > transferredTo) {
        jumped = true;
        current = undefined;
      }
      if (batch.agentKeys !== undefined) current = registryOf(batch.agentKeys);
      return current;
    });
  }
}

/** The registry after each batch, from the one after the last: unknown before a change. */
function backwardFrom(
  batches: readonly ExecutedBatch[],
  last: RegistryRecord,
): (RegistryRecord | undefined)[] {
  const out: (RegistryRecord | undefined)[] = new Array(batches.length).fill(undefined);
  let known: RegistryRecord | undefined = last;
  for (let i = batches.length - 1; i >= 0; i--) {
    out[i] = known;
    if (batches[i]?.agentKeys !== undefined) known = undefined;
  }
  return out;
}

export function sameRegistry(a: RegistryRecord, b: RegistryRecord): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((id) => a[id] === b[id]);
}
