/**
 * Canonical MessagePack encoding.
 *
 * Every value that is signed or hashed is encoded with one fixed msgpackr configuration:
 * positional arrays (never maps), minimal-width integers, binary as `bin`, no extensions.
 * A decoder re-encodes what it read and compares the bytes, so a frame has exactly one
 * accepted byte form: a peer cannot make two different byte strings mean the same message,
 * and what a signature covers is unambiguous.
 */
import { Packr, Unpackr } from 'msgpackr';

const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  bundleStrings: false,
  encodeUndefinedAsNil: false,
});

const unpackr = new Unpackr({
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  bundleStrings: false,
  mapsAsObjects: false,
  int64AsType: 'number',
});

/** A value the canonical codec accepts: the building blocks of every message tuple. */
export type Canonical = number | string | boolean | null | Uint8Array | readonly Canonical[];

export function encodeCanonical(value: Canonical): Uint8Array {
  const bytes = packr.pack(value);
  // Packr may return a Buffer that views a shared pool; copy so callers own their bytes.
  return new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export type DecodeResult =
  | { ok: true; value: unknown }
  | { ok: false; reason: 'MALFORMED' | 'NOT_CANONICAL' };

/**
 * Decodes bytes and checks they are the canonical encoding of what they decode to.
 * Never throws: malformed input is a result, not an exception.
 */
export function decodeCanonical(bytes: Uint8Array): DecodeResult {
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch {
    return { ok: false, reason: 'MALFORMED' };
  }
  if (!isCanonicalValue(value, 0)) return { ok: false, reason: 'MALFORMED' };
  let again: Uint8Array;
  try {
    again = packr.pack(value as Canonical);
  } catch {
    return { ok: false, reason: 'MALFORMED' };
  }
  if (!bytesEqual(again, bytes)) return { ok: false, reason: 'NOT_CANONICAL' };
  return { ok: true, value };
}

const NESTING_DEPTH_MAX = 16;

function isCanonicalValue(value: unknown, depth: number): boolean {
  if (depth > NESTING_DEPTH_MAX) return false;
  if (value === null) return true;
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value);
    case 'string':
    case 'boolean':
      return true;
    case 'object':
      if (value instanceof Uint8Array) return true;
      if (Array.isArray(value)) {
        for (const item of value) if (!isCanonicalValue(item, depth + 1)) return false;
        return true;
      }
      return false;
    default:
      return false;
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.byteLength; i++) out += HEX[bytes[i] as number];
  return out;
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError('fromHex: not a hex string');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
