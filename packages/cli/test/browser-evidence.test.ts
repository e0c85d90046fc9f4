/**
 * The dashboard's in-page evidence checker (browser-evidence.ts) against coordination's
 * `verifyEvidence`, on every kind of evidence the real state machine records, genuine and
 * tampered. The checker runs as the page runs it: the served /nacl.js and /evidence.js evaluated
 * in a fresh realm that holds nothing else (so any use of this module's scope would fail), fed
 * the items and key histories as /api/state serialises them.
 */
import { createRequire } from 'node:module';
import { createContext, runInContext } from 'node:vm';
import {
  type AgentView,
  type Ballot,
  type CoordinationResult,
  CoordinationStateMachine,
  decodeResult,
  deriveSealSalt,
  type Evidence,
  ops,
  sealOf,
  signBallot,
  signCommitment,
  verifyEvidence,
} from '@conclave/coordination';
import {
  decodeCanonical,
  encodeBody,
  encodeCanonical,
  encodeJoinStatement,
  type KeyPair,
  MessageType,
  nodeCrypto,
  signJoinStatement,
} from '@conclave/core';
import { describe, expect, it } from 'vitest';
import {
  canonicalMsgpack,
  type EvidenceVerdict,
  type MsgpackLike,
  verifyEvidenceItem,
} from '../src/dashboard/browser-evidence.ts';
import type { NaclLike } from '../src/dashboard/browser-verify.ts';
import { evidenceScript, naclScript, pageJson } from '../src/dashboard/server.ts';

const crypto = nodeCrypto();
const keyPairs = new Map<string, KeyPair>();
/** A deterministic key pair per name (`erin#2` is erin's key after a rotation). */
function keyPairOf(name: string): KeyPair {
  const known = keyPairs.get(name);
  if (known !== undefined) return known;
  const pair = crypto.keyPairFromSeed(crypto.hash(new TextEncoder().encode(`browser-evidence/${name}`)));
  keyPairs.set(name, pair);
  return pair;
}
const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin'];

/** The coordination state machine driven batch by batch, as the replicas drive it. */
class Driver {
  readonly sm = new CoordinationStateMachine({
    crypto,
    agents: NAMES.map((id) => ({ id, publicKey: keyPairOf(id).publicKey })),
  });
  sequence = 0;
  time = 0;
  #requestId = 0;

