import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyPersistRecords,
  DEFAULT_PROTOCOL_CONFIG,
  type DurableState,
  emptyDurableState,
  LIMITS,
  MessageType,
  nodeCrypto,
  type PersistRecord,
  signBody,
} from '@conclave/core';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from '../../core/test/support/cluster.ts';
import { openReplicaStore, SYNC_MODES } from '../src/store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function normalise(state: DurableState) {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  return {
    view: state.view,
    changingView: state.changingView,
    checkpoint: state.checkpoint && {
      sequence: state.checkpoint.sequence,
      stateDigest: hex(state.checkpoint.stateDigest),
      proof: state.checkpoint.proof.map((c) => hex(c.bytes) + hex(c.signature)),
      snapshot: hex(state.checkpoint.snapshot),
    },
    log: state.log.map((r) => `${r.sequence}:${hex(r.frame)}`),
  };
}

describe.each(SYNC_MODES)('lmdb replica store (sync %s)', (sync) => {
  it('holds exactly what applyPersistRecords says, across checkpoints and a reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-store-'));
    dirs.push(dir);
    const store = openReplicaStore(join(dir, 'db'), sync);
    // Real persist records from a simulated replica: views, logs, checkpoints with GC.
    const c = new TestCluster(4, 1);
    const recorded: PersistRecord[][] = [];
    let reference = emptyDurableState();
    const original = c.replicas[1]!.step.bind(c.replicas[1]!);
    c.replicas[1]!.step = (input) => {
      const out = original(input);
      recorded.push(out.persist);
      return out;
    };
    c.down.add(0); // force a view change too
    for (let i = 0; i < 12; i++) {
      c.submit(0, `k${i % 4}`, `v${i}`);
      c.run(20);
    }
    for (const records of recorded) {
      reference = applyPersistRecords(reference, records);
      await store.commit(records);
    }
    expect(reference.checkpoint?.sequence).toBeGreaterThan(0);
    expect(reference.view).toBeGreaterThan(0);
    expect(normalise(store.load())).toEqual(normalise(reference));
    await store.close();
    const reopened = openReplicaStore(join(dir, 'db'), sync);
    expect(normalise(reopened.load())).toEqual(normalise(reference));
    // Appends after a reopen keep their order.
    const more: PersistRecord[] = [
      { kind: 'log', sequence: reference.checkpoint!.sequence + 1, frame: new Uint8Array([1]) },
    ];
    await reopened.commit(more);
    reference = applyPersistRecords(reference, more);
    expect(normalise(reopened.load())).toEqual(normalise(reference));
    // A checkpoint after the reopen discards records written before it, and later log records
    // below it are not stored.
    const checkpoint = reference.checkpoint!;
    const later: PersistRecord[] = [
      { kind: 'log', sequence: checkpoint.sequence + 3, frame: new Uint8Array([2]) },
      { kind: 'checkpoint', ...checkpoint, sequence: checkpoint.sequence + 2 },
      { kind: 'log', sequence: checkpoint.sequence + 1, frame: new Uint8Array([3]) },
    ];
    await reopened.commit(later);
    reference = applyPersistRecords(reference, later);
    const sequences = reference.log.map((r) => r.sequence);
    expect(Math.min(...sequences)).toBe(checkpoint.sequence + 2);
    expect(sequences).toContain(checkpoint.sequence + 3);
    expect(normalise(reopened.load())).toEqual(normalise(reference));
    await reopened.close();
  });
});

describe('lmdb replica store at the legitimate maxima', () => {
  it('reads back a checkpoint of replicasMax signed checkpoints and a frameBytesMax snapshot, and frameBytesMax log frames', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-store-'));
    dirs.push(dir);
    const crypto = nodeCrypto();
    const sequence = 2 ** 40;
    const stateDigest = new Uint8Array(32).fill(0xd1);
    const proof = Array.from({ length: LIMITS.replicasMax }, (_, replica) =>
      signBody(
        { type: MessageType.checkpoint, sequence, stateDigest, replica },
        crypto,
        crypto.keyPairFromSeed(new Uint8Array(32).fill(replica + 1)).secretKey,
      ),
    );
    const snapshot = new Uint8Array(LIMITS.frameBytesMax).map((_, index) => index % 251);
    const records: PersistRecord[] = [
      { kind: 'view', view: 2 ** 40, changing: true, left: 2 ** 40 - 1 },
      { kind: 'checkpoint', sequence, stateDigest, proof, snapshot },
      { kind: 'log', sequence: sequence + 1, frame: new Uint8Array(LIMITS.frameBytesMax).fill(0xf1) },
      ...Array.from({ length: 2 * DEFAULT_PROTOCOL_CONFIG.watermarkWindow }, (_, index) => ({
        kind: 'log' as const,
        sequence: sequence + 2 + index,
        frame: new Uint8Array(1_024).fill(index),
      })),
    ];
    const reference = applyPersistRecords(emptyDurableState(), records);
    const store = openReplicaStore(join(dir, 'db'), 'buffered');
    await store.commit(records);
    await store.close();
    const reopened = openReplicaStore(join(dir, 'db'), 'buffered');
    const loaded = reopened.load();
    expect(loaded.checkpoint?.proof).toHaveLength(LIMITS.replicasMax);
    expect(loaded.checkpoint?.snapshot.byteLength).toBe(LIMITS.frameBytesMax);
    expect(normalise(loaded)).toEqual(normalise(reference));
    await reopened.close();
  });

  it('refuses, as corrupt, a stored certificate with more checkpoints than there can be replicas', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conclave-store-'));
    dirs.push(dir);
    const crypto = nodeCrypto();
    const stateDigest = new Uint8Array(32).fill(0xd2);
    const one = signBody(
      { type: MessageType.checkpoint, sequence: 16, stateDigest, replica: 0 },
      crypto,
      crypto.keyPairFromSeed(new Uint8Array(32).fill(1)).secretKey,
    );
    const store = openReplicaStore(join(dir, 'db'), 'buffered');
    const proof = Array.from({ length: LIMITS.replicasMax + 1 }, () => one);
    await store.commit([
      { kind: 'checkpoint', sequence: 16, stateDigest, proof, snapshot: new Uint8Array(1) },
    ]);
    expect(() => store.load()).toThrow(/corrupt/);
    await store.close();
  });
});
