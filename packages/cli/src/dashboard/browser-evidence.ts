/**
 * The dashboard's evidence checker, run IN THE BROWSER, like the receipt verifier
 * (browser-verify.ts): the server sends the source of the two functions below
 * (`Function.prototype.toString`) next to tweetnacl, and the page re-checks every evidence item
 * itself against the agents' public keys, from the signed bytes the replicas recorded. Neither
 * function imports anything or uses anything from this module's scope: only their own text
 * reaches the page. `canonicalMsgpack()` is the codec, passed to `verifyEvidenceItem` as a
 * parameter so that each stays self-contained.
 *
 * `verifyEvidenceItem` repeats coordination's `verifyEvidence` (evidence.ts) step by step: each
 * signed object verifies against one of the accused agent's keys (any key of its history, as
 * `verifyEvidence` accepts: a ballot carries no log position, and equivocating across a rotation
 * is still equivocating), each is the object its kind needs (a ballot, commitment or request body
 * of that agent, for that proposal or requestId, in canonical form), and the objects conflict:
 * two different ones for one slot, or a revealed ballot and salt whose seal, recomputed here,
 * is not the one the commitment carries. A `no_reveal` item proves the commitment only; that no
 * reveal came is what the replicas attest by recording it.
 */
import type { BrowserKeys, NaclLike } from './browser-verify.ts';

/** One signed object of an evidence item as /api/state sends it: the recorded bytes and signature, hex. */
export interface BrowserSigned {
  readonly bytes: string;
  readonly signature: string;
}

/** An evidence item as /api/state sends it: coordination's `Evidence` with every byte string as hex. */
export interface BrowserEvidence {
  readonly id: number;
  readonly kind: string;
  readonly agent: string;
  readonly proposalId: string | null;
  readonly requestId: number | null;
  readonly first: BrowserSigned;
  readonly second: BrowserSigned | null;
  /** reveal_mismatch: the salt revealed with the ballot. */
  readonly salt?: string;
  /** no_reveal: the agreed time by which the reveal was due. */
  readonly revealDeadline?: number;
}

/** Canonical MessagePack, as core's codec writes it. */
export interface MsgpackLike {
  /** What core's `decodeCanonical` accepts, decoded; throws on anything else. */
  decode(bytes: Uint8Array): unknown;
  /** Strings, binaries and arrays of them, canonically (what a seal hashes); throws on other values. */
  encode(value: unknown): Uint8Array;
}

export type EvidenceVerdict =
  | { readonly ok: true; readonly summary: string }
  | { readonly ok: false; readonly reason: string };

/**
 * A canonical MessagePack codec for the page. The decoder accepts exactly the forms core's
 * `decodeCanonical` accepts (shortest integer, length and array headers; valid UTF-8; float64
 * only for what no 32-bit integer holds; no maps or extensions; nothing trailing), so the page
 * refuses the same non-canonical objects `verifyEvidence` does.
 */
