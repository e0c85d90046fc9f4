/**
 * Checkers of the agent registry (issue 16), pure functions of a run's record:
 *
 * - `registryAgreement`: every honest replica's registry is identical at every sequence it
 *   executed (the digest after each batch), and replicas that ended at one sequence ended with
 *   one registry.
 * - `keyValidity`: no honest replica executed a request at sequence s signed with a key other
 *   than its agent's key in force there — the key after s-1 in the honest replicas' common
 *   registry (genesis plus every change any honest replica recorded). Refused requests are not
 *   executions; but a request refused while signed with the key in force, or refused with the
 *   wrong code, is reported too; so is an executed request whose key, as the replica reports it,
 *   is not the one its batch on the wire names.
 *
 * Declared apart from checkers.ts (which imports this file), with their own violation type.
 */
import type { BatchRecord, ExecutedRecord, RegistryRecord, ReplicaRecord, RunRecord } from './record.ts';

export interface RegistryViolation {
  readonly checker: 'registryAgreement' | 'keyValidity';
  readonly message: string;
  readonly tick?: number;
}

/** Violations per checker at most, as in checkers.ts. */
export const REGISTRY_VIOLATIONS_MAX = 20;

class Found {
  readonly violations: RegistryViolation[] = [];
  constructor(readonly checker: RegistryViolation['checker']) {}

  add(message: string, tick: number): void {
    if (this.violations.length < REGISTRY_VIOLATIONS_MAX)
      this.violations.push({ checker: this.checker, message, tick });
  }
}

function honest(record: RunRecord): readonly ReplicaRecord[] {
  return record.replicas.filter((replica) => replica.honest);
}

/** Every honest replica's registry digest agrees at every sequence, and at the end. */
export function checkRegistryAgreement(record: RunRecord): RegistryViolation[] {
  const found = new Found('registryAgreement');
  const first = new Map<number, { replica: number; registry: string }>();
  for (const replica of honest(record)) {
    for (const entry of replica.executed) {
      if (entry.registry === undefined) continue;
      const seen = first.get(entry.sequence);
      if (seen === undefined) first.set(entry.sequence, { replica: replica.id, registry: entry.registry });
      else if (seen.registry !== entry.registry)
        found.add(
          `sequence ${entry.sequence}: replica ${seen.replica}'s registry is ${seen.registry} but replica ${replica.id}'s is ${entry.registry}`,
          entry.tick,
        );
    }
  }
  const ends = new Map<number, { replica: number; registry: string }>();
  for (const replica of honest(record)) {
    const end = replica.final;
    if (end?.registry === undefined) continue;
    const seen = ends.get(end.lastExecuted);
    if (seen === undefined) ends.set(end.lastExecuted, { replica: replica.id, registry: end.registry });
    else if (seen.registry !== end.registry)
      found.add(
        `replicas ${seen.replica} and ${replica.id} both ended at sequence ${end.lastExecuted} with registries ${seen.registry} and ${end.registry}`,
        record.endTick,
      );
  }
  return found.violations;
}

/** The honest replicas' common registry: which registry is in force at a sequence. */
export class CommonRegistry {
  /** Sequence → the registry after it, ascending. */
  readonly #changes: [number, RegistryRecord][];
  readonly #genesis: RegistryRecord;

  constructor(replicas: readonly ReplicaRecord[], genesis: RegistryRecord) {
    const changes = new Map<number, RegistryRecord>();
    for (const replica of replicas)
      for (const entry of replica.executed)
        if (entry.agentKeys !== undefined && !changes.has(entry.sequence))
          changes.set(entry.sequence, entry.agentKeys);
    this.#changes = [...changes.entries()].sort(([a], [b]) => a - b);
    this.#genesis = genesis;
  }

  /** The registry in force while sequence `sequence` executes: the one after sequence - 1. */
  inForceAt(sequence: number): RegistryRecord {
    let registry = this.#genesis;
    for (const [at, after] of this.#changes) {
      if (at >= sequence) break;
      registry = after;
    }
    return registry;
  }
}

/** No honest replica executed a request under a key outside its validity interval. */
export function checkKeyValidity(record: RunRecord): RegistryViolation[] {
  const found = new Found('keyValidity');
  const genesis = record.genesisAgentKeys;
  if (genesis === undefined) return [];
  const common = new CommonRegistry(honest(record), genesis);
  for (const replica of honest(record)) {
    for (const entry of replica.executed) {
      const inForce = common.inForceAt(entry.sequence);
      checkExecuted(found, replica.id, entry, inForce, record.batches.get(entry.digest));
      checkRefused(found, replica.id, entry, inForce);
    }
  }
  return found.violations;
}

/** Each executed request: signed with the key in force, as its batch on the wire says too. */
function checkExecuted(
  found: Found,
  replica: number,
  entry: ExecutedRecord,
  inForce: RegistryRecord,
  batch: BatchRecord | undefined,
): void {
  for (const request of entry.requests) {
    if (request.publicKey === undefined) continue;
    const what = `${request.agent}#${request.requestId} at sequence ${entry.sequence}`;
    const signed = batch?.requests.filter(
      (r) => r.agent === request.agent && r.requestId === request.requestId,
    );
    if (signed !== undefined && signed.length > 0 && !signed.some((r) => r.publicKey === request.publicKey))
      found.add(
        `replica ${replica} reports ${what} as signed with key ${request.publicKey.slice(0, 12)}, but batch ${entry.digest.slice(0, 12)} holds it signed with ${signed.map((r) => r.publicKey?.slice(0, 12)).join(' or ')}`,
        entry.tick,
      );
    const key = inForce[request.agent];
    if (key !== request.publicKey)
      found.add(
        `replica ${replica} executed ${what} signed with key ${request.publicKey.slice(0, 12)}, but the key in force there is ${key === undefined ? 'none (not registered)' : key.slice(0, 12)}`,
        entry.tick,
      );
  }
}

/** Each refused request: its key really is out of force, and the code says how. */
function checkRefused(found: Found, replica: number, entry: ExecutedRecord, inForce: RegistryRecord): void {
  for (const refused of entry.refused ?? []) {
    const key = inForce[refused.agent];
    const code = key === undefined ? 'UNKNOWN_AGENT' : 'REVOKED_KEY';
    if (key === refused.publicKey || refused.code !== code)
      found.add(
        `replica ${replica} refused ${refused.agent}#${refused.requestId} at sequence ${entry.sequence} with ${refused.code}, but its key ${refused.publicKey.slice(0, 12)} ${key === refused.publicKey ? 'is the key in force' : `calls for ${code}`}`,
        entry.tick,
      );
  }
}
