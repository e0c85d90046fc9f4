/**
 * `conclave genesis sign`: a replica operator's signature over the genesis hash, added to the
 * file. Only a genesis that passes every check (genesis-load.ts) is signed, and only with the key
 * of one of its replicas: an agent's key, or any other, is refused.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { type CryptoBackend, nodeCrypto, toHex } from '@conclave/core';
import { CliError } from './errors.ts';
import { type GenesisFile, type GenesisSignature, genesisSignedBytes } from './genesis-format.ts';
import type { CheckedGenesis } from './genesis-load.ts';
import type { KeyPair } from './key-file.ts';

export interface Signed {
  readonly genesis: GenesisFile;
  readonly replica: number;
  /** This replica's signature was already there (Ed25519 signs deterministically: the same one). */
  readonly already: boolean;
}

export function signGenesis(
  checked: CheckedGenesis,
  key: KeyPair,
  where: { readonly genesisPath: string; readonly keyPath: string },
  crypto: CryptoBackend = nodeCrypto(),
): Signed {
  const publicKey = toHex(key.publicKey);
  const entry = checked.file.replicas.find((r) => r.publicKey.toLowerCase() === publicKey);
  if (entry === undefined)
    throw new CliError(
      'GENESIS_NOT_A_SIGNER',
      `${where.keyPath} is not the key of any replica in ${where.genesisPath} (only replica operators sign)`,
    );
  const signature = toHex(crypto.sign(genesisSignedBytes(checked.hash), key.secretKey));
  const already = checked.signatures.signed.includes(entry.id);
  const signatures = [
    ...checked.file.signatures.filter((s) => s.replica !== entry.id),
    { replica: entry.id, signature },
  ].sort((a, b) => a.replica - b.replica);
  return { genesis: { ...checked.file, signatures }, replica: entry.id, already };
}

/**
 * One genesis with the signatures of several copies of it (operators who signed in parallel).
 * Every copy must be checked already and carry the same hash: a copy of another genesis is refused.
 */
export function mergeGenesis(
  copies: readonly { readonly path: string; readonly checked: CheckedGenesis }[],
): GenesisFile {
  const [first, ...others] = copies;
  if (first === undefined) throw new CliError('GENESIS_INVALID', 'nothing to merge');
  const other = others.find((copy) => copy.checked.hash !== first.checked.hash);
  if (other !== undefined)
    throw new CliError(
      'GENESIS_HASH_MISMATCH',
      `${other.path} is another genesis (hash ${other.checked.hash}) than ${first.path} (hash ${first.checked.hash})`,
    );
  const byReplica = new Map<number, GenesisSignature>();
  for (const copy of copies)
    for (const signature of copy.checked.file.signatures) byReplica.set(signature.replica, signature);
  const signatures = [...byReplica.values()].sort((a, b) => a.replica - b.replica);
  return { ...first.checked.file, signatures };
}

/** Writes a genesis file whole or not at all (rename), so a reader never sees half of one. */
export function writeGenesisFile(path: string, genesis: GenesisFile): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(genesis, null, 2)}\n`);
  renameSync(temporary, path);
}