export function canonicalMsgpack(): MsgpackLike {
  const decode = (bytes: Uint8Array): unknown => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    // Claims n bytes; returns where they start.
    const take = (n: number): number => {
      if (at + n > bytes.length) throw new Error('truncated');
      at += n;
      return at - n;
    };
    const shortest = (ok: boolean) => {
      if (!ok) throw new Error('not canonical');
    };
    // A length or unsigned integer; below `floor` a shorter form holds it: not canonical.
    const uint = (width: number, floor: number): number => {
      const s = take(width);
      const v = width === 1 ? view.getUint8(s) : width === 2 ? view.getUint16(s) : view.getUint32(s);
      shortest(v >= floor);
      return v;
    };
    // A negative integer; from `ceiling` up a shorter form holds it.
    const int = (width: number, ceiling: number): number => {
      const s = take(width);
      const v = width === 1 ? view.getInt8(s) : width === 2 ? view.getInt16(s) : view.getInt32(s);
      shortest(v < ceiling);
      return v;
    };
    const float = (): number => {
      const v = view.getFloat64(take(8));
      if (!Number.isFinite(v)) throw new Error('not a finite number');
      shortest(v >>> 0 !== v && v >> 0 !== v);
      return v;
    };
    const str = (n: number): string => {
      const s = take(n);
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(s, s + n));
    };
    const bin = (n: number): Uint8Array => bytes.subarray(take(n), at);
    const arr = (n: number, depth: number): unknown[] => {
      // Every item takes a byte at least: a longer claim is a truncation, not an allocation.
      if (n > bytes.length - at) throw new Error('truncated');
      return Array.from({ length: n }, () => value(depth + 1));
    };
    const value = (depth: number): unknown => {
      if (depth > 16) throw new Error('too deep');
      const b = bytes[take(1)] as number;
      if (b < 0x80) return b;
      if (b >= 0xe0) return b - 0x100;
      if (b >= 0xa0 && b <= 0xbf) return str(b & 0x1f);
      if (b >= 0x90 && b <= 0x9f) return arr(b & 0x0f, depth);
      const forms: Record<number, () => unknown> = {
        192: () => null,
        194: () => false,
        195: () => true,
        204: () => uint(1, 0x80),
        205: () => uint(2, 0x100),
        206: () => uint(4, 0x10000),
        208: () => int(1, -0x20),
        209: () => int(2, -0x80),
        210: () => int(4, -0x8000),
        203: float,
        217: () => str(uint(1, 0x20)),
        218: () => str(uint(2, 0x100)),
        219: () => str(uint(4, 0x10000)),
        196: () => bin(uint(1, 0)),
        197: () => bin(uint(2, 0x100)),
        198: () => bin(uint(4, 0x10000)),
        220: () => arr(uint(2, 0x10), depth),
        221: () => arr(uint(4, 0x10000), depth),
      };
      const form = forms[b];
      if (form === undefined) throw new Error(`type byte 0x${b.toString(16)} is not canonical`);
      return form();
    };
    const v = value(0);
    if (at !== bytes.length) throw new Error('trailing bytes');
    return v;
  };
  const encode = (top: unknown): Uint8Array => {
    const out: number[] = [];
    // A length in the shortest header: fix form up to fixMax, then 8, 16, 32 bits (0 = no such form).
    const header = (n: number, fix: number, fixMax: number, c8: number, c16: number, c32: number) => {
      if (n <= fixMax) out.push(fix | n);
      else if (c8 !== 0 && n < 0x100) out.push(c8, n);
      else if (n < 0x10000) out.push(c16, n >> 8, n & 0xff);
      else out.push(c32, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
    };
    const put = (v: unknown): void => {
      if (typeof v === 'string') {
        const utf8 = new TextEncoder().encode(v);
        header(utf8.length, 0xa0, 31, 0xd9, 0xda, 0xdb);
        for (const x of utf8) out.push(x);
      } else if (v instanceof Uint8Array) {
        header(v.length, 0, -1, 0xc4, 0xc5, 0xc6);
        for (const x of v) out.push(x);
      } else if (Array.isArray(v)) {
        header(v.length, 0x90, 15, 0, 0xdc, 0xdd);
        for (const x of v) put(x);
      } else throw new Error('only strings, binaries and arrays are encoded here');
    };
    put(top);
    // Built from plain numbers, so the bytes belong to the page's own realm (tweetnacl checks instanceof).
    return new Uint8Array(out);
  };
  return { decode, encode };
}

