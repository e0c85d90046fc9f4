import { describe, expect, it } from 'vitest';
import {
  type BatchContext,
  createRequest,
  encodeKvOperation,
  KvStateMachine,
  MessageType,
  nodeCrypto,
  type RequestEquivocation,
  verifyReceipt,
} from '../src/index.ts';
import { TestCluster } from './support/cluster.ts';

/** A KV that also records what the hooks tell it, as a coordination state machine would. */
class RecordingKv extends KvStateMachine {
  readonly times: BatchContext[] = [];
  readonly evidence: { evidence: RequestEquivocation; context: BatchContext }[] = [];
  advanceTime(context: BatchContext): void {
    this.times.push(context);
  }
  onEquivocation(evidence: RequestEquivocation, context: BatchContext): void {
    this.evidence.push({ evidence, context });
  }
}

function recordingCluster(): { c: TestCluster; machines: RecordingKv[] } {
  const crypto = nodeCrypto();
  const c = new TestCluster(4, 1, undefined, crypto, () => new RecordingKv(crypto.hash));
  return { c, machines: c.machines as RecordingKv[] };
}

describe('agent equivocation', () => {
  it('two different requests with one id, sent to different replicas: one executes, every replica records the proof at the same sequence', () => {
    const { c, machines } = recordingCluster();
    const key = c.agentKeys[0]!.secretKey;
    const approve = createRequest(
      {
        agent: 'agent-0',
        requestId: 7,
        operation: encodeKvOperation({ op: 'put', key: 'vote', value: 'approve' }),
      },
      c.crypto,
      key,
    );
    const reject = createRequest(
      {
        agent: 'agent-0',
        requestId: 7,
        operation: encodeKvOperation({ op: 'put', key: 'vote', value: 'reject' }),
      },
      c.crypto,
      key,
    );
    for (const r of [0, 1]) c.queue.push({ from: 'agent-0', to: `r${r}`, frame: approve.frame });
    for (const r of [2, 3]) c.queue.push({ from: 'agent-0', to: `r${r}`, frame: reject.frame });
    c.run(10);
    c.checkAgreement();
    const values = c.machines.map((m) => (m as KvStateMachine).get('vote'));
    expect(new Set(values).size).toBe(1); // exactly one of the two executed, the same everywhere
    for (const machine of machines) {
      expect(machine.evidence).toHaveLength(1);
      const { evidence, context } = machine.evidence[0]!;
      expect(evidence).toMatchObject({ agent: 'agent-0', requestId: 7 });
      expect(context).toEqual(machines[0]!.evidence[0]!.context);
      // The proof holds up: both bodies are validly signed by the agent, and they differ.
      for (const signed of [evidence.first, evidence.second])
        expect(c.crypto.verify(signed.bytes, signed.signature, c.agentKeys[0]!.publicKey)).toBe(true);
      expect(Buffer.from(evidence.first.bytes).equals(Buffer.from(evidence.second.bytes))).toBe(false);
    }
    expect(c.replicas.some((r) => (r.rejections().AGENT_EQUIVOCATION ?? 0) > 0)).toBe(true);
    // The executed request still has a valid receipt.
    const executed = c.executed[0]!.find((b) => b.requests.some((r) => r.agent === 'agent-0'))!;
    const receipt = c.replicas[0]!.receipt(executed.sequence, 'agent-0', 7)!;
    expect(verifyReceipt(receipt, c.cluster, c.crypto).ok).toBe(true);
  });

  it('a conflicting request that arrives after the first executed is still ordered as evidence, once', () => {
    const { c, machines } = recordingCluster();
    const key = c.agentKeys[0]!.secretKey;
    const first = createRequest(
      { agent: 'agent-0', requestId: 3, operation: encodeKvOperation({ op: 'put', key: 'k', value: 'a' }) },
      c.crypto,
      key,
    );
    const second = createRequest(
      { agent: 'agent-0', requestId: 3, operation: encodeKvOperation({ op: 'put', key: 'k', value: 'b' }) },
      c.crypto,
      key,
    );
    for (let r = 0; r < 4; r++) c.queue.push({ from: 'agent-0', to: `r${r}`, frame: first.frame });
    c.run(5);
    for (let round = 0; round < 3; round++) {
      for (let r = 0; r < 4; r++) c.queue.push({ from: 'agent-0', to: `r${r}`, frame: second.frame });
      c.run(5);
    }
    for (const machine of machines) {
      expect(machine.get('k')).toBe('a');
      expect(machine.evidence).toHaveLength(1);
    }
  });

  it('a primary that keeps the evidence out of the log is replaced, and the evidence is ordered', () => {
    const { c, machines } = recordingCluster();
    const key = c.agentKeys[0]!.secretKey;
    const make = (value: string) =>
      createRequest(
        { agent: 'agent-0', requestId: 5, operation: encodeKvOperation({ op: 'put', key: 'k', value }) },
        c.crypto,
        key,
      );
    const first = make('a');
    const second = make('b');
    for (let r = 0; r < 4; r++) c.queue.push({ from: 'agent-0', to: `r${r}`, frame: first.frame });
    c.run(5);
    expect(machines.every((m) => m.get('k') === 'a')).toBe(true);
    // From now on the primary of view 0 never hears of a request a replica passes on: it cannot
    // order what it does not have, as a Byzantine primary would not. The second body reaches
    // replica 3 alone.
    c.interceptor = (envelope, decoded) =>
      envelope.to === 'r0' && envelope.from.startsWith('r') && decoded?.body.type === MessageType.request
        ? []
        : undefined;
    c.queue.push({ from: 'agent-0', to: 'r3', frame: second.frame });
    c.run(400);
    for (const r of [1, 2, 3]) expect(c.replicas[r]!.status().view).toBeGreaterThanOrEqual(1);
    for (const machine of machines) {
      expect(machine.get('k')).toBe('a');
      expect(machine.evidence).toHaveLength(1);
      expect(machine.evidence[0]!.evidence).toMatchObject({ agent: 'agent-0', requestId: 5 });
    }
    c.checkAgreement();
  });

  it('advanceTime runs once per executed batch, heartbeats included, with agreed time that never decreases', () => {
    const { c, machines } = recordingCluster();
    c.submit(0, 'x', '1', [0]);
    c.run(100);
    for (const [id, machine] of machines.entries()) {
      expect(machine.times.map((t) => t.sequence)).toEqual(c.executed[id]!.map((b) => b.sequence));
      expect(machine.times.length).toBeGreaterThan(2);
      for (let i = 1; i < machine.times.length; i++)
        expect(machine.times[i]!.timestamp).toBeGreaterThanOrEqual(machine.times[i - 1]!.timestamp);
    }
  });
});
