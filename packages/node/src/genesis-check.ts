/**
 * What makes a genesis trustworthy, checked in this order by `conclave start`, `genesis verify`
 * and `genesis sign`, each refusal a CliError with its own code:
 *
 * 1. GENESIS_INVALID: no `hash` / `signatures` of the right shape.
 * 2. GENESIS_ALTERED: the content does not hash to the carried `hash`.
 * 3. GENESIS_HASH_MISMATCH: the hash is not the one the operator pinned (`--genesis-hash`).
 * 4. (the caller) CONFIG_INVALID: the cluster config checks of cluster.json.
 * 5. GENESIS_INVALID: the genesis rules (`genesisRuleProblem`).
 * 6. GENESIS_BAD_PROOF: an entry's proof of possession does not hold.
 * 7. GENESIS_BAD_SIGNATURE: a signature by no replica, twice by one, or not valid.
 * 8. GENESIS_INCOMPLETE (start only): some replica has not signed.
 */
import { type CryptoBackend, checkJoinStatement, fromHex } from '@conclave/core';
import type { ClusterFile } from './cluster-file.ts';
import { checkCouncil } from './council.ts';
import { CliError } from './errors.ts';
import {
  agentClaim,
  type GenesisFile,
  genesisHashOf,
  genesisSignedBytes,
  replicaClaim,
} from './genesis-format.ts';

const HEX_BYTES = (bytes: number) => new RegExp(`^[0-9a-f]{${2 * bytes}}$`);
const HASH_HEX = HEX_BYTES(32);
const SIGNATURE_HEX = HEX_BYTES(64);

/** Steps 1-3: the file is the genesis it says it is (and the pinned one). Returns its hash. */
export function checkGenesisIntegrity(parsed: unknown, path: string, pinnedHash?: string): string {
  const file = parsed as Partial<GenesisFile> | null;
  if (file === null || typeof file !== 'object' || typeof file.hash !== 'string' || !HASH_HEX.test(file.hash))
    throw new CliError('GENESIS_INVALID', `${path} has no "hash" (64 hex digits): not an assembled genesis`);
  if (!Array.isArray(file.signatures))
    throw new CliError('GENESIS_INVALID', `${path}: "signatures" must be a list`);
  const computed = genesisHashOf(file);
  if (computed !== file.hash)
    throw new CliError(
      'GENESIS_ALTERED',
      `${path} was altered after assembly: its content hashes to ${computed}, not to its "hash" ${file.hash}`,
    );
  if (pinnedHash !== undefined && pinnedHash.toLowerCase() !== file.hash)
    throw new CliError(
      'GENESIS_HASH_MISMATCH',
      `${path} has hash ${file.hash}, not the pinned --genesis-hash ${pinnedHash}: this is not the genesis you agreed on`,
    );
  return computed;
}

/**
 * Step 5, the rules a genesis adds to a cluster config's: n = 3f+1 replicas, one public key per
 * party, a council. Shared with `assembleGenesis`, so nothing assembled fails them later.
 */
export function genesisRuleProblem(file: ClusterFile): string | undefined {
  const n = file.replicas.length;
  if (n < 4 || (n - 1) % 3 !== 0) return `a genesis needs 3f+1 replicas (4, 7, 10, …), got ${n}`;
  const keys = [...file.replicas, ...file.agents].map((entry) => entry.publicKey.toLowerCase());
  const repeated = keys.find((key, index) => keys.indexOf(key) !== index);
  if (repeated !== undefined)
    return `public key ${repeated} belongs to two parties: every party needs its own key`;
  if (file.agents.length === 0) return 'a genesis needs at least one agent (its council)';
  if (file.council === undefined) return 'a genesis needs a "council"';
  return checkCouncil(
    file.council,
    file.agents.map((a) => a.id),
  );
}

/** Steps 5 and 6: the genesis rules, and every entry's proof of possession. */
export function checkGenesisParties(file: ClusterFile, path: string, crypto: CryptoBackend): void {
  const rule = genesisRuleProblem(file);
  if (rule !== undefined) throw new CliError('GENESIS_INVALID', `${path}: ${rule}`);
  const genesis = file as unknown as GenesisFile;
  const entries = [
    ...genesis.replicas.map((entry) => ({ claim: replicaClaim(entry), proof: entry.proof })),
    ...genesis.agents.map((entry) => ({ claim: agentClaim(entry), proof: entry.proof })),
  ];
  for (const { claim, proof } of entries) {
    const who = `${claim.role} ${claim.id}`;
    if (typeof proof !== 'string' || !SIGNATURE_HEX.test(proof))
      throw new CliError('GENESIS_BAD_PROOF', `${path}: ${who} has no "proof" (128 hex digits)`);
    const problem = checkJoinStatement({ ...claim, signature: fromHex(proof) }, crypto);
    if (problem !== undefined) throw new CliError('GENESIS_BAD_PROOF', `${path}: ${problem}`);
  }
}

/** Who has signed and who has not. */
export interface GenesisSignatures {
  readonly signed: readonly number[];
  readonly missing: readonly number[];
  readonly complete: boolean;
}

/** Step 7: every signature is one replica's, once, valid over the hash. */
export function checkGenesisSignatures(
  file: GenesisFile,
  path: string,
  crypto: CryptoBackend,
): GenesisSignatures {
  const signed = new Set<number>();
  const bad = (message: string): never => {
    throw new CliError('GENESIS_BAD_SIGNATURE', `${path}: ${message}`);
  };
  const message = genesisSignedBytes(file.hash);
  for (const entry of file.signatures) {
    const replica = file.replicas.find((r) => r.id === entry?.replica);
    if (replica === undefined) bad(`a signature names replica ${String(entry?.replica)}, which is not in it`);
    if (signed.has(entry.replica)) bad(`replica ${entry.replica} signed twice`);
    if (typeof entry.signature !== 'string' || !SIGNATURE_HEX.test(entry.signature))
      bad(`replica ${entry.replica}'s signature must be 128 hex digits`);
    if (
      !crypto.verify(message, fromHex(entry.signature), fromHex((replica as { publicKey: string }).publicKey))
    )
      bad(`replica ${entry.replica}'s signature does not verify with its key: refuse this genesis`);
    signed.add(entry.replica);
  }
  const all = file.replicas.map((r) => r.id);
  const missing = all.filter((id) => !signed.has(id));
  return { signed: all.filter((id) => signed.has(id)), missing, complete: missing.length === 0 };
}

/** Step 8: every replica operator signed. */
export function requireComplete(signatures: GenesisSignatures, path: string): void {
  if (!signatures.complete)
    throw new CliError(
      'GENESIS_INCOMPLETE',
      `${path} is not signed by every replica operator yet (missing: replica ${signatures.missing.join(', ')}); ` +
        'run conclave genesis verify',
    );
}
