/**
 * The lmdb replica store keeps what a return needs across a restart: the 'skips' record (the
 * views the replica never enters) and the 'view' record's `left` (the view it may return to).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyPersistRecords,
  type DurableState,
  emptyDurableState,
  encodeFrame,
  MessageType,
  type PersistRecord,
  type Suspect,
  signBody,
} from '@conclave/core';
import { open } from 'lmdb';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from '../../core/test/support/cluster.ts';
import { openReplicaStore, SYNC_MODES } from '../src/store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function storePath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-store-skips-'));
  dirs.push(dir);
  return join(dir, 'db');
}

/** The part of the durable state a return reads. */
const returnState = (state: DurableState) => ({
  view: state.view,
  changingView: state.changingView,
  leftView: state.leftView,
  skips: state.skips.map((s) => ({ above: s.above, through: s.through })),
});

describe.each(SYNC_MODES)('lmdb replica store: skips and left (sync %s)', (sync) => {
  it('an empty store loads left 0 and no skips', async () => {
    const store = openReplicaStore(storePath(), sync);
    expect(returnState(store.load())).toEqual({ view: 0, changingView: false, leftView: 0, skips: [] });
    await store.close();
  });

  it('a skips record and a view record with left read back after close and reopen; a later skips record replaces it', async () => {
    const path = storePath();
    const store = openReplicaStore(path, sync);
    const first: PersistRecord[] = [
      { kind: 'view', view: 3, changing: true, left: 1 },
      { kind: 'skips', intervals: [{ above: 1, through: 3 }] },
    ];
    await store.commit(first);
    let reference = applyPersistRecords(emptyDurableState(), first);
    expect(returnState(reference)).toEqual({
      view: 3,
      changingView: true,
      leftView: 1,
      skips: [{ above: 1, through: 3 }],
    });
    expect(returnState(store.load())).toEqual(returnState(reference));
    await store.close();

    const reopened = openReplicaStore(path, sync);
    expect(returnState(reopened.load())).toEqual(returnState(reference));
    const second: PersistRecord[] = [
      {
        kind: 'skips',
        intervals: [
          { above: 0, through: 2 },
          { above: 5, through: 7 },
        ],
      },
      { kind: 'view', view: 1, changing: false, left: 1 },
    ];
    await reopened.commit(second);
    reference = applyPersistRecords(reference, second);
    expect(reference.skips).toEqual([
      { above: 0, through: 2 },
      { above: 5, through: 7 },
    ]);
    expect(returnState(reopened.load())).toEqual(returnState(reference));
    await reopened.close();

    const again = openReplicaStore(path, sync);
    expect(returnState(again.load())).toEqual({
      view: 1,
      changingView: false,
      leftView: 1,
      skips: [
        { above: 0, through: 2 },
        { above: 5, through: 7 },
      ],
    });
    // An empty skips record clears them.
    await again.commit([{ kind: 'skips', intervals: [] }]);
    await again.close();
    const last = openReplicaStore(path, sync);
    expect(last.load().skips).toEqual([]);
    await last.close();
  });

  it('a view record written before left was kept loads -1 while changing views, the view otherwise', async () => {
    const path = storePath();
    for (const [stored, left] of [
      [{ view: 2, changing: true }, -1],
      [{ view: 2, changing: false }, 2],
    ] as const) {
      const raw = open({ path, compression: false });
      await raw.openDB({ name: 'meta' }).put('view', stored);
      await raw.close();
      const store = openReplicaStore(path, sync);
      expect(returnState(store.load())).toMatchObject({
        view: 2,
        changingView: stored.changing,
        leftView: left,
      });
      await store.close();
    }
  });

  it("a returner's and an acknowledger's real records read back as the replica left them", async () => {
    const c = new TestCluster(4, 1);
    const recorded = new Map<number, PersistRecord[][]>([
      [1, []],
      [3, []],
    ]);
    c.observer = (step) => recorded.get(step.replica)?.push(step.output.persist);
    for (let tick = 0; tick < 30; tick++) {
      if (tick % 5 === 0) c.submit(0, `k${tick}`, 'v');
      c.run(1);
    }
    // Replica 3 leaves view 0 on suspicions no one else acts on, crashes, and returns.
    c.down.add(3);
    for (const from of [1, 2]) {
      const body: Suspect = { type: MessageType.suspect, view: 0, round: c.ticks + 1, replica: from };
      c.inject(3, encodeFrame(signBody(body, c.crypto, c.replicaKeys[from]!.secretKey)));
    }
    expect(c.durable[3]).toMatchObject({ view: 1, changingView: true, leftView: 0 });
    c.deliverAll();
    c.restart(3);
    c.down.delete(3);
    c.run(100);
    for (const replica of [1, 3]) {
      expect(returnState(c.durable[replica]!)).toEqual({
        view: 0,
        changingView: false,
        leftView: 0,
        skips: [{ above: 0, through: 1 }],
      });
      const path = storePath();
      const store = openReplicaStore(path, sync);
      for (const records of recorded.get(replica)!) await store.commit(records);
      await store.close();
      const reopened = openReplicaStore(path, sync);
      expect(returnState(reopened.load())).toEqual(returnState(c.durable[replica]!));
      await reopened.close();
    }
  });
});
