/**
 * The dashboard's receipt verifier, run IN THE BROWSER: the server sends this function's source
 * (`Function.prototype.toString`) next to tweetnacl, so a receipt pasted into the page is checked
 * by the page against public keys, not vouched for by the dashboard's server. It repeats
 * core's `verifyReceipt` (receipt.ts) step by step with nothing but tweetnacl: it must import
 * nothing and use nothing from its module's scope, since only its own text reaches the page.
 *
 * What it checks: the request is signed by the key its agent had in force at the receipt's
 * sequence (from the agents' key histories), the request's digest is in the batch, and 2f+1
 * distinct replicas signed commits for the batch digest at the receipt's view and sequence.
 * Unlike core's decoder it does not insist on the canonical form of the receipt's outer
 * encoding (the signed parts are hashed and verified as they are).
 */

/** Public keys the page verifies against, hex. */
export interface BrowserKeys {
  readonly replicas: readonly string[];
  readonly agents: readonly {
    readonly id: string;
    readonly keys: readonly {
      readonly publicKey: string;
      readonly from: number;
      readonly until: number | null;
    }[];
  }[];
}

/** The part of tweetnacl the verifier uses. */
export interface NaclLike {
  hash(data: Uint8Array): Uint8Array;
  readonly sign: { readonly detached: { verify(m: Uint8Array, s: Uint8Array, k: Uint8Array): boolean } };
}

export type BrowserVerdict =
  | {
      readonly ok: true;
      readonly agent: string;
      readonly requestId: number;
      readonly sequence: number;
      readonly view: number;
      readonly signers: readonly number[];
    }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly agent?: string;
      readonly signers?: readonly number[];
    };

