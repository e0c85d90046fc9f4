/**
 * The genesis ceremony's commands (docs/operators-ceremony.md): `conclave keygen` (each party,
 * on its own machine), `conclave genesis assemble` (anyone, from the public join statements),
 * `conclave genesis sign` (each replica operator) and `conclave genesis verify` (everyone).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { nodeCrypto, REPLY_AUTH_SCHEMES, type ReplyAuth } from '@conclave/core';
import {
  type AssembleOptions,
  assembleGenesis,
  type CheckedGenesis,
  CliError,
  DEFAULT_CLUSTER_DIR,
  type KeygenOptions,
  keygen,
  mergeGenesis,
  readGenesis,
  readJsonFile,
  readSecretKeyFile,
  STATE_MACHINE_KINDS,
  type StateMachineKind,
  signGenesis,
  writeGenesisFile,
} from '@conclave/node';
import { agentIdOf, integer, jsonObjectFlag, print, requireString, UsageError, type Values } from './args.ts';

const CEREMONY_GUIDE = 'docs/operators-ceremony.md';
const HASH_HEX = /^[0-9a-fA-F]{64}$/;

/** `--genesis-hash H`: 64 hex digits, or absent. */
export function genesisHashFlag(value: Values[string]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !HASH_HEX.test(value))
    throw new UsageError('--genesis-hash takes the genesis hash: 64 hex digits, as genesis verify prints it');
  return value.toLowerCase();
}

function keygenOptionsOf(values: Values): KeygenOptions {
  const dir = typeof values.out === 'string' ? values.out : DEFAULT_CLUSTER_DIR;
  if ((values.replica === undefined) === (values.agent === undefined))
    throw new UsageError('keygen takes either --replica ID --host H --port P, or --agent NAME');
  if (typeof values.agent === 'string') {
    if (values.host !== undefined || values.port !== undefined || values['http-port'] !== undefined)
      throw new UsageError('an agent has no address: keygen --agent takes no --host, --port or --http-port');
    return { role: 'agent', id: agentIdOf(requireString(values.agent, '--agent')), dir };
  }
  return {
    role: 'replica',
    id: integer(values.replica, '--replica'),
    host: requireString(values.host, '--host'),
    port: integer(requireString(values.port, '--port'), '--port'),
    httpPort: integer(values['http-port'], '--http-port', 0),
    dir,
  };
}

export function keygenCommand(args: readonly string[], values: Values): number {
  if (args.length > 0) throw new UsageError(`unexpected arguments: ${args.join(' ')}`);
  const options = keygenOptionsOf(values);
  const { keyPath, statementPath, statement } = keygen(options);
  const who =
    statement.role === 'replica'
      ? `replica ${statement.id} at ${statement.host}:${statement.port}`
      : `agent ${statement.id}`;
  print(`${who}, public key ${statement.publicKey}`);
  print(`  secret key: ${keyPath} (owner only; it never leaves this machine)`);
  print(`  join statement: ${statementPath} (public; send it to whoever assembles the genesis)`);
  return 0;
}

export function genesisCommand(args: readonly string[], values: Values): Promise<number> | number {
  const [action, ...files] = args;
  switch (action) {
    case 'assemble':
      return assemble(files, values);
    case 'sign':
      return sign(files, values);
    case 'verify':
      return verify(files, values);
    case 'merge':
      return merge(files, values);
    default:
      throw new UsageError('genesis takes assemble, sign, merge or verify');
  }
}

function enumFlag<T extends string>(value: unknown, flag: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !allowed.includes(value as T))
    throw new UsageError(`${flag} takes ${allowed.join(' or ')}, got ${String(value)}`);
  return value as T;
}

/** `--weights alice=2,bob=3`: voting weights by agent. */
function weightsFlag(value: string): Record<string, number> {
  const weights: Record<string, number> = {};
  for (const pair of value.split(',')) {
    const [name, weight] = pair.split('=');
    if (name === undefined || name.trim() === '' || weight === undefined)
      throw new UsageError(`--weights takes NAME=W,… (got ${JSON.stringify(pair)})`);
    weights[agentIdOf(name.trim())] = integer(weight.trim(), '--weights');
  }
  return weights;
}

