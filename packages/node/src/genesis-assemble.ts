/**
 * `conclave genesis assemble`: the genesis from the parties' join statements, checked before it
 * is written (any refusal names the statement's file): each statement's proof of possession; one
 * statement per replica id and per agent name; one public key per party; replica ids exactly
 * 0..n-1 with n = 3f+1 >= 4; a council of agents in the genesis with 1 <= threshold <= members;
 * protocol settings and coordination limits as every replica will check them. Nobody has signed
 * it yet (`signatures: []`): each replica operator verifies, then runs `genesis sign`.
 */
import type { CoordinationLimits } from '@conclave/coordination';
import {
  type CryptoBackend,
  checkJoinStatement,
  DEFAULT_PROTOCOL_CONFIG,
  type JoinStatement,
  joinStatementFromJson,
  nodeCrypto,
  type ProtocolConfig,
  type ReplyAuth,
  toHex,
  validateProtocol,
} from '@conclave/core';
import { checkClusterFile, type StateMachineKind } from './cluster-check.ts';
import { DEFAULT_TICK_MS } from './cluster-file.ts';
import { type Council, checkCouncil, checkWeight, defaultCouncil } from './council.ts';
import { CliError } from './errors.ts';
import { genesisRuleProblem } from './genesis-check.ts';
import {
  type GenesisAgent,
  type GenesisBody,
  type GenesisFile,
  type GenesisReplica,
  genesisHashOf,
} from './genesis-format.ts';

/** One statement file, as read: where it came from and its parsed JSON. */
export interface StatementInput {
  readonly source: string;
  readonly json: unknown;
}

export interface AssembleOptions {
  /** Council members (agent ids); default every agent. */
  readonly council?: readonly string[];
  /** Default floor(members / 2) + 1. */
  readonly threshold?: number;
  /** Voting weights by agent id (whole numbers >= 1); an agent not named has weight 1 (none written). */
  readonly weights?: Readonly<Record<string, number>>;
  /** Agents that only read (a dashboard's, an auditor's): never writers, voters or council members. */
  readonly observers?: readonly string[];
  readonly tickMs?: number;
  readonly protocol?: Partial<ProtocolConfig>;
  readonly coordination?: Partial<CoordinationLimits>;
  readonly stateMachine?: StateMachineKind;
  readonly replyAuth?: ReplyAuth;
}

interface Checked {
  readonly source: string;
  readonly statement: JoinStatement;
  readonly httpPort: number;
}

const invalid = (message: string): never => {
  throw new CliError('GENESIS_INVALID', message);
};

/** Parses and checks one statement file. */
function checkStatement(input: StatementInput, crypto: CryptoBackend): Checked {
  let statement: JoinStatement;
  try {
    statement = joinStatementFromJson(input.json);
  } catch (error) {
    return invalid(`${input.source}: ${(error as Error).message}`);
  }
  const problem = checkJoinStatement(statement, crypto);
  if (problem !== undefined) throw new CliError('GENESIS_BAD_PROOF', `${input.source}: ${problem}`);
  const httpPort = (input.json as { httpPort?: unknown }).httpPort ?? 0;
  if (
    statement.role === 'replica' &&
    (!Number.isInteger(httpPort) || (httpPort as number) < 0 || (httpPort as number) > 65535)
  )
    invalid(`${input.source}: "httpPort" must be 0..65535`);
  return { source: input.source, statement, httpPort: httpPort as number };
}

/** The first id two statements share, with both files, or undefined. */
function duplicateId(statements: readonly Checked[]): string | undefined {
  const seen = new Map<string, string>();
  for (const { source, statement } of statements) {
    const earlier = seen.get(statement.id);
    if (earlier !== undefined)
      return `${statement.role} ${statement.id} has two statements: ${earlier} and ${source}`;
    seen.set(statement.id, source);
  }
  return undefined;
}

