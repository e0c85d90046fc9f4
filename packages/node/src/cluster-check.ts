/**
 * The checks every cluster config passes when it is read, whether it came from cluster.json or
 * from genesis.json: known enums, settings blocks, quotas that fit the registry, the council, and
 * the membership core accepts. Each refusal is a CONFIG_INVALID naming the file and the field.
 */
import { ConfigError, fromHex, REPLY_AUTH_SCHEMES, validateCluster } from '@conclave/core';
import { resolveAgentLimits } from './agent-limits.ts';
import type { ClusterFile } from './cluster-file.ts';
import { resolveConnectionLimits } from './connection-limits.ts';
import { resolveCoordinationConfig } from './coordination-config.ts';
import { checkCouncil, checkObserver, checkWeight } from './council.ts';
import { CliError } from './errors.ts';
import { VERIFY_WORKERS_MAX } from './verify-pool.ts';

/** What replicas execute: the coordination state machine (default), or the minimal KV. */
export type StateMachineKind = 'coordination' | 'kv';
export const STATE_MACHINE_KINDS: readonly StateMachineKind[] = ['coordination', 'kv'];

/** Checks a parsed config read from `path`; returns it typed, or throws CONFIG_INVALID. */
export function checkClusterFile(parsed: unknown, path: string): ClusterFile {
  const file = parsed as ClusterFile;
  if (
    file === null ||
    typeof file !== 'object' ||
    file.version !== 1 ||
    !Array.isArray(file.replicas) ||
    !Array.isArray(file.agents)
  ) {
    throw new CliError('CONFIG_INVALID', `${path} is not a version 1 cluster config`);
  }
  const invalid = (message: string): never => {
    throw new CliError('CONFIG_INVALID', `${path}: ${message}`);
  };
  if (file.stateMachine !== undefined && !STATE_MACHINE_KINDS.includes(file.stateMachine))
    invalid(`"stateMachine" must be one of ${STATE_MACHINE_KINDS.join(', ')}`);
  if (file.replyAuth !== undefined && !REPLY_AUTH_SCHEMES.includes(file.replyAuth))
    invalid(`"replyAuth" must be one of ${REPLY_AUTH_SCHEMES.join(', ')}`);
  if (
    file.verifyWorkers !== undefined &&
    (!Number.isSafeInteger(file.verifyWorkers) ||
      file.verifyWorkers < 0 ||
      file.verifyWorkers > VERIFY_WORKERS_MAX)
  )
    invalid(`"verifyWorkers" must be a whole number from 0 to ${VERIFY_WORKERS_MAX}`);
  checkSettingsIn(path, file.agentLimits, resolveAgentLimits);
  checkSettingsIn(path, file.connectionLimits, resolveConnectionLimits);
  // The kv state machine keeps no per-agent state: its registry need not fit the quotas, but a
  // stray block is still checked field by field, so a typo never waits for a switch back.
  const quotaHolders = file.stateMachine === 'kv' ? 1 : file.agents.length;
  const limits = resolveCoordinationConfig(file.coordination, quotaHolders, path);
  checkMembership(file, path);
  // Council members vote on one proposal: no more than a proposal may have voters.
  if (file.council !== undefined && file.council.members.length > limits.votersMax)
    invalid(
      `the council has ${file.council.members.length} members, more than votersMax ${limits.votersMax} (a coordination limit)`,
    );
  return file;
}

/** Core's membership rules, then the council and weights over the agents. */
function checkMembership(file: ClusterFile, path: string): void {
  try {
    validateCluster({
      replicas: file.replicas.map((r) => ({ id: r.id, publicKey: fromHex(r.publicKey) })),
      agents: file.agents.map((a) => ({ id: a.id, publicKey: fromHex(a.publicKey) })),
    });
  } catch (error) {
    if (error instanceof ConfigError || error instanceof TypeError)
      throw new CliError('CONFIG_INVALID', `${path}: ${error.message}`);
    throw error;
  }
  const agentIds = file.agents.map((a) => a.id);
  const observerIds = file.agents.filter((a) => a.observer === true).map((a) => a.id);
  const problem =
    file.agents
      .map((a) => checkWeight(a.weight, a.id) ?? checkObserver(a.observer, a.id))
      .find((p) => p !== undefined) ??
    (file.council === undefined ? undefined : checkCouncil(file.council, agentIds, observerIds));
  if (problem !== undefined) throw new CliError('CONFIG_INVALID', `${path}: ${problem}`);
}

/** Runs a settings block's check, its RangeError reported as CONFIG_INVALID naming the file. */
function checkSettingsIn(path: string, value: unknown, check: (value: unknown) => unknown): void {
  if (value === undefined) return;
  try {
    check(value);
  } catch (error) {
    if (error instanceof RangeError) throw new CliError('CONFIG_INVALID', `${path}: ${error.message}`);
    throw error;
  }
}