  at(time: number): this {
    this.sequence += 1;
    this.time = time;
    this.sm.advanceTime({ sequence: this.sequence, timestamp: time });
    return this;
  }
  get context() {
    return { sequence: this.sequence, timestamp: this.time };
  }
  apply(agent: string, operation: Uint8Array): CoordinationResult {
    this.#requestId += 1;
    return decodeResult(this.sm.apply(operation, { agent, requestId: this.#requestId, ...this.context }));
  }
  query(operation: Uint8Array): CoordinationResult {
    return decodeResult(this.sm.query(operation));
  }
}

/** A ballot's bytes and signature, signed with `signer`'s key (default: the voter's). */
const signed = (ballot: Omit<Ballot, 'reason' | 'confidencePermille'>, signer = ballot.agent) =>
  signBallot({ reason: '', confidencePermille: 1000, ...ballot }, keyPairOf(signer).secretKey, crypto);

/** A sealed vote as the SDK makes it: the commit operation, and the reveal with the derived salt. */
function sealed(proposalId: string, agent: string, choice: Ballot['choice']) {
  const ballot = signed({ proposalId, agent, choice });
  const { secretKey } = keyPairOf(agent);
  const salt = deriveSealSalt(proposalId, agent, (m) => crypto.sign(m, secretKey), crypto);
  const seal = sealOf(proposalId, agent, ballot.ballotBytes, salt, crypto);
  return {
    ballot,
    salt,
    commit: ops.commit(signCommitment({ proposalId, agent, seal }, secretKey, crypto)),
    reveal: ops.reveal({ ...ballot, salt }),
  };
}

/** A request body signed by `agent`, as the replicas report an equivocating one. */
function request(agent: string, requestId: number, operation: Uint8Array) {
  const { publicKey, secretKey } = keyPairOf(agent);
  const bytes = encodeBody({ type: MessageType.request, agent, requestId, operation, publicKey });
  return { bytes, signature: crypto.sign(bytes, secretKey) };
}

/** Every kind of evidence, recorded by the state machine; plus what a framing attempt needs. */
function record() {
  const d = new Driver().at(0);
  const voters = (names: string[]) => names.map((agent) => ({ agent, weight: 1 }));
  const rule = { kind: 'threshold', k: 3 } as const;
  d.apply('alice', ops.propose({ proposalId: 'p', title: '', rule, voters: voters(NAMES), deadline: 100 }));
  const sealedTerms = { commitDeadline: 10, missingReveal: 'abstain' } as const;
  const terms = {
    title: '',
    rule,
    voters: voters(['bob', 'carol', 'dave']),
    deadline: 20,
    sealed: sealedTerms,
  };
  d.apply('alice', ops.propose({ proposalId: 's', ...terms }));
  // ballot (vote): bob approves, then signs a reject.
  d.apply('bob', ops.vote(signed({ proposalId: 'p', agent: 'bob', choice: 'approve' })));
  d.apply('bob', ops.vote(signed({ proposalId: 'p', agent: 'bob', choice: 'reject' })));
  // ballot across a rotation: erin approves with her first key, rotates, rejects with the second.
  d.apply('erin', ops.vote(signed({ proposalId: 'p', agent: 'erin', choice: 'approve' })));
  const claim = {
    role: 'agent' as const,
    id: 'erin',
    publicKey: keyPairOf('erin#2').publicKey,
    host: '',
    port: 0,
  };
  const join = encodeJoinStatement(signJoinStatement(claim, keyPairOf('erin#2').secretKey, crypto));
  d.apply('erin', ops.rotateKey({ joinStatement: join }));
  d.at(1);
  d.apply('erin', ops.vote(signed({ proposalId: 'p', agent: 'erin', choice: 'reject' }, 'erin#2')));
  // ballot (replicas): two vote requests of carol with one requestId.
  const carolVote = (choice: 'approve' | 'reject') =>
    ops.vote(signed({ proposalId: 'p', agent: 'carol', choice }));
  const carol = { agent: 'carol', requestId: 7, first: request('carol', 7, carolVote('approve')) };
  d.sm.onEquivocation({ ...carol, second: request('carol', 7, carolVote('reject')) }, d.context);
  // request: two different kv writes of alice with one requestId.
  const put = (value: number) => ops.kvPut({ key: 'k', value: new Uint8Array([value]) });
  d.sm.onEquivocation(
    {
      agent: 'alice',
      requestId: 50,
      first: request('alice', 50, put(1)),
      second: request('alice', 50, put(2)),
    },
    d.context,
  );
  // commitment: bob commits twice, differently.
  d.apply('bob', sealed('s', 'bob', 'approve').commit);
  d.apply('bob', sealed('s', 'bob', 'reject').commit);
  // reveal_mismatch: carol commits to reject and reveals approve; dave commits and never reveals.
  const honest = sealed('s', 'carol', 'reject');
  d.apply('carol', honest.commit);
  d.apply('dave', sealed('s', 'dave', 'approve').commit);
  d.at(10);
  d.apply('carol', sealed('s', 'carol', 'approve').reveal);
  // no_reveal: the reveals close.
  d.at(20);
  const evidence = d.query(ops.listEvidence({}));
  const agents = d.query(ops.listAgents());
  if (!evidence.ok || evidence.kind !== 'evidence' || !agents.ok || agents.kind !== 'agents')
    throw new Error('queries failed');
  return { evidence: evidence.evidence, agents: agents.agents, honest };
}

// The checker as imported here, with tweetnacl, for the many comparisons below; the last test
// runs the served scripts in a realm of their own and expects the same verdicts.
const nacl = createRequire(import.meta.url)('tweetnacl') as NaclLike;
const msgpack = canonicalMsgpack();
const recorded = record();
/** The page's verdict on an item, both given as /api/state sends them. */
function inPage(item: Evidence, agents: readonly AgentView[] = recorded.agents, run = verifyEvidenceItem) {
  const wire = JSON.parse(pageJson({ item, agents }));
  return run(wire.item, { agents: wire.agents }, nacl, msgpack);
}
const offline = (item: Evidence, agents: readonly AgentView[] = recorded.agents) =>
  verifyEvidence(item, agents, crypto);
const kindOf = (kind: Evidence['kind'], source?: string): Evidence => {
  const item = recorded.evidence.find(
    (e) => e.kind === kind && (source === undefined || e.source === source),
  );
  if (item === undefined) throw new Error(`no ${kind} evidence recorded`);
  return item;
};
const flip = (bytes: Uint8Array, index: number) => {
  const out = bytes.slice();
  out[index] = (out[index] as number) ^ 1;
  return out;
};

describe('the in-page evidence checker', () => {
  it('the state machine recorded every kind', () => {
    expect(recorded.evidence.map((e) => `${e.kind}/${e.source}/${e.agent}`).sort()).toEqual([
      'ballot/replicas/carol',
      'ballot/vote/bob',
      'ballot/vote/erin',
      'commitment/commit/bob',
      'no_reveal/deadline/dave',
      'request/replicas/alice',
      'reveal_mismatch/reveal/carol',
    ]);
  });

  it('verifies every genuine item, as verifyEvidence does, and says what it proves', () => {
    const summaries = recorded.evidence.map((item) => {
      expect(offline(item)).toEqual({ ok: true });
      const verdict = inPage(item);
      expect(verdict, `${item.kind} of ${item.agent}`).toMatchObject({ ok: true });
      return verdict.ok ? verdict.summary : '';
    });
    expect(summaries).toContain(
      `two different ballots on p by bob (approve, then reject), signed with ${keyOf('bob')}… [0, ∞)`,
    );
    // erin's two ballots verify against the two keys of her history.
    const erin = summaries.find((s) => s.includes('by erin')) ?? '';
    expect(erin).toContain(`${keyOf('erin')}… [0, `);
    expect(erin).toContain(`and ${keyOf('erin#2')}… [`);
    expect(summaries).toContain(
      `two different requests with requestId 50 by alice, signed with ${keyOf('alice')}… [0, ∞)`,
    );
    expect(summaries.find((s) => s.startsWith("carol's revealed ballot (approve)"))).toBeDefined();
    expect(summaries.find((s) => s.startsWith("dave's commitment on s"))).toContain('by tick 20');
  });

  it('fails every item when any byte of a signature or a signed object changes', () => {
    for (const item of recorded.evidence) {
      const objects = item.second === null ? (['first'] as const) : (['first', 'second'] as const);
      for (const field of objects)
        for (const part of ['bytes', 'signature'] as const) {
          const original = (item[field] as { bytes: Uint8Array; signature: Uint8Array })[part];
          for (const index of [0, Math.floor(original.length / 2), original.length - 1]) {
            const tampered = {
              ...item,
              [field]: { ...item[field], [part]: flip(original, index) },
            } as Evidence;
            const where = `${item.kind} ${field}.${part}[${index}]`;
            expect(offline(tampered).ok, where).toBe(false);
            expect(inPage(tampered), where).toMatchObject({ ok: false });
          }
        }
    }
  });

  it('fails items moved to another agent, proposal or request, or with the same object twice', () => {
    for (const item of recorded.evidence) {
      const other = item.agent === 'alice' ? 'bob' : 'alice';
      const moved: Evidence[] = [
        { ...item, agent: other },
        { ...item, agent: 'zed' },
      ];
      if (item.kind === 'request') moved.push({ ...item, requestId: 51 });
      else moved.push({ ...item, proposalId: item.proposalId === 'p' ? 's' : 'p' } as Evidence);
      if (item.second !== null && item.kind !== 'reveal_mismatch')
        moved.push({ ...item, second: item.first } as Evidence);
      for (const tampered of moved) {
        const where = `${item.kind} as ${tampered.agent}/${tampered.proposalId}/${tampered.requestId}`;
        expect(offline(tampered).ok, where).toBe(false);
        expect(inPage(tampered), where).toMatchObject({ ok: false });
      }
    }
  });

  it('fails a swapped-in ballot that is genuinely signed but of another proposal, and a commitment posing as a ballot', () => {
    const item = kindOf('ballot', 'vote');
    const elsewhere = signed({ proposalId: 'q', agent: 'bob', choice: 'abstain' });
    const swapped = {
      ...item,
      second: { bytes: elsewhere.ballotBytes, signature: elsewhere.signature },
    } as Evidence;
    expect(offline(swapped).ok).toBe(false);
    expect(inPage(swapped)).toEqual({ ok: false, reason: 'second is a ballot of another agent or slot' });
    const commitment = kindOf('commitment');
    const posing = { ...item, second: commitment.first } as Evidence;
    expect(offline(posing).ok).toBe(false);
    expect(inPage(posing)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^second is not a ballot/),
    });
  });

  it('fails a reveal_mismatch built from an honest reveal: the page recomputes the seal', () => {
    const item = kindOf('reveal_mismatch');
    const { ballot, salt } = recorded.honest;
    const framed = {
      ...item,
      second: { bytes: ballot.ballotBytes, signature: ballot.signature },
      salt,
    } as Evidence;
    expect(offline(framed).ok).toBe(false);
    expect(inPage(framed)).toEqual({
      ok: false,
      reason: 'the ballot and salt do reproduce the commitment: no mismatch',
    });
    // The same ballot with any other salt is a mismatch: the salt is part of what the seal binds.
    const salted = { ...framed, salt: flip(salt, 0) } as Evidence;
    expect(offline(salted).ok).toBe(true);
    expect(inPage(salted)).toMatchObject({ ok: true });
  });

  it("fails when the agent's keys do not include the signer: another agent's key, or a history cut to the current key", () => {
    const withKey = (id: string, key: string): AgentView[] =>
      recorded.agents.map((a) =>
        a.id === id ? { ...a, keys: [{ publicKey: keyPairOf(key).publicKey, from: 0, until: null }] } : a,
      );
    for (const item of recorded.evidence) {
      const agents = withKey(item.agent, 'alice' === item.agent ? 'bob' : 'alice');
      expect(offline(item, agents).ok, item.kind).toBe(false);
      expect(inPage(item, agents), item.kind).toMatchObject({
        ok: false,
        reason: expect.stringContaining('does not verify'),
      });
    }
    const erin = recorded.evidence.find((e) => e.agent === 'erin') as Evidence;
    expect(offline(erin, withKey('erin', 'erin#2')).ok).toBe(false);
    expect(inPage(erin, withKey('erin', 'erin#2'))).toEqual({
      ok: false,
      reason: "first signature does not verify against erin's key",
    });
  });

  it('fails a validly signed ballot in a non-canonical encoding, as core does', () => {
    const item = kindOf('ballot', 'vote');
    // confidencePermille 1000 as a uint32 (0xce) instead of the uint16 (0xcd) the codec writes.
    const canonical = item.second?.bytes as Uint8Array;
    const at = canonical.length - 3;
    expect([...canonical.slice(at)]).toEqual([0xcd, 0x03, 0xe8]);
    const bytes = new Uint8Array([...canonical.slice(0, at), 0xce, 0, 0, 0x03, 0xe8]);
    const second = { bytes, signature: crypto.sign(bytes, keyPairOf('bob').secretKey) };
    expect(offline({ ...item, second } as Evidence).ok).toBe(false);
    expect(inPage({ ...item, second } as Evidence)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not canonical'),
    });
  });
});

