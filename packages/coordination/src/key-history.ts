/**
 * Key history: which public key an agent's signatures were checked against at each point of
 * the log. A change executed while sequence `s` runs (registration, rotation, removal) takes
 * effect from `s + 1`: the old key's interval ends at `s + 1` and the new one's starts there.
 *
 * Pure and exported, for offline verifiers: given `list_agents` output, `keyInForce` says which
 * key a request, ballot or receipt of sequence `s` must verify against.
 */

/** One key and the sequences [from, until) in which requests and ballots signed with it were accepted; `until` null while in force. */
export interface KeyInterval {
  readonly publicKey: Uint8Array;
  readonly from: number;
  readonly until: number | null;
}

/** An agent's key history, oldest first (what `list_agents` returns per agent under `keys`). */
export interface AgentKeyHistory {
  readonly id: string;
  readonly keys: readonly KeyInterval[];
}

/** Whether `interval` covers `sequence`. */
export function covers(interval: KeyInterval, sequence: number): boolean {
  return interval.from <= sequence && (interval.until === null || sequence < interval.until);
}

/**
 * The key of `agent` in force at `sequence`, from a registry's history (e.g. `list_agents`
 * pages); undefined when the agent had no key then (not yet registered, removed, or the interval
 * was dropped from the bounded history).
 */
export function keyInForce(
  history: readonly AgentKeyHistory[],
  agent: string,
  sequence: number,
): Uint8Array | undefined {
  const record = history.find((a) => a.id === agent);
  return record?.keys.find((interval) => covers(interval, sequence))?.publicKey;
}
