/**
 * `conclave keygen`: one party makes its own key, on its own machine, and says who it is in a
 * join statement signed with that key (proof of possession). Nothing here needs anyone else's
 * secret: the statement is public and goes to whoever assembles the genesis.
 *
 * ```
 * DIR/keys/replica-2.secret    (or keys/NAME.secret for an agent; mode 0600, never overwritten)
 * DIR/replica-2.join.json      (the join statement; for a replica also "httpPort", see below)
 * ```
 *
 * A replica's statement signs its id, key, host and port: where the others reach it. Its
 * `httpPort` (GET /metrics, /health, /status on 127.0.0.1 only, so of no concern to the others)
 * rides along as an extra, unsigned field; `genesis assemble` copies it into the replica's entry,
 * where the genesis hash covers it. 0, the default, lets the OS choose and the daemon report it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type CryptoBackend,
  checkJoinStatement,
  type JoinClaim,
  type JoinStatementJson,
  joinStatementToJson,
  nodeCrypto,
  signJoinStatement,
} from '@conclave/core';
import { DEFAULT_CLUSTER_DIR, replicaKeyName } from './cluster-file.ts';
import { CliError } from './errors.ts';
import { writeSecretKeyFile } from './key-file.ts';

/** A join statement as keygen writes it: a replica's may carry its local metrics port. */
export type StatementFile = JoinStatementJson & { readonly httpPort?: number };

export type KeygenOptions =
  | {
      readonly role: 'replica';
      readonly id: number;
      readonly host: string;
      readonly port: number;
      readonly httpPort?: number;
      readonly dir?: string;
    }
  | { readonly role: 'agent'; readonly id: string; readonly dir?: string };

export interface KeygenResult {
  readonly keyPath: string;
  readonly statementPath: string;
  readonly statement: StatementFile;
}

/** The file name (without extension) of a party's key and statement. */
export function partyName(options: KeygenOptions): string {
  return options.role === 'replica' ? replicaKeyName(options.id) : options.id;
}

function claimOf(options: KeygenOptions, publicKey: Uint8Array): JoinClaim {
  return options.role === 'replica'
    ? { role: 'replica', id: String(options.id), publicKey, host: options.host, port: options.port }
    : { role: 'agent', id: options.id, publicKey, host: '', port: 0 };
}

/** Makes the key, signs the statement, checks it as the assembler will, then writes both. */
export function keygen(options: KeygenOptions, crypto: CryptoBackend = nodeCrypto()): KeygenResult {
  const dir = resolve(options.dir ?? DEFAULT_CLUSTER_DIR);
  const name = partyName(options);
  const httpPort = options.role === 'replica' ? (options.httpPort ?? 0) : undefined;
  if (httpPort !== undefined && (!Number.isInteger(httpPort) || httpPort < 0 || httpPort > 65535))
    throw new CliError('BAD_ARGUMENT', `--http-port must be 0..65535, got ${httpPort}`);
  const pair = crypto.keyPairFromSeed(new Uint8Array(randomBytes(32)));
  const statement = signJoinStatement(claimOf(options, pair.publicKey), pair.secretKey, crypto);
  // Bad input (an id, host or port the statement cannot carry) is refused before any file exists.
  const problem = checkJoinStatement(statement, crypto);
  if (problem !== undefined) throw new CliError('BAD_ARGUMENT', problem);
  const keyPath = join(dir, 'keys', `${name}.secret`);
  if (existsSync(keyPath))
    throw new CliError('ALREADY_EXISTS', `${keyPath} exists; a key is never overwritten (remove it first)`);
  mkdirSync(join(dir, 'keys'), { recursive: true, mode: 0o700 });
  writeSecretKeyFile(keyPath, pair.secretKey);
  const json: StatementFile = {
    ...joinStatementToJson(statement),
    ...(httpPort === undefined ? {} : { httpPort }),
  };
  const statementPath = join(dir, `${name}.join.json`);
  writeFileSync(statementPath, `${JSON.stringify(json, null, 2)}\n`);
  return { keyPath, statementPath, statement: json };
}
