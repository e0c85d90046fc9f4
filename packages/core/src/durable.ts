/**
 * The replica's durable state, and what applying `persist` records to it means.
 *
 * This is the reference semantics every store implements (the daemon's lmdb store, the
 * simulator's in-memory one): replaying a replica's persist records, in order, onto an empty
 * state yields what the replica needs to restart without ever signing a message that conflicts
 * with one it signed before (`new Replica({ ..., restored })`).
 */
import type { Checkpoint, Signed } from './messages.ts';
import type { PersistRecord, ViewInterval } from './types.ts';

export interface DurableCheckpoint {
  readonly sequence: number;
  readonly stateDigest: Uint8Array;
  readonly proof: readonly Signed<Checkpoint>[];
  readonly snapshot: Uint8Array;
}

export interface DurableLogRecord {
  readonly sequence: number;
  readonly frame: Uint8Array;
}

export interface DurableState {
  readonly view: number;
  readonly changingView: boolean;
  /** The last view the replica was in normal mode; -1 if unknown (a store written before it was kept). */
  readonly leftView: number;
  /** The views the replica will never enter (`replica/return.ts`). */
  readonly skips: readonly ViewInterval[];
  /** The last stable checkpoint, with its certificate and snapshot; absent before the first. */
  readonly checkpoint: DurableCheckpoint | undefined;
  /** Accepted and own protocol messages above the stable checkpoint, in the order they were persisted. */
  readonly log: readonly DurableLogRecord[];
}

export function emptyDurableState(): DurableState {
  return { view: 0, changingView: false, leftView: 0, skips: [], checkpoint: undefined, log: [] };
}

/**
 * Applies persist records in order. A checkpoint record discards the log records below its
 * sequence: the certified snapshot replaces them (garbage collection).
 */
export function applyPersistRecords(state: DurableState, records: readonly PersistRecord[]): DurableState {
  let { view, changingView, leftView, checkpoint } = state;
  let skips = state.skips;
  let log = state.log;
  let copied = false;
  for (const record of records) {
    switch (record.kind) {
      case 'view':
        view = record.view;
        changingView = record.changing;
        leftView = record.left;
        break;
      case 'skips':
        skips = record.intervals;
        break;
      case 'log':
        if (checkpoint !== undefined && record.sequence < checkpoint.sequence) break; // below the stable checkpoint
        if (!copied) {
          log = [...log];
          copied = true;
        }
        (log as DurableLogRecord[]).push({ sequence: record.sequence, frame: record.frame });
        break;
      case 'checkpoint': {
        checkpoint = {
          sequence: record.sequence,
          stateDigest: record.stateDigest,
          proof: record.proof,
          snapshot: record.snapshot,
        };
        const stable = record.sequence;
        log = log.filter((entry) => entry.sequence >= stable);
        copied = true;
        break;
      }
    }
  }
  return { view, changingView, leftView, skips, checkpoint, log };
}
