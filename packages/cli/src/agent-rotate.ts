/**
 * `conclave agent rotate`: the acting agent's self-service key rotation. The new key is on disk
 * before rotate_key is sent, and the key files say where each key is whatever the outcome (see
 * key-rotation.ts for the order and what a crash leaves).
 */
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { nodeCrypto } from '@conclave/core';
import { CliError } from '@conclave/node';
import { coordination, MembershipError, RejectedError } from '@conclave/sdk';
import { actingAgent } from './agent-session.ts';
import { print, requireString, type Values } from './args.ts';
import { agentKeyPath, connectAgent, loadAgentKey } from './connect.ts';
import { agentJson } from './governance-view.ts';
import {
  commitRotation,
  interruptedRotation,
  prepareRotation,
  restoreRotation,
  rotationFiles,
  writeNewKeyFile,
} from './key-rotation.ts';

/** Where the new key goes, and what becomes of the key files once the cluster has answered. */
interface RotationPlan {
  readonly keyPath: string;
  prepare(oldKey: Uint8Array, newKey: Uint8Array): void;
  executed(): void;
  refused(): void;
  /** Where each key is when the outcome is unknown. */
  readonly unknown: string;
}

/** In place (keys/AGENT.secret, the old key kept as .old until the answer), or `--out DIR`. */
function rotationPlan(dir: string, agent: string, out: Values[string]): RotationPlan {
  const current = agentKeyPath(dir, agent);
  if (typeof out === 'string') {
    const keyPath = agentKeyPath(out, agent);
    return {
      keyPath,
      prepare: (_old, newKey) => writeNewKeyFile(keyPath, newKey),
      executed: () => undefined,
      refused: () => unlinkSync(keyPath),
      unknown: `${keyPath} holds the new key and ${current} the old one`,
    };
  }
  const files = rotationFiles(current);
  const interrupted = interruptedRotation(files);
  if (interrupted !== undefined) throw new CliError('ALREADY_EXISTS', interrupted);
  return {
    keyPath: current,
    prepare: (oldKey, newKey) => prepareRotation(files, oldKey, newKey),
    executed: () => commitRotation(files),
    refused: () => restoreRotation(files),
    unknown: `${files.current} holds the new key and ${files.old} the old one`,
  };
}

/**
 * Rotates the acting agent's key: a new key is made and written durably, then rotate_key is
 * sent, signed with the old key (see key-rotation.ts for the crash-safe order).
 */
export async function rotate(values: Values): Promise<number> {
  const dir = requireString(values.dir, '--dir');
  const agent = actingAgent(values);
  const crypto = nodeCrypto();
  const plan = rotationPlan(dir, agent, values.out);
  const oldKey = loadAgentKey(dir, agent, crypto);
  const newKey = crypto.keyPairFromSeed(new Uint8Array(randomBytes(32))).secretKey;
  // Connected (under the old key) before any file changes: a cluster that is down changes nothing.
  const client = await connectAgent({ dir, agent });
  try {
    plan.prepare(oldKey, newKey);
    const change = await coordination(client)
      .rotateKey(newKey)
      .catch((error: unknown) => settleFailedRotation(plan, error));
    plan.executed();
    if (values.json)
      print(JSON.stringify({ effectiveFrom: change.effectiveFrom, ...agentJson(change.agent) }));
    else {
      print(`rotated ${agent}'s key: the new key is in force from sequence ${change.effectiveFrom}`);
      print(`  ${plan.keyPath} holds it; the old key is refused from now on`);
    }
    return 0;
  } finally {
    await client.close();
  }
}

/** A refusal changed nothing: the old key is the agent's again. Anything else may have executed: both stay. */
function settleFailedRotation(plan: RotationPlan, error: unknown): never {
  if (error instanceof RejectedError) {
    plan.refused();
    throw error;
  }
  const what =
    error instanceof MembershipError
      ? `${error.code}: ${error.message}`
      : String((error as Error)?.message ?? error);
  throw new CliError(
    'TIMEOUT',
    `the rotation may or may not have executed (${what}); ${plan.unknown}: "conclave agent list" shows which key is in force (docs/commands.md, agent rotate)`,
  );
}