export function verifyEvidenceItem(
  item: BrowserEvidence,
  keys: Pick<BrowserKeys, 'agents'>,
  nacl: NaclLike,
  msgpack: MsgpackLike,
): EvidenceVerdict {
  // Every check below throws its reason; the one catch at the end turns it into the verdict.
  const refuse = (reason: string): never => {
    throw new Error(reason);
  };
  const fromHex = (hex: unknown, what: string): Uint8Array => {
    if (typeof hex !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(hex)) return refuse(`${what} is not hex`);
    return new Uint8Array(
      Array.from({ length: hex.length / 2 }, (_, i) => Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)),
    );
  };
  const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
  // Ed25519 group order, little-endian: S must be below it (node:crypto, which verifyEvidence uses, insists).
  const L = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
  ];
  const canonicalS = (sig: Uint8Array): boolean => {
    for (let i = 31; i >= 0; i--) if (sig[32 + i] !== L[i]) return (sig[32 + i] as number) < (L[i] as number);
    return false;
  };
  const verify = (data: Uint8Array, sig: Uint8Array, key: Uint8Array): boolean => {
    if (sig.length !== 64 || key.length !== 32 || !canonicalS(sig)) return false;
    try {
      return nacl.sign.detached.verify(data, sig, key);
    } catch {
      return false;
    }
  };
  const utf8 = (s: string) => new TextEncoder().encode(s).length;
  const isText = (v: unknown, min = 1, max = Number.MAX_SAFE_INTEGER): v is string =>
    typeof v === 'string' && utf8(v) >= min && utf8(v) <= max;
  const isInteger = (v: unknown, min: number, max: number): v is number =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;

  // The decoded objects, each checked as coordination's and core's decoders check it.
  interface Decoded {
    readonly agent: unknown;
    readonly slot: unknown;
    readonly fields: unknown[];
  }
  const tuple = (bytes: Uint8Array, what: string, length: number, tag: unknown): unknown[] => {
    let v: unknown;
    try {
      v = msgpack.decode(bytes);
    } catch (error) {
      return refuse(`is not a ${what}: not canonical msgpack (${(error as Error).message})`);
    }
    if (!Array.isArray(v) || v.length !== length || v[0] !== tag) return refuse(`is not a ${what}`);
    return v;
  };
  const isChoice = (c: unknown): boolean => {
    if (c === 'approve' || c === 'reject' || c === 'abstain') return true;
    if (!Array.isArray(c) || c.length === 0) return false;
    const pairs = c.filter(
      (p) => Array.isArray(p) && p.length === 2 && isText(p[0]) && isInteger(p[1], 0, 2 ** 53),
    );
    return pairs.length === c.length && new Set(pairs.map((p) => p[0])).size === c.length;
  };
  const ballot = (bytes: Uint8Array): Decoded => {
    const t = tuple(bytes, 'ballot', 6, 'conclave/ballot/v1');
    const ok =
      isText(t[1]) && isText(t[2], 1, 64) && isChoice(t[3]) && isText(t[4], 0) && isInteger(t[5], 0, 1000);
    return ok ? { agent: t[2], slot: t[1], fields: t } : refuse('is not a ballot');
  };
  const commitment = (bytes: Uint8Array): Decoded => {
    const t = tuple(bytes, 'commitment', 4, 'conclave/commitment/v1');
    const ok = isText(t[1]) && isText(t[2], 1, 64) && t[3] instanceof Uint8Array && t[3].length === 32;
    return ok ? { agent: t[2], slot: t[1], fields: t } : refuse('is not a commitment');
  };
  // [1, agent, requestId, operation, publicKey]; core bounds the agent id in UTF-16 units.
  const request = (bytes: Uint8Array): Decoded => {
    const t = tuple(bytes, 'request body', 5, 1);
    const agentOk = typeof t[1] === 'string' && t[1].length > 0 && t[1].length <= 64;
    const keyOk = t[4] instanceof Uint8Array && t[4].length === 32;
    const ok = agentOk && isInteger(t[2], 0, Number.MAX_SAFE_INTEGER) && t[3] instanceof Uint8Array && keyOk;
    return ok ? { agent: t[1], slot: t[2], fields: t } : refuse('is not a request body');
  };
  const readers = { ballot, commitment, request };
  const shapes: Record<string, readonly (keyof typeof readers)[]> = {
    ballot: ['ballot', 'ballot'],
    request: ['request', 'request'],
    commitment: ['commitment', 'commitment'],
    reveal_mismatch: ['commitment', 'ballot'],
    no_reveal: ['commitment'],
  };

  const who = item.agent;
  const held = keys.agents.find((a) => a.id === who)?.keys ?? [];
  // An object's bytes and which of the agent's keys signed them: the first of its history that verifies.
  const signer = (object: BrowserSigned, name: string) => {
    const bytes = fromHex(object?.bytes, `${name} bytes`);
    const signature = fromHex(object?.signature, `${name} signature`);
    const key = held.find((k) => verify(bytes, signature, fromHex(k.publicKey, 'a key')));
    return { bytes, key: key ?? refuse(`${name} signature does not verify against ${who}'s key`) };
  };
  const check = (): string => {
    if (held.length === 0) return refuse(`agent ${who} is not registered`);
    // Own keys only: a kind such as 'constructor' must not find Object's.
    const shape =
      (Object.hasOwn(shapes, item.kind) ? shapes[item.kind] : undefined) ??
      refuse(`unknown kind ${item.kind}`);
    const objects = item.second === null ? [item.first] : [item.first, item.second];
    if (objects.length !== shape.length)
      return refuse(`a ${item.kind} item carries ${shape.length} signed objects`);
    const slot = item.kind === 'request' ? item.requestId : item.proposalId;
    const decoded = objects.map((object, i) => {
      const name = i === 0 ? 'first' : 'second';
      const { bytes, key } = signer(object, name);
      let d: Decoded;
      try {
        d = readers[shape[i] as keyof typeof readers](bytes);
      } catch (error) {
        return refuse(`${name} ${(error as Error).message}`);
      }
      if (d.agent !== who || d.slot !== slot)
        return refuse(`${name} is a ${shape[i]} of another agent or slot`);
      return { key, bytes, fields: d.fields };
    });
    return conflict(decoded, slot);
  };
  const keyText = (k: { publicKey: string; from: number; until: number | null }) =>
    `${k.publicKey.slice(0, 8)}… [${k.from}, ${k.until === null ? '∞' : k.until})`;
  const choiceText = (c: unknown) =>
    typeof c === 'string' ? c : (c as [string, number][]).map(([x, s]) => `${x}:${s}`).join(' ');
  type Checked = {
    key: { publicKey: string; from: number; until: number | null };
    bytes: Uint8Array;
    fields: unknown[];
  };
  // Whether the objects prove the kind's misbehaviour, and a summary of what they prove.
  const conflict = (objects: Checked[], slot: unknown): string => {
    const [a, b] = objects as [Checked, Checked | undefined];
    const signedBy = `signed with ${[...new Set(objects.map((o) => keyText(o.key)))].join(' and ')}`;
    if (item.kind === 'no_reveal')
      return `${who}'s commitment on ${slot}, ${signedBy}; that no reveal came by tick ${item.revealDeadline} is the replicas' record`;
    if (b === undefined) return refuse('the second signed object is missing');
    if (item.kind === 'reveal_mismatch') {
      const salt = fromHex(item.salt, 'salt');
      const seal = nacl.hash(msgpack.encode(['conclave/seal/v1', a.fields[1], a.fields[2], b.bytes, salt]));
      if (equal(seal.subarray(0, 32), a.fields[3] as Uint8Array))
        return refuse('the ballot and salt do reproduce the commitment: no mismatch');
      return `${who}'s revealed ballot (${choiceText(b.fields[3])}) and salt do not reproduce its commitment on ${slot}, ${signedBy}`;
    }
    if (equal(a.bytes, b.bytes)) return refuse('the two signed objects are the same');
    const what = item.kind === 'request' ? `requests with requestId ${slot}` : `${item.kind}s on ${slot}`;
    const choices =
      item.kind === 'ballot' ? ` (${choiceText(a.fields[3])}, then ${choiceText(b.fields[3])})` : '';
    return `two different ${what} by ${who}${choices}, ${signedBy}`;
  };
  try {
    return { ok: true, summary: check() };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}
