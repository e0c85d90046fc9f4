/**
 * Governance actions from command-line arguments: a join statement file (as `conclave keygen`
 * writes it), `--weight W`, `--quota name=value` (repeatable), `--observer` (register a read-only agent), `--council A,B --threshold K`.
 * Everything is checked here first, so a typo is a usage error, not a proposal the council
 * has to reject.
 */
import {
  type AgentQuotas,
  actions,
  type GovernanceAction,
  QUOTA_LIMIT_NAMES,
  type QuotaLimitName,
} from '@conclave/coordination';
import {
  checkJoinStatement,
  decodeJoinStatement,
  encodeJoinStatement,
  joinStatementFromJson,
  nodeCrypto,
} from '@conclave/core';
import { readJsonFile } from '@conclave/node';
import { agentIdOf, integer, requireString, UsageError, type Values } from './args.ts';

/** The action kinds `proposal propose-action` takes, as typed on the command line. */
export const ACTION_WORDS = [
  'register-agent',
  'remove-agent',
  'rotate-agent-key',
  'set-agent-weight',
  'set-agent-quotas',
  'set-council',
] as const;

/** A join statement file of an agent, checked (shape and proof of possession), as bytes for an action. */
export function joinStatementFile(path: string): { readonly id: string; readonly bytes: Uint8Array } {
  const json = readJsonFile(path);
  let statement: ReturnType<typeof joinStatementFromJson>;
  try {
    statement = joinStatementFromJson(json);
  } catch (error) {
    throw new UsageError(`${path}: ${(error as Error).message}`);
  }
  if (statement.role !== 'agent') throw new UsageError(`${path} is a ${statement.role}'s join statement`);
  const problem = checkJoinStatement(statement, nodeCrypto());
  if (problem !== undefined) throw new UsageError(`${path}: ${problem}`);
  return { id: statement.id, bytes: encodeJoinStatement(statement) };
}

/** `--weight W`: a whole number ≥ 1. */
export function weightFlag(value: Values[string], fallback?: number): number {
  const weight = integer(value, '--weight', fallback);
  if (weight < 1) throw new UsageError(`--weight takes a whole number >= 1, got ${weight}`);
  return weight;
}

/** `--quota name=value`, repeatable: per-agent quota overrides (each at most the global limit). */
export function quotasFlag(value: Values[string]): AgentQuotas {
  const items = value === undefined ? [] : Array.isArray(value) ? value : [String(value)];
  const quotas: { [K in QuotaLimitName]?: number } = {};
  for (const item of items.flatMap((i) => i.split(','))) {
    const [name = '', raw] = item.split('=');
    if (!(QUOTA_LIMIT_NAMES as readonly string[]).includes(name))
      throw new UsageError(`--quota takes name=value with a name among ${QUOTA_LIMIT_NAMES.join(', ')}`);
    const quota = integer(raw, `--quota ${name}`);
    if (quota < 1) throw new UsageError(`--quota ${name} must be >= 1, got ${quota}`);
    quotas[name as QuotaLimitName] = quota;
  }
  return quotas;
}

/** `--council A,B --threshold K` as a set_council action. */
function councilAction(values: Values): GovernanceAction {
  const members = requireString(values.council, '--council')
    .split(',')
    .map((m) => agentIdOf(m.trim()))
    .filter((m) => m !== '');
  return actions.setCouncil(members, integer(requireString(values.threshold, '--threshold'), '--threshold'));
}

/** An action of `kind` (one of ACTION_WORDS) from its positional arguments and flags. */
export function actionOf(kind: string, args: readonly string[], values: Values): GovernanceAction {
  const want = (count: number, what: string) => {
    if (args.length !== count) throw new UsageError(`${kind} takes ${what}`);
  };
  switch (kind) {
    case 'register-agent':
      want(1, 'STATEMENT.join.json');
      return actions.registerAgent({
        joinStatement: joinStatementFile(args[0] as string).bytes,
        weight: weightFlag(values.weight, 1),
        quotas: quotasFlag(values.quota),
        observer: values.observer === true,
      });
    case 'remove-agent':
      want(1, 'an agent id');
      return actions.removeAgent(agentIdOf(args[0] as string));
    case 'rotate-agent-key': {
      want(2, 'an agent id and its new STATEMENT.join.json');
      const statement = joinStatementFile(args[1] as string);
      const agent = agentIdOf(args[0] as string);
      if (statement.id !== agent) throw new UsageError(`the statement is ${statement.id}'s, not ${agent}'s`);
      return actions.rotateAgentKey(agent, statement.bytes);
    }
    case 'set-agent-weight':
      want(2, 'an agent id and a weight');
      return actions.setAgentWeight(agentIdOf(args[0] as string), weightFlag(args[1]));
    case 'set-agent-quotas':
      want(1, 'an agent id (and --quota name=value …)');
      return actions.setAgentQuotas(agentIdOf(args[0] as string), quotasFlag(values.quota));
    case 'set-council':
      want(0, '--council A,B --threshold K');
      return councilAction(values);
    default:
      throw new UsageError(`propose-action takes ${ACTION_WORDS.join(', ')}; got ${JSON.stringify(kind)}`);
  }
}

/** A default proposal id: the action and its subject, and the time, so a second attempt gets a new one. */
export function defaultProposalId(action: GovernanceAction): string {
  const subject =
    action.kind === 'set_council'
      ? 'council'
      : action.kind === 'register_agent'
        ? (decodeJoinStatement(action.joinStatement)?.id ?? 'agent')
        : action.agent;
  return `${action.kind.replace(/_/g, '-')}-${subject}-${Date.now().toString(36)}`;
}
