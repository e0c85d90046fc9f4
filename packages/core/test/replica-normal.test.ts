import { describe, expect, it } from 'vitest';
import {
  createFetchReceipt,
  createQuery,
  createRequest,
  decodeKvResult,
  decodeReceipt,
  encodeKvOperation,
  encodeReceipt,
  MessageType,
  openAnswer,
  openQueryReply,
  signedReplyVerifier,
  verifyReceipt,
} from '../src/index.ts';
import { TestCluster } from './support/cluster.ts';

describe('normal case', () => {
  // Ordering, executing and answering on every replica, and checkpoints with log truncation:
  // test/transcripts/normal-case.txt and checkpoint.txt.
  it('answers a repeated request from the reply cache without executing it again', () => {
    const c = new TestCluster(4, 1);
    const id = c.submit(0, 'x', '1', [0]);
    c.run(3);
    const first = c.accepted(0, id);
    expect(first).toBeDefined();
    const executedBefore = c.executed.map((e) => e.flatMap((b) => b.requests).length);
    // The agent retries the very same signed request to every replica.
    c.replies.clear();
    const again = createRequest(
      { agent: 'agent-0', requestId: id, operation: encodeKvOperation({ op: 'put', key: 'x', value: '1' }) },
      c.crypto,
      c.agentKeys[0]!.secretKey,
    );
    for (let r = 0; r < 4; r++) c.queue.push({ from: 'agent-0', to: `r${r}`, frame: again.frame });
    c.deliverAll();
    expect(c.executed.map((e) => e.flatMap((b) => b.requests).length)).toEqual(executedBefore);
    const cached = c.accepted(0, id);
    expect(cached?.sequence).toBe(first?.sequence);
    expect(decodeKvResult(cached!.result)).toEqual({ ok: true, value: '1', version: 1 });
  });

  it('sends heartbeat batches when idle so agreed time advances', () => {
    const c = new TestCluster(4, 1);
    c.run(100);
    const status = c.replicas[1]!.status();
    expect(status.lastExecuted).toBeGreaterThanOrEqual(3);
    expect(status.agreedTime).toBeGreaterThan(40);
    c.checkAgreement();
  });

  it('still has receipts for requests below the stable checkpoint, for a window, then forgets them', () => {
    // checkpointInterval 4: the request ordered at sequence 4 is garbage-collected from the log
    // as soon as that checkpoint is stable, usually before its agent asks for the receipt.
    const c = new TestCluster(4, 1);
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push(c.submit(0, 'k', `v${i}`, [0]));
      c.run(2);
    }
    const last = c.accepted(0, ids[3] as number)!;
    expect(last.sequence % 4).toBe(0);
    c.run(5);
    expect(c.replicas[1]!.status().stableCheckpoint).toBeGreaterThanOrEqual(last.sequence);
    for (const [index, id] of ids.entries()) {
      const reply = c.accepted(0, id)!;
      const receipt = c.replicas[1]!.receipt(reply.sequence, 'agent-0', id);
      expect(receipt, `request ${index}`).toBeDefined();
      expect(verifyReceipt(receipt!, c.cluster, c.crypto).ok).toBe(true);
    }
    // The archive is bounded by the watermark window (8 here): far enough back, receipts are gone.
    for (let i = 0; i < 12; i++) {
      c.submit(0, 'k', `w${i}`, [0]);
      c.run(2);
    }
    c.run(5);
    const first = c.accepted(0, ids[0] as number)!;
    expect(c.replicas[1]!.receipt(first.sequence, 'agent-0', ids[0] as number)).toBeUndefined();
  });

  it('issues receipts that verify offline and fail when any byte changes', () => {
    const c = new TestCluster(4, 1);
    const id = c.submit(0, 'k', 'v', [0]);
    c.run(3);
    const reply = c.accepted(0, id)!;
    const receipt = c.replicas[2]!.receipt(reply.sequence, 'agent-0', id)!;
    expect(receipt).toBeDefined();
    expect(verifyReceipt(receipt, c.cluster, c.crypto).ok).toBe(true);
    const bytes = encodeReceipt(receipt);
    expect(verifyReceipt(decodeReceipt(bytes)!, c.cluster, c.crypto).ok).toBe(true);
    for (let i = 0; i < bytes.length; i++) {
      const changed = new Uint8Array(bytes);
      changed[i] = (changed[i] as number) ^ 0x01;
      const decoded = decodeReceipt(changed);
      if (decoded !== undefined)
        expect(verifyReceipt(decoded, c.cluster, c.crypto).ok, `byte ${i}`).toBe(false);
    }
  });
});