describe('items the state machine never makes', () => {
  it('are refused with a reason, never thrown', () => {
    const wire = JSON.parse(pageJson(kindOf('ballot', 'vote')));
    const agents = JSON.parse(pageJson(recorded.agents));
    const page = (item: object) => verifyEvidenceItem({ ...wire, ...item }, { agents }, nacl, msgpack);
    expect(page({ kind: 'constructor' })).toEqual({ ok: false, reason: 'unknown kind constructor' });
    expect(page({ second: null })).toEqual({ ok: false, reason: 'a ballot item carries 2 signed objects' });
    expect(page({ second: undefined })).toEqual({ ok: false, reason: 'second bytes is not hex' });
    expect(page({ first: { ...wire.first, signature: 'zz' } })).toEqual({
      ok: false,
      reason: 'first signature is not hex',
    });
    expect(page({ agent: 'zed' })).toEqual({ ok: false, reason: 'agent zed is not registered' });
  });
});

describe("the page's canonical msgpack codec", () => {
  it('accepts exactly what core accepts, over every one-byte change of every recorded object', () => {
    let refused = 0;
    for (const item of recorded.evidence)
      for (const object of item.second === null ? [item.first] : [item.first, item.second])
        for (let i = 0; i < object.bytes.length; i++)
          for (const mask of [0x01, 0x10, 0x80, 0xff]) {
            const bytes = object.bytes.slice();
            bytes[i] = (bytes[i] as number) ^ mask;
            let ours = true;
            try {
              msgpack.decode(bytes);
            } catch {
              ours = false;
            }
            expect(ours, `byte ${i} ^ ${mask}`).toBe(decodeCanonical(bytes).ok);
            if (!ours) refused += 1;
          }
    // The comparison means something only if many changes are refused (and many accepted).
    expect(refused).toBeGreaterThan(100);
  });

  it('encodes a seal tuple byte for byte as core does, across every header width', () => {
    const text = (n: number) => 'x'.repeat(n);
    const bin = (n: number) => new Uint8Array(n).fill(7);
    for (const n of [0, 15, 16, 31, 32, 255, 256, 65_535, 65_536]) {
      const value = [text(n), bin(n), Array.from({ length: Math.min(n, 70) }, (_, i) => text(i))];
      const ours = msgpack.encode(value);
      expect(Buffer.from(ours).equals(Buffer.from(encodeCanonical(value))), `length ${n}`).toBe(true);
    }
  });
});

