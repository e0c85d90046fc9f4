/**
 * Durable replica state in lmdb: the view, the log above the stable checkpoint (own and
 * accepted messages, in the order they were persisted), and the stable checkpoint with its
 * certificate and snapshot. Its meaning is `applyPersistRecords` from @conclave/core; one
 * `commit` is one lmdb transaction.
 *
 * Sync modes:
 * - `full` (default): every commit is fsynced before it resolves; survives power loss.
 * - `buffered`: commits are left in the OS page cache (lmdb `noSync`); survives a crash of the
 *   process, not of the machine. Faster; a replica that loses its last writes to a power cut may
 *   forget votes it sent, which the protocol counts as a Byzantine fault.
 *
 * Transactions are synchronous (the step loop waits for the disk anyway: persist before send).
 * lmdb's asynchronous path hands the commit to another thread and back, which cost about 2.5 ms
 * per round in a busy daemon, against 0.25 ms buffered and ~0.5 ms fsynced synchronously; the
 * signature workers keep checking while the loop waits.
 */
import {
  type Checkpoint,
  type DecodeLimits,
  type DurableState,
  decodeFrame,
  encodeFrame,
  LIMITS,
  MessageType,
  nodeCrypto,
  type PersistRecord,
  type Signed,
  type ViewInterval,
} from '@conclave/core';
import { type Database, open, type RootDatabase } from 'lmdb';

export type SyncMode = 'full' | 'buffered';
export const SYNC_MODES: readonly SyncMode[] = ['full', 'buffered'];

export interface ReplicaStore {
  load(): DurableState;
  /** Writes the records in one transaction; resolves once durable as the sync mode promises. */
  commit(records: readonly PersistRecord[]): Promise<void>;
  close(): Promise<void>;
}

interface StoredView {
  readonly view: number;
  readonly changing: boolean;
  /** Absent in stores written before it was kept. */
  readonly left?: number;
}
/** The views this replica will never enter (`PersistRecord` 'skips'): a few intervals. */
type StoredSkips = readonly ViewInterval[];
interface StoredCheckpoint {
  readonly sequence: number;
  readonly stateDigest: Uint8Array;
  /** The certificate's checkpoints, each as its frame bytes. */
  readonly proof: Uint8Array[];
  readonly snapshot: Uint8Array;
}
interface StoredLogRecord {
  readonly sequence: number;
  readonly frame: Uint8Array;
}

const hash = nodeCrypto().hash;

/**
 * How a stored checkpoint certificate's frames are decoded. A checkpoint is
 * `[6, sequence, stateDigest, replica]` with no batch, operation, list or snapshot, so each of
 * these limits is zero; the decoder's own bounds (digest sizes, `LIMITS.replicasMax`) do the
 * rest. Deliberately not an agent's defaults or this cluster's protocol limits: what any replica
 * wrote must read back whatever the configuration says now.
 *
 * Everything else is stored as raw bytes (log frames, the snapshot) inside lmdb's msgpack
 * records, which have no length bound of their own: a 16 MiB frame (`LIMITS.frameBytesMax`) and
 * a snapshot of the same size read back (tested). The disk is trusted; only our own writes are
 * read.
 */
export const STORED_CHECKPOINT_DECODE_LIMITS: DecodeLimits = Object.freeze({
  batchSizeMax: 0,
  operationBytesMax: 0,
  entriesMax: 0,
  snapshotBytesMax: 0,
});

export function openReplicaStore(path: string, sync: SyncMode = 'full'): ReplicaStore {
  const root: RootDatabase = open({ path, noSync: sync === 'buffered', compression: false });
  const meta: Database<StoredView | StoredCheckpoint | StoredSkips, string> = root.openDB({ name: 'meta' });
  const log: Database<StoredLogRecord, number> = root.openDB({ name: 'log' });
  // Kept in memory so writes never read back: the sequence of every stored log record by key
  // (a checkpoint deletes what it covers without decoding the log), and the stable checkpoint's
  // sequence (reading the stored checkpoint decodes its whole snapshot, which every log write
  // used to do). Both are bounded like the log: the watermark window.
  const sequenceByKey = new Map<number, number>();
  let nextKey = 0;
  for (const { key, value } of log.getRange({})) {
    sequenceByKey.set(key, value.sequence);
    nextKey = key + 1;
  }
  let checkpointSequence = (meta.get('checkpoint') as StoredCheckpoint | undefined)?.sequence ?? 0;

  return {
    load(): DurableState {
      const view = (meta.get('view') as StoredView | undefined) ?? { view: 0, changing: false, left: 0 };
      const skips = (meta.get('skips') as StoredSkips | undefined) ?? [];
      const stored = meta.get('checkpoint') as StoredCheckpoint | undefined;
      const checkpoint =
        stored === undefined
          ? undefined
          : {
              sequence: stored.sequence,
              stateDigest: new Uint8Array(stored.stateDigest),
              proof: decodeCheckpoints(stored.proof),
              snapshot: new Uint8Array(stored.snapshot),
            };
      const records = [...log.getRange({})].map(({ value }) => ({
        sequence: value.sequence,
        frame: new Uint8Array(value.frame),
      }));
      return {
        view: view.view,
        changingView: view.changing,
        // Stores written before `left` was kept: a replica changing views cannot return (-1).
        leftView: view.left ?? (view.changing ? -1 : view.view),
        skips,
        checkpoint,
        log: records,
      };
    },

    async commit(records: readonly PersistRecord[]): Promise<void> {
      if (records.length === 0) return;
      const write = () => {
        for (const record of records) {
          switch (record.kind) {
            case 'view':
              meta.put('view', { view: record.view, changing: record.changing, left: record.left });
              break;
            case 'skips':
              meta.put('skips', record.intervals);
              break;
            case 'log': {
              if (record.sequence < checkpointSequence) break;
              sequenceByKey.set(nextKey, record.sequence);
              log.put(nextKey++, { sequence: record.sequence, frame: record.frame });
              break;
            }
            case 'checkpoint': {
              meta.put('checkpoint', {
                sequence: record.sequence,
                stateDigest: record.stateDigest,
                proof: record.proof.map((c) => encodeFrame(c)),
                snapshot: record.snapshot,
              });
              checkpointSequence = record.sequence;
              for (const [key, sequence] of sequenceByKey) {
                if (sequence >= record.sequence) continue;
                log.remove(key);
                sequenceByKey.delete(key);
              }
              break;
            }
          }
        }
      };
      root.transactionSync(write);
    },

    async close(): Promise<void> {
      await root.close();
    },
  };
}

function decodeCheckpoints(frames: readonly Uint8Array[]): Signed<Checkpoint>[] {
  // A certificate holds one checkpoint per replica at most: more means the store is not ours.
  if (frames.length > LIMITS.replicasMax)
    throw new Error(`replica store is corrupt: a checkpoint certificate of ${frames.length} checkpoints`);
  return frames.map(decodeCheckpoint);
}

function decodeCheckpoint(frame: Uint8Array): Signed<Checkpoint> {
  const decoded = decodeFrame(new Uint8Array(frame), STORED_CHECKPOINT_DECODE_LIMITS, hash);
  if (!decoded.ok || decoded.value.body.type !== MessageType.checkpoint) {
    throw new Error('replica store is corrupt: a stored checkpoint certificate does not decode');
  }
  return decoded.value as Signed<Checkpoint>;
}
