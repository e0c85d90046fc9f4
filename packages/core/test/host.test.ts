import { describe, expect, it } from 'vitest';
import {
  type ExecutedBatch,
  type HostEffects,
  InvariantError,
  MessageType,
  type Outbound,
  type PersistRecord,
  peersOf,
  ReplicaHost,
  type ReplicaOutput,
  type Steppable,
} from '../src/index.ts';

const RECORD: PersistRecord = { kind: 'view', view: 3, changing: false, left: 3 };
const BROADCAST: Outbound = {
  to: { kind: 'replicas' },
  type: MessageType.prepare,
  frame: new Uint8Array([1]),
};
const TO_AGENT: Outbound = {
  to: { kind: 'agent', id: 'a' },
  type: MessageType.reply,
  frame: new Uint8Array([2]),
};
const BATCH = { sequence: 7, requests: [] } as unknown as ExecutedBatch;

/** A replica double whose every step returns `output`. */
function fixed(output: Partial<ReplicaOutput>): Steppable {
  const full: ReplicaOutput = {
    persist: [],
    send: [],
    executed: [],
    stateTransfers: [],
    rejected: [],
    ...output,
  };
  return { step: () => full };
}

/** Effects that log what happened, in order. */
function journal(persist: HostEffects['persist'] = () => {}) {
  const log: string[] = [];
  const effects: HostEffects = {
    persist: (records) => {
      log.push(`persist ${records.length}`);
      return persist(records);
    },
    send: (peer, outbound) => log.push(`send ${peer.kind}:${peer.id} type ${outbound.type}`),
    executed: (batches) => log.push(`executed ${batches.map((b) => b.sequence).join(',')}`),
  };
  return { log, effects };
}

describe('replica host', () => {
  it('persists, then sends to every peer a destination names, then reports executions', () => {
    const { log, effects } = journal();
    const host = new ReplicaHost({ id: 1, replicaCount: 4, effects });
    host.run(fixed({ persist: [RECORD], send: [BROADCAST, TO_AGENT], executed: [BATCH] }), { kind: 'tick' });
    expect(log).toEqual([
      'persist 1',
      `send replica:0 type ${MessageType.prepare}`,
      `send replica:2 type ${MessageType.prepare}`,
      `send replica:3 type ${MessageType.prepare}`,
      `send agent:a type ${MessageType.reply}`,
      'executed 7',
    ]);
  });

  it('sends nothing of a round until an asynchronous persist has settled', async () => {
    let release: () => void = () => {};
    const durable = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { log, effects } = journal(() => durable);
    const host = new ReplicaHost({ id: 0, replicaCount: 4, effects });
    const replica = fixed({ persist: [RECORD], send: [TO_AGENT] });
    host.step(replica, { kind: 'tick' });
    host.step(replica, { kind: 'tick' });
    const finished = host.finishRound();
    expect(log).toEqual(['persist 2']);
    expect(() => host.step(replica, { kind: 'tick' })).toThrow(InvariantError);
    release();
    await finished;
    expect(log).toEqual([
      'persist 2',
      `send agent:a type ${MessageType.reply}`,
      `send agent:a type ${MessageType.reply}`,
    ]);
  });

  it('sends nothing when persisting fails', async () => {
    const { log, effects } = journal(() => Promise.reject(new Error('disk full')));
    const host = new ReplicaHost({ id: 0, replicaCount: 4, effects });
    host.step(fixed({ persist: [RECORD], send: [TO_AGENT] }), { kind: 'tick' });
    await expect(host.finishRound()).rejects.toThrow('disk full');
    expect(log).toEqual(['persist 1']);
  });

  it('skips persist for a round with nothing durable, and refuses run() with asynchronous persistence', () => {
    const { log, effects } = journal(() => Promise.resolve());
    const host = new ReplicaHost({ id: 0, replicaCount: 4, effects });
    host.run(fixed({ send: [TO_AGENT] }), { kind: 'tick' });
    expect(log).toEqual([`send agent:a type ${MessageType.reply}`]);
    expect(() => host.run(fixed({ persist: [RECORD] }), { kind: 'tick' })).toThrow(InvariantError);
  });

  it('routes a destination to peers in a fixed order, leaving the sender out of a broadcast only', () => {
    expect(peersOf({ kind: 'replicas' }, 2, 4)).toEqual([
      { kind: 'replica', id: 0 },
      { kind: 'replica', id: 1 },
      { kind: 'replica', id: 3 },
    ]);
    expect(peersOf({ kind: 'replica', id: 2 }, 2, 4)).toEqual([{ kind: 'replica', id: 2 }]);
    expect(peersOf({ kind: 'agent', id: 'x' }, 0, 4)).toEqual([{ kind: 'agent', id: 'x' }]);
    expect(() => new ReplicaHost({ id: 4, replicaCount: 4, effects: journal().effects })).toThrow(
      InvariantError,
    );
  });
});