function assembleOptionsOf(values: Values): AssembleOptions {
  const council =
    typeof values.council === 'string'
      ? values.council.split(',').map((name) => agentIdOf(name.trim()))
      : undefined;
  const stateMachine = enumFlag<StateMachineKind>(
    values['state-machine'],
    '--state-machine',
    STATE_MACHINE_KINDS,
  );
  const replyAuth = enumFlag<ReplyAuth>(values['reply-auth'], '--reply-auth', REPLY_AUTH_SCHEMES);
  const protocol = jsonObjectFlag(values.protocol, '--protocol');
  const weights = typeof values.weights === 'string' ? weightsFlag(values.weights) : undefined;
  const observers =
    typeof values.observers === 'string'
      ? values.observers.split(',').map((name) => agentIdOf(name.trim()))
      : undefined;
  const coordination = jsonObjectFlag(values.coordination, '--coordination');
  return {
    ...(council === undefined ? {} : { council }),
    ...(values.threshold === undefined ? {} : { threshold: integer(values.threshold, '--threshold') }),
    ...(values['tick-ms'] === undefined ? {} : { tickMs: integer(values['tick-ms'], '--tick-ms') }),
    ...(protocol === undefined ? {} : { protocol }),
    ...(weights === undefined ? {} : { weights }),
    ...(observers === undefined ? {} : { observers }),
    ...(coordination === undefined ? {} : { coordination }),
    ...(stateMachine === undefined ? {} : { stateMachine }),
    ...(replyAuth === undefined ? {} : { replyAuth }),
  } as AssembleOptions;
}

function assemble(files: readonly string[], values: Values): number {
  const out = resolve(requireString(values.out, '--out'));
  if (files.length === 0) throw new UsageError('genesis assemble needs the join statement files');
  if (existsSync(out))
    throw new CliError('ALREADY_EXISTS', `${out} exists; choose another --out or remove it`);
  const inputs = files.map((file) => ({ source: file, json: readJsonFile(resolve(file)) }));
  const genesis = assembleGenesis(inputs, assembleOptionsOf(values));
  writeGenesisFile(out, genesis);
  const f = (genesis.replicas.length - 1) / 3;
  print(
    `assembled ${out}: ${genesis.replicas.length} replicas (f = ${f}), ${genesis.agents.length} agents, ` +
      `council ${genesis.council.members.join(', ')} (threshold ${genesis.council.threshold})`,
  );
  print(`hash ${genesis.hash}`);
  print('next: every replica operator runs genesis verify, compares the hash out of band, then genesis sign');
  return 0;
}

function oneFile(files: readonly string[], what: string): string {
  if (files.length !== 1) throw new UsageError(`genesis ${what} takes one genesis file`);
  return resolve(files[0] as string);
}

function sign(files: readonly string[], values: Values): number {
  const path = oneFile(files, 'sign');
  const keyPath = resolve(requireString(values.key, '--key'));
  const crypto = nodeCrypto();
  const checked = readGenesis(path, { crypto });
  const signed = signGenesis(
    checked,
    readSecretKeyFile(keyPath, crypto),
    { genesisPath: path, keyPath },
    crypto,
  );
  writeGenesisFile(path, signed.genesis);
  const count = signed.genesis.signatures.length;
  print(
    `${signed.already ? 'already signed' : 'signed'} as replica ${signed.replica}: ` +
      `${count} of ${signed.genesis.replicas.length} replicas have signed`,
  );
  print(`hash ${checked.hash}`);
  return 0;
}

/** `genesis merge COPY… --out FILE`: the signatures of copies signed in parallel, in one file. */
function merge(files: readonly string[], values: Values): number {
  const out = resolve(requireString(values.out, '--out'));
  if (files.length < 2) throw new UsageError('genesis merge takes two or more signed copies');
  const crypto = nodeCrypto();
  const copies = files.map((file) => ({
    path: resolve(file),
    checked: readGenesis(resolve(file), { crypto }),
  }));
  const merged = mergeGenesis(copies);
  writeGenesisFile(out, merged);
  print(`merged into ${out}: ${merged.signatures.length} of ${merged.replicas.length} replicas have signed`);
  print(`hash ${merged.hash}`);
  return 0;
}

function describe(checked: CheckedGenesis): string[] {
  const { file, signatures } = checked;
  const list = (ids: readonly number[]) => (ids.length === 0 ? 'none' : ids.join(', '));
  return [
    `hash ${checked.hash}`,
    `replicas ${file.replicas.map((r) => `${r.id}=${r.host}:${r.port}`).join(', ')}`,
    `agents ${file.agents.map((a) => a.id).join(', ')}`,
    `council ${file.council.members.join(', ')} (threshold ${file.council.threshold})`,
    `signed by replica ${list(signatures.signed)}; not yet by replica ${list(signatures.missing)}`,
    signatures.complete
      ? `complete: every replica operator signed; start with --genesis-hash ${checked.hash}`
      : `incomplete: ${signatures.missing.length} of ${file.replicas.length} replicas have not signed (see ${CEREMONY_GUIDE})`,
  ];
}

function verify(files: readonly string[], values: Values): number {
  const path = oneFile(files, 'verify');
  const pinnedHash = genesisHashFlag(values['genesis-hash']);
  const checked = readGenesis(path, pinnedHash === undefined ? {} : { pinnedHash });
  if (values.json)
    print(
      JSON.stringify({
        hash: checked.hash,
        signed: checked.signatures.signed,
        missing: checked.signatures.missing,
        complete: checked.signatures.complete,
      }),
    );
  else for (const line of describe(checked)) print(line);
  return checked.signatures.complete ? 0 : 1;
}