/** Replicas in id order, refused unless their ids are exactly 0..n-1, n = 3f+1 >= 4. */
function replicasOf(statements: readonly Checked[]): GenesisReplica[] {
  const replicas = statements
    .filter((s) => s.statement.role === 'replica')
    .sort((a, b) => Number(a.statement.id) - Number(b.statement.id));
  const problem = duplicateId(replicas);
  if (problem !== undefined) invalid(problem);
  const n = replicas.length;
  if (n < 4 || (n - 1) % 3 !== 0) invalid(`a genesis needs 3f+1 replicas (4, 7, 10, …), got ${n}`);
  replicas.forEach((r, index) => {
    if (Number(r.statement.id) !== index)
      invalid(
        `replica ids must be exactly 0..${n - 1}: replica ${index} is missing (${r.source} is replica ${r.statement.id})`,
      );
  });
  return replicas.map(({ statement, httpPort }) => ({
    id: Number(statement.id),
    publicKey: toHex(statement.publicKey),
    host: statement.host,
    port: statement.port,
    httpPort,
    proof: toHex(statement.signature),
  }));
}

function agentsOf(statements: readonly Checked[], options: AssembleOptions): GenesisAgent[] {
  const agents = statements.filter((s) => s.statement.role === 'agent');
  // Agents can later be added only by the council's votes: with none there is no one to vote.
  if (agents.length === 0) invalid('a genesis needs at least one agent statement (its council)');
  const problem = duplicateId(agents);
  if (problem !== undefined) invalid(problem);
  const weights = options.weights ?? {};
  const observers = options.observers ?? [];
  checkNamed(Object.keys(weights), agents, 'weights');
  checkNamed(observers, agents, 'observers');
  return agents.map(({ statement }) => {
    const weight = weights[statement.id];
    const problem = checkWeight(weight, statement.id);
    if (problem !== undefined) invalid(problem);
    return {
      id: statement.id,
      publicKey: toHex(statement.publicKey),
      proof: toHex(statement.signature),
      ...(weight === undefined ? {} : { weight }),
      ...(observers.includes(statement.id) ? { observer: true } : {}),
    };
  });
}

/** Every id an option names is an agent of this genesis. */
function checkNamed(ids: readonly string[], agents: readonly Checked[], option: string): void {
  const strangers = ids.filter((id) => !agents.some((a) => a.statement.id === id));
  if (strangers.length > 0) invalid(`${option} name ${strangers.join(', ')}, not agents of this genesis`);
}

function councilOf(agents: readonly GenesisAgent[], options: AssembleOptions): Council {
  // The default council is every agent that may vote: observers may not.
  const members = options.council ?? agents.filter((a) => a.observer !== true).map((a) => a.id);
  const council =
    options.threshold === undefined
      ? defaultCouncil(members)
      : { members: [...members], threshold: options.threshold };
  const problem = checkCouncil(
    council,
    agents.map((a) => a.id),
    agents.filter((a) => a.observer === true).map((a) => a.id),
  );
  return problem === undefined ? council : invalid(problem);
}

function checkProtocol(protocol: Partial<ProtocolConfig>, tickMs: number): void {
  if (!Number.isSafeInteger(tickMs) || tickMs < 1)
    invalid(`--tick-ms must be a whole number >= 1, got ${tickMs}`);
  const unknown = Object.keys(protocol).filter((name) => !(name in DEFAULT_PROTOCOL_CONFIG));
  if (unknown.length > 0) invalid(`unknown protocol setting ${unknown.join(', ')}`);
  try {
    validateProtocol({ ...DEFAULT_PROTOCOL_CONFIG, ...protocol });
  } catch (error) {
    invalid(`protocol: ${(error as Error).message}`);
  }
}

/** Checks every statement and the settings; returns the unsigned genesis with its hash. */
export function assembleGenesis(
  inputs: readonly StatementInput[],
  options: AssembleOptions = {},
  crypto: CryptoBackend = nodeCrypto(),
): GenesisFile {
  const statements = inputs.map((input) => checkStatement(input, crypto));
  const replicas = replicasOf(statements);
  const agents = agentsOf(statements, options);
  const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
  checkProtocol(options.protocol ?? {}, tickMs);
  const body: GenesisBody = {
    version: 1,
    tickMs,
    stateMachine: options.stateMachine ?? 'coordination',
    replyAuth: options.replyAuth ?? 'channel',
    protocol: options.protocol ?? {},
    ...(options.coordination === undefined ? {} : { coordination: options.coordination }),
    replicas,
    agents,
    council: councilOf(agents, options),
  };
  // The checks every replica will run at start, now, so nothing assembled is refused later.
  const rule = genesisRuleProblem(body);
  if (rule !== undefined) invalid(rule);
  checkClusterFile(body, 'the genesis');
  return { ...body, hash: genesisHashOf(body), signatures: [] };
}