describe('read-only queries', () => {
  it('are answered from executed state with its staleness, and never change it', () => {
    const c = new TestCluster(4, 1);
    c.submit(0, 'color', 'blue', [0]);
    c.run(3);
    const verifier = signedReplyVerifier(c.crypto, c.cluster);
    const ask = (replica: number, queryId: number, operation: Uint8Array) => {
      const { frame } = createQuery(
        { agent: 'agent-0', queryId, operation },
        c.crypto,
        c.agentKeys[0]!.secretKey,
      );
      const out = c.inject(replica, frame);
      expect(out.send).toHaveLength(1);
      const opened = openQueryReply(out.send[0]!.frame, verifier, c.crypto);
      if (!opened.ok) throw new Error(opened.reason);
      return opened.reply;
    };
    const digestBefore = Buffer.from(c.machines[1]!.digest()).toString('hex');
    const reply = ask(1, 1, encodeKvOperation({ op: 'get', key: 'color' }));
    expect(decodeKvResult(reply.result)).toEqual({ ok: true, value: 'blue', version: 1 });
    expect(reply.lastExecuted).toBe(c.replicas[1]!.status().lastExecuted);
    expect(reply.replica).toBe(1);
    const write = ask(1, 2, encodeKvOperation({ op: 'put', key: 'color', value: 'red' }));
    expect(decodeKvResult(write.result).ok).toBe(false);
    expect(Buffer.from(c.machines[1]!.digest()).toString('hex')).toBe(digestBefore);
  });
});

describe('receipt fetch', () => {
  it('any replica serves a receipt the agent verifies offline; an unknown one comes back empty', () => {
    const c = new TestCluster(4, 1);
    const id = c.submit(0, 'k', 'v', [0]);
    c.run(3);
    const reply = c.accepted(0, id)!;
    const verifier = signedReplyVerifier(c.crypto, c.cluster);
    const fetch = (sequence: number) => {
      const frame = createFetchReceipt(
        { agent: 'agent-0', requestId: id, sequence },
        c.crypto,
        c.agentKeys[0]!.secretKey,
      );
      const out = c.inject(3, frame);
      const opened = openAnswer(out.send[0]!.frame, verifier, c.crypto);
      if (!opened.ok || opened.answer.type !== MessageType.receipt) throw new Error('no receipt answer');
      return opened.answer.receipt;
    };
    const receipt = decodeReceipt(fetch(reply.sequence))!;
    const verified = verifyReceipt(receipt, c.cluster, c.crypto);
    expect(verified.ok && verified.request.agent === 'agent-0' && verified.request.requestId === id).toBe(
      true,
    );
    expect(fetch(reply.sequence + 5)).toHaveLength(0);
  });
});

describe('highest committed sequence', () => {
  it('runs ahead of the last executed while a committed batch waits for an earlier one', () => {
    const c = new TestCluster(4, 2);
    // Replica 3 never sees sequence 1's pre-prepare: it cannot execute sequence 1 (nor 2) yet.
    c.interceptor = (envelope, frame) =>
      envelope.to === 'r3' && frame?.body.type === MessageType.prePrepare && frame.body.sequence === 1
        ? []
        : undefined;
    c.submit(0, 'a', '1', [0]);
    c.deliverAll();
    c.submit(1, 'b', '2', [0]);
    c.deliverAll();
    const r3 = c.replicas[3]!;
    expect(r3.status().lastExecuted).toBe(0);
    expect(r3.highestCommitted()).toBe(2);
    expect(c.replicas[0]!.highestCommitted()).toBe(c.replicas[0]!.status().lastExecuted);
  });
});