describe('the served /nacl.js and /evidence.js', () => {
  it('give the same verdicts alone in a realm that has nothing but what a page has', () => {
    const window = createContext({ TextEncoder, TextDecoder }) as unknown as Served;
    window.self = window;
    runInContext(`var window = self;\n${naclScript()}\n${evidenceScript()}`, window as never);
    const served = (item: unknown, keys: unknown) =>
      window.verifyEvidenceItem(item, keys, window.nacl, window.evidenceMsgpack);
    const bob = kindOf('ballot', 'vote');
    const items: Evidence[] = [
      ...recorded.evidence,
      { ...bob, agent: 'carol' },
      { ...bob, second: bob.first } as Evidence,
    ];
    for (const item of items) {
      // Copied out of the other realm, whose objects have other prototypes.
      const verdict = JSON.parse(JSON.stringify(inPage(item, recorded.agents, served)));
      expect(verdict, `${item.kind} of ${item.agent}`).toEqual(inPage(item));
    }
    expect(items.map((item) => inPage(item, recorded.agents, served).ok)).toEqual([
      ...recorded.evidence.map(() => true),
      false,
      false,
    ]);
  });
});

interface Served {
  self: unknown;
  nacl: NaclLike;
  evidenceMsgpack: MsgpackLike;
  verifyEvidenceItem(item: unknown, keys: unknown, nacl: NaclLike, msgpack: MsgpackLike): EvidenceVerdict;
}

const keyOf = (name: string) => Buffer.from(keyPairOf(name).publicKey).toString('hex').slice(0, 8);
