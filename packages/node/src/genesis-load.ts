/**
 * Reads genesis.json and runs every check of genesis-check.ts in order: what `conclave start`
 * (through `loadClusterFile`, which also demands completeness), `genesis verify` and
 * `genesis sign` read.
 */
import { existsSync, readFileSync } from 'node:fs';
import { type CryptoBackend, nodeCrypto } from '@conclave/core';
import { checkClusterFile } from './cluster-check.ts';
import { CliError } from './errors.ts';
import {
  checkGenesisIntegrity,
  checkGenesisParties,
  checkGenesisSignatures,
  type GenesisSignatures,
} from './genesis-check.ts';
import type { GenesisFile } from './genesis-format.ts';

export interface CheckedGenesis {
  readonly file: GenesisFile;
  readonly hash: string;
  readonly signatures: GenesisSignatures;
}

/** Parses a JSON file; CONFIG_MISSING or CONFIG_INVALID naming it. */
export function readJsonFile(path: string): unknown {
  if (!existsSync(path)) throw new CliError('CONFIG_MISSING', `no file at ${path}`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CliError('CONFIG_INVALID', `${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Checks an assembled genesis, signed or not; throws the first refusal (see genesis-check.ts). */
export function checkGenesis(
  parsed: unknown,
  path: string,
  options: { readonly pinnedHash?: string; readonly crypto?: CryptoBackend } = {},
): CheckedGenesis {
  const crypto = options.crypto ?? nodeCrypto();
  const hash = checkGenesisIntegrity(parsed, path, options.pinnedHash);
  const file = checkClusterFile(parsed, path);
  checkGenesisParties(file, path, crypto);
  const genesis = parsed as GenesisFile;
  return { file: genesis, hash, signatures: checkGenesisSignatures(genesis, path, crypto) };
}

/** Reads and checks the genesis at `path`. */
export function readGenesis(
  path: string,
  options: { readonly pinnedHash?: string; readonly crypto?: CryptoBackend } = {},
): CheckedGenesis {
  return checkGenesis(readJsonFile(path), path, options);
}
