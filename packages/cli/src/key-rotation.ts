/**
 * The key files of a self-service key rotation (`conclave agent rotate`), ordered so that no
 * crash loses the key the cluster holds for the agent:
 *
 * 1. `prepare`: the old key is copied to keys/AGENT.secret.old, the new one written to
 *    keys/AGENT.secret.new, and renamed over keys/AGENT.secret; each file and the directory are
 *    fsynced. Only then is rotate_key sent (signed with the old key, held in memory).
 * 2. `commit` (the rotation executed): keys/AGENT.secret.old is deleted.
 * 3. `restore` (the cluster refused it: nothing changed): keys/AGENT.secret.old is renamed back.
 *
 * A crash, or an answer that does not say whether it executed (timeout), leaves both files:
 * keys/AGENT.secret holds the new key and keys/AGENT.secret.old the old one. `conclave agent
 * list` then shows which is in force: if the new key, delete the .old file; if the old one,
 * rename the .old file back over keys/AGENT.secret. `rotate` refuses to start while a .old file
 * exists, so an unresolved rotation is never overwritten.
 *
 * With `--out DIR` the new key goes to DIR/keys/AGENT.secret instead (a file that must not exist),
 * written and fsynced before sending; the old key file is not touched. A refusal deletes the new
 * file; a crash leaves both, and whichever `conclave agent list` shows in force is the key.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { toHex } from '@conclave/core';
import { CliError } from '@conclave/node';

/** The files of one rotation: the key file, the old key kept aside, and the new key before its rename. */
export interface RotationFiles {
  readonly current: string;
  readonly old: string;
  readonly next: string;
}

export function rotationFiles(keyPath: string): RotationFiles {
  return { current: keyPath, old: `${keyPath}.old`, next: `${keyPath}.new` };
}

/** The new key in a file of its own (`--out`), durably, before anything is sent. */
export function writeNewKeyFile(path: string, newKey: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (existsSync(path))
    throw new CliError('ALREADY_EXISTS', `${path} exists; a key is never overwritten (remove it first)`);
  writeDurably(path, newKey);
  fsyncDirectory(path);
}

/** Writes a key file that did not exist ('wx'), owner-only, and fsyncs it. */
function writeDurably(path: string, secretKey: Uint8Array): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, `${toHex(secretKey)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDirectory(path: string): void {
  const fd = openSync(dirname(path), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Why a rotation may not start here, or undefined. */
export function interruptedRotation(files: RotationFiles): string | undefined {
  if (existsSync(files.old))
    return `${files.old} exists: an earlier rotation did not finish. Run "conclave agent list" to see which key is in force: if the one in ${files.current}, delete ${files.old}; if not, move ${files.old} back to ${files.current}`;
  return undefined;
}

/** Step 1: the old key kept aside and the new key in the key file, both on disk, before anything is sent. */
export function prepareRotation(files: RotationFiles, oldKey: Uint8Array, newKey: Uint8Array): void {
  const problem = interruptedRotation(files);
  if (problem !== undefined) throw new CliError('ALREADY_EXISTS', problem);
  if (existsSync(files.next)) unlinkSync(files.next); // a leftover of a crash before step 1 ended: never sent
  writeDurably(files.old, oldKey);
  writeDurably(files.next, newKey);
  renameSync(files.next, files.current);
  fsyncDirectory(files.current);
}

/** Step 2: the rotation executed; the old key is of no use any more. */
export function commitRotation(files: RotationFiles): void {
  unlinkSync(files.old);
  fsyncDirectory(files.current);
}

/** Step 3: the cluster refused the rotation; the old key is the agent's key again. */
export function restoreRotation(files: RotationFiles): void {
  renameSync(files.old, files.current);
  fsyncDirectory(files.current);
}