export function verifyReceiptText(text: string, keys: BrowserKeys, nacl: NaclLike): BrowserVerdict {
  const fromHex = (hex: string): Uint8Array => {
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    return out;
  };
  const fromBase64 = (b64: string): Uint8Array => {
    const s = atob(b64.replace(/-/g, '+').replace(/_/g, '/'));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  };
  const equal = (a: Uint8Array, b: Uint8Array): boolean =>
    a.length === b.length && a.every((x, i) => x === b[i]);

  // A minimal MessagePack reader for the types the canonical codec writes.
  const decode = (bytes: Uint8Array): unknown => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    const need = (n: number) => {
      if (at + n > bytes.length) throw new Error('truncated');
    };
    const uint = (width: number): number => {
      need(width);
      const v = width === 1 ? view.getUint8(at) : width === 2 ? view.getUint16(at) : view.getUint32(at);
      at += width;
      return v;
    };
    const str = (n: number): string => {
      need(n);
      const s = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(at, at + n));
      at += n;
      return s;
    };
    const bin = (n: number): Uint8Array => {
      need(n);
      const b = bytes.subarray(at, at + n);
      at += n;
      return b;
    };
    const value = (depth: number): unknown => {
      if (depth > 16) throw new Error('too deep');
      need(1);
      const b = bytes[at++] as number;
      if (b < 0x80) return b;
      if (b >= 0xe0) return b - 0x100;
      if (b >= 0xa0 && b <= 0xbf) return str(b & 0x1f);
      const arr = (n: number) => Array.from({ length: n }, () => value(depth + 1));
      if (b >= 0x90 && b <= 0x9f) return arr(b & 0x0f);
      switch (b) {
        case 0xc0:
          return null;
        case 0xc2:
          return false;
        case 0xc3:
          return true;
        case 0xcc:
          return uint(1);
        case 0xcd:
          return uint(2);
        case 0xce:
          return uint(4);
        case 0xd0: {
          need(1);
          return view.getInt8(at++);
        }
        case 0xd1: {
          need(2);
          const v = view.getInt16(at);
          at += 2;
          return v;
        }
        case 0xd2: {
          need(4);
          const v = view.getInt32(at);
          at += 4;
          return v;
        }
        case 0xcb: {
          need(8);
          const v = view.getFloat64(at);
          at += 8;
          return v;
        }
        case 0xd9:
          return str(uint(1));
        case 0xda:
          return str(uint(2));
        case 0xdb:
          return str(uint(4));
        case 0xc4:
          return bin(uint(1));
        case 0xc5:
          return bin(uint(2));
        case 0xc6:
          return bin(uint(4));
        case 0xdc:
          return arr(uint(2));
        case 0xdd:
          return arr(uint(4));
        default:
          throw new Error(`unsupported byte 0x${b.toString(16)}`);
      }
    };
    const v = value(0);
    if (at !== bytes.length) throw new Error('trailing bytes');
    return v;
  };

  // The canonical encoding of [timestamp, digests], which the batch digest hashes.
  const encodeBatchHeader = (timestamp: number, digests: readonly Uint8Array[]): Uint8Array => {
    const out: number[] = [0x92];
    if (Number.isInteger(timestamp) && timestamp >= 0 && timestamp < 0x80) out.push(timestamp);
    else if (Number.isInteger(timestamp) && timestamp >= 0 && timestamp < 0x100) out.push(0xcc, timestamp);
    else if (Number.isInteger(timestamp) && timestamp >= 0 && timestamp < 0x10000)
      out.push(0xcd, timestamp >> 8, timestamp & 0xff);
    else if (Number.isInteger(timestamp) && timestamp >= 0 && timestamp <= 0xffffffff)
      out.push(
        0xce,
        (timestamp >>> 24) & 0xff,
        (timestamp >>> 16) & 0xff,
        (timestamp >>> 8) & 0xff,
        timestamp & 0xff,
      );
    else {
      const f = new DataView(new ArrayBuffer(8));
      f.setFloat64(0, timestamp);
      out.push(0xcb, ...new Uint8Array(f.buffer));
    }
    const n = digests.length;
    if (n < 16) out.push(0x90 | n);
    else if (n < 0x10000) out.push(0xdc, n >> 8, n & 0xff);
    else out.push(0xdd, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
    for (const d of digests) {
      if (d.length < 0x100) out.push(0xc4, d.length);
      else out.push(0xc5, d.length >> 8, d.length & 0xff);
      out.push(...d);
    }
    return new Uint8Array(out);
  };

  const hash = (data: Uint8Array): Uint8Array => nacl.hash(data).subarray(0, 32);
  // Ed25519 group order, little-endian: S must be below it (as node:crypto insists).
  const L = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
  ];
  const canonicalS = (sig: Uint8Array): boolean => {
    for (let i = 31; i >= 0; i--) {
      const s = sig[32 + i] as number;
      const l = L[i] as number;
      if (s < l) return true;
      if (s > l) return false;
    }
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
  const isPair = (v: unknown): v is [Uint8Array, Uint8Array] =>
    Array.isArray(v) && v.length === 2 && v[0] instanceof Uint8Array && v[1] instanceof Uint8Array;
  const natural = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

  const trimmed = text.trim();
  let bytes: Uint8Array;
  try {
    if (/^(?:[0-9a-fA-F]{2})+$/.test(trimmed)) bytes = fromHex(trimmed);
    else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) bytes = fromBase64(trimmed);
    else return { ok: false, reason: 'not base64 or hex' };
  } catch {
    return { ok: false, reason: 'not base64 or hex' };
  }
  let top: unknown;
  try {
    top = decode(bytes);
  } catch (error) {
    return { ok: false, reason: `not a receipt (${(error as Error).message})` };
  }
  if (!Array.isArray(top) || top.length !== 7 || top[0] !== 1) return { ok: false, reason: 'not a receipt' };
  const [, request, sequence, view, timestamp, digests, commits] = top as unknown[];
  if (!isPair(request) || !natural(sequence) || !natural(view) || !natural(timestamp))
    return { ok: false, reason: 'not a receipt' };
  if (!Array.isArray(digests) || !digests.every((d) => d instanceof Uint8Array))
    return { ok: false, reason: 'not a receipt' };
  if (!Array.isArray(commits) || !commits.every(isPair)) return { ok: false, reason: 'not a receipt' };

  let body: unknown;
  try {
    body = decode(request[0]);
  } catch {
    return { ok: false, reason: 'request is not a canonical request' };
  }
  if (!Array.isArray(body) || body.length !== 5 || body[0] !== 1 || typeof body[1] !== 'string')
    return { ok: false, reason: 'request is not a canonical request' };
  const agent = body[1] as string;
  const requestId = body[2] as number;
  const requestKey = body[4];
  if (!(requestKey instanceof Uint8Array)) return { ok: false, reason: 'request is not a canonical request' };
  const record = keys.agents.find((a) => a.id === agent);
  const interval = record?.keys.find((k) => k.from <= sequence && (k.until === null || sequence < k.until));
  if (interval === undefined)
    return { ok: false, agent, reason: `agent ${agent} had no key at sequence ${sequence}` };
  if (!equal(fromHex(interval.publicKey), requestKey))
    return {
      ok: false,
      agent,
      reason: `the request is signed with a key that was not ${agent}'s at sequence ${sequence}`,
    };
  if (!verify(request[0], request[1], requestKey))
    return { ok: false, agent, reason: 'request signature does not verify' };
  const requestDigest = hash(request[0]);
  if (!(digests as Uint8Array[]).some((d) => d.length === 32 && equal(d, requestDigest)))
    return { ok: false, agent, reason: 'request is not in the batch' };
  const digest = hash(encodeBatchHeader(timestamp, digests as Uint8Array[]));
  const n = keys.replicas.length;
  const quorum = 2 * Math.floor((n - 1) / 3) + 1;
  const signers: number[] = [];
  for (const [commitBytes, signature] of commits as [Uint8Array, Uint8Array][]) {
    let c: unknown;
    try {
      c = decode(commitBytes);
    } catch {
      return { ok: false, agent, signers, reason: 'commit is not canonical' };
    }
    if (!Array.isArray(c) || c.length !== 5)
      return { ok: false, agent, signers, reason: 'commit is not canonical' };
    const [type, cView, cSequence, cDigest, replica] = c as unknown[];
    if (type !== 4 || cView !== view || cSequence !== sequence)
      return { ok: false, agent, signers, reason: 'commit is for another view or sequence' };
    if (!(cDigest instanceof Uint8Array) || !equal(cDigest, digest))
      return { ok: false, agent, signers, reason: 'commit is for another batch' };
    if (typeof replica !== 'number' || signers.includes(replica))
      return { ok: false, agent, signers, reason: 'commits must come from distinct replicas' };
    const key = keys.replicas[replica];
    if (key === undefined || !verify(commitBytes, signature, fromHex(key)))
      return {
        ok: false,
        agent,
        signers,
        reason: `commit signature of replica ${String(replica)} does not verify`,
      };
    signers.push(replica);
  }
  if (signers.length < quorum)
    return { ok: false, agent, signers, reason: `${signers.length} commits, ${quorum} needed` };
  return { ok: true, agent, requestId, sequence, view, signers };
}
