/**
 * Records: the canonical byte form of results, events and snapshots.
 *
 * Core's canonical codec has arrays but no maps, so a record (a plain object) is written as a
 * tagged array with its keys in sorted order, and every array is tagged too, so the two never
 * collide: `[1, ...items]` is an array, `[2, key1, value1, key2, value2, ...]` an object. Numbers
 * must be safe integers (the state machine uses integer arithmetic only, so encodings never
 * depend on floating-point formatting). One value has exactly one encoding.
 */
import { type Canonical, decodeCanonical, encodeCanonical } from '@conclave/core';

/** A value a record may hold. Absent fields are `null`, never `undefined`. */
export type RecordValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | readonly RecordValue[]
  | { readonly [key: string]: RecordValue };

const ARRAY_TAG = 1;
const OBJECT_TAG = 2;

/** Compares strings by UTF-16 code units: the one order used for every sorted iteration. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toCanonical(value: RecordValue): Canonical {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`record: number ${value} is not a safe integer`);
    return value;
  }
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return [ARRAY_TAG, ...value.map(toCanonical)];
  const object = value as { readonly [key: string]: RecordValue };
  const out: Canonical[] = [OBJECT_TAG];
  for (const key of Object.keys(object).sort(compareStrings)) {
    const field = object[key];
    if (field === undefined) throw new Error(`record: field ${key} is undefined`);
    out.push(key, toCanonical(field));
  }
  return out;
}

function fromCanonical(value: unknown): RecordValue | undefined {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (value instanceof Uint8Array) return value;
  if (!Array.isArray(value) || value.length === 0) return undefined;
  if (value[0] === ARRAY_TAG) {
    const items: RecordValue[] = [];
    for (let i = 1; i < value.length; i++) {
      const item = fromCanonical(value[i]);
      if (item === undefined) return undefined;
      items.push(item);
    }
    return items;
  }
  if (value[0] === OBJECT_TAG && value.length % 2 === 1) {
    const object: { [key: string]: RecordValue } = {};
    let previous: string | undefined;
    for (let i = 1; i < value.length; i += 2) {
      const key = value[i];
      if (typeof key !== 'string' || (previous !== undefined && compareStrings(previous, key) >= 0))
        return undefined;
      const field = fromCanonical(value[i + 1]);
      if (field === undefined) return undefined;
      Object.defineProperty(object, key, {
        value: field,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      previous = key;
    }
    return object;
  }
  return undefined;
}

/** Encodes a record canonically. Throws on a non-integer number or an undefined field: a bug, not input. */
export function encodeRecord(value: RecordValue): Uint8Array {
  return encodeCanonical(toCanonical(value));
}

/** Decodes bytes written by `encodeRecord`; undefined for anything else. Never throws. */
export function decodeRecord(bytes: Uint8Array): RecordValue | undefined {
  const decoded = decodeCanonical(bytes);
  if (!decoded.ok) return undefined;
  return fromCanonical(decoded.value);
}
