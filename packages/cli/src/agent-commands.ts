/**
 * `conclave agent …`: the agent registry. `add` and `remove` propose the council action (then the
 * council votes with `conclave proposal vote`); `rotate` and `revoke` are an agent's own
 * self-service changes, effective at once; `list` and `council` read the registry.
 */
import { randomBytes } from 'node:crypto';
import { nodeCrypto } from '@conclave/core';
import { CliError } from '@conclave/node';
import { coordination, MembershipError, RejectedError } from '@conclave/sdk';
import { actionOf } from './action-args.ts';
import { actingAgent, asAgent, noMoreThan } from './agent-session.ts';
import { print, requireString, UsageError, type Values } from './args.ts';
import { agentKeyPath, connectAgent, loadAgentKey } from './connect.ts';
import { agentJson, agentLines, councilLines } from './governance-view.ts';
import {
  commitRotation,
  interruptedRotation,
  prepareRotation,
  type RotationFiles,
  restoreRotation,
  rotationFiles,
} from './key-rotation.ts';
import { proposeAction } from './proposal-commands.ts';

export async function agentCommand(args: readonly string[], values: Values): Promise<number> {
  const [action, ...rest] = args;
  switch (action) {
    case 'add':
      return proposeAction(actionOf('register-agent', rest, values), values);
    case 'remove':
      return proposeAction(actionOf('remove-agent', rest, values), values);
    case 'rotate':
      noMoreThan(rest, 0);
      return rotate(values);
    case 'revoke':
      noMoreThan(rest, 0);
      return revoke(values);
    case 'list':
      noMoreThan(rest, 0);
      return list(values);
    case 'council':
      noMoreThan(rest, 0);
      return council(values);
    default:
      throw new UsageError('agent takes add, remove, rotate, revoke, list or council');
  }
}

/**
 * Rotates the acting agent's key: a new key is made and put in its key file durably, then
 * rotate_key is sent, signed with the old key (see key-rotation.ts for the crash-safe order).
 */
async function rotate(values: Values): Promise<number> {
  const dir = requireString(values.dir, '--dir');
  const agent = actingAgent(values);
  const crypto = nodeCrypto();
  const files = rotationFiles(agentKeyPath(dir, agent));
  const interrupted = interruptedRotation(files);
  if (interrupted !== undefined) throw new CliError('ALREADY_EXISTS', interrupted);
  const oldKey = loadAgentKey(dir, agent, crypto);
  const newKey = crypto.keyPairFromSeed(new Uint8Array(randomBytes(32))).secretKey;
  // Connected (under the old key) before any file changes: a cluster that is down changes nothing.
  const client = await connectAgent({ dir, agent });
  try {
    prepareRotation(files, oldKey, newKey);
    const change = await coordination(client)
      .rotateKey(newKey)
      .catch((error: unknown) => settleFailedRotation(files, error));
    commitRotation(files);
    if (values.json)
      print(
        JSON.stringify({ agent: agent, effectiveFrom: change.effectiveFrom, ...agentJson(change.agent) }),
      );
    else {
      print(`rotated ${agent}'s key: the new key is in force from sequence ${change.effectiveFrom}`);
      print(`  ${files.current} now holds it; the old key is refused from now on`);
    }
    return 0;
  } finally {
    await client.close();
  }
}

/** A refusal changed nothing: the old key goes back. Anything else may have executed: both files stay. */
function settleFailedRotation(files: RotationFiles, error: unknown): never {
  if (error instanceof RejectedError) {
    restoreRotation(files);
    throw error;
  }
  const what = error instanceof Error ? error.message : String(error);
  throw new CliError(
    error instanceof MembershipError ? 'UNKNOWN_AGENT' : 'TIMEOUT',
    `the rotation may or may not have executed (${what}); ${files.current} holds the new key and ${files.old} the old one: "conclave agent list" shows which is in force (see "conclave help")`,
  );
}

async function revoke(values: Values): Promise<number> {
  const agent = actingAgent(values);
  if (values.yes !== true)
    throw new UsageError(
      `revoking removes ${agent} from the registry for good (only the council can register it again); add --yes`,
    );
  const change = await asAgent(values, (c) => c.revokeSelf());
  if (values.json) print(JSON.stringify({ effectiveFrom: change.effectiveFrom, ...agentJson(change.agent) }));
  else print(`revoked ${agent}: refused from sequence ${change.effectiveFrom} on`);
  return 0;
}

async function list(values: Values): Promise<number> {
  const agents = await asAgent(values, (c) => c.agents());
  if (values.json) print(JSON.stringify({ agents: agents.map(agentJson) }));
  else for (const agent of agents) for (const line of agentLines(agent)) print(line);
  return 0;
}

async function council(values: Values): Promise<number> {
  const { view, agents } = await asAgent(values, async (c) => ({
    view: await c.council(),
    agents: await c.agents(),
  }));
  if (values.json) print(JSON.stringify(view));
  else for (const line of councilLines(view, agents)) print(line);
  return 0;
}
