/**
 * Canonical MessagePack encoding.
 *
 * Every value that is signed or hashed is encoded with one fixed msgpackr configuration:
 * positional arrays (never maps), minimal-width integers, binary as `bin`, no extensions.
 * The decoder accepts exactly the bytes this encoder produces, so a frame has exactly one
 * accepted byte form: a peer cannot make two different byte strings mean the same message,
 * and what a signature covers is unambiguous.
 */
import { Packr } from 'msgpackr';

const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  bundleStrings: false,
  encodeUndefinedAsNil: false,
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
  | { ok: false; reason: 'MALFORMED' | 'NOT_CANONICAL' }
  | { ok: false; reason: 'DECLARED_TOO_LARGE'; detail: string };

/**
 * What one input may declare, checked against each header before anything is allocated or read:
 * a hostile header that declares millions of items (with the bytes present) costs nothing.
 * Sized by the caller from the largest legitimate value it expects (`frameBounds` in messages.ts).
 */
export interface CanonicalBounds {
  /** Items one array may declare. */
  readonly arrayLengthMax: number;
  /** Items of all arrays together (the sum of their declared lengths), so many medium arrays cannot add up. */
  readonly itemsMax: number;
  /** UTF-8 bytes one string may declare. */
  readonly stringBytesMax: number;
}

/** No bounds beyond the bytes present: for inputs already bounded by their size (operations, snapshots). */
export const UNBOUNDED: CanonicalBounds = Object.freeze({
  arrayLengthMax: Number.POSITIVE_INFINITY,
  itemsMax: Number.POSITIVE_INFINITY,
  stringBytesMax: Number.POSITIVE_INFINITY,
});

/**
 * Decodes bytes and checks they are the canonical encoding of what they decode to, in one pass
 * without re-encoding: exactly the bytes `encodeCanonical` produces for some value are accepted.
 * Never throws: malformed input is a result, not an exception.
 *
 * Canonical means what the packer above writes: nil, false, true; integers that fit 32 bits in
 * the shortest of fixint / uint8 / uint16 / uint32 (non-negative) or fixint / int8 / int16 /
 * int32 (negative); every other finite number as float64; strings as valid UTF-8 with the
 * shortest of fixstr / str8 / str16 / str32 for their byte length; binary as the shortest of
 * bin8 / bin16 / bin32; arrays with the shortest of fixarray / array16 / array32; at most
 * NESTING_DEPTH_MAX levels; nothing after the value. float32 and 64-bit integers are
 * NOT_CANONICAL; maps, extensions and the reserved byte are MALFORMED. A structural error
 * (truncation, a type outside that set, a non-finite number, trailing bytes, too deep) is
 * MALFORMED, and wins over a non-shortest form (NOT_CANONICAL) anywhere in the same input, as
 * in a decode followed by a re-encode. Binary values are views into `bytes`, not copies.
 *
 * A header declaring more than the bytes left is MALFORMED (a truncation); one declaring more than
 * `bounds` allow, with the bytes present, is DECLARED_TOO_LARGE, found before the items are read
 * or allocated; decoding stops there (so it wins over a later error or a NOT_CANONICAL). The work done is
 * linear in the bytes actually read, never in a declared size.
 */
export function decodeCanonical(bytes: Uint8Array, bounds: CanonicalBounds = UNBOUNDED): DecodeResult {
  const reader = new CanonicalReader(bytes, bounds);
  const value = reader.value(0);
  if (reader.tooLarge !== undefined)
    return { ok: false, reason: 'DECLARED_TOO_LARGE', detail: reader.tooLarge };
  if (reader.malformed || reader.at !== bytes.byteLength) return { ok: false, reason: 'MALFORMED' };
  if (reader.notCanonical) return { ok: false, reason: 'NOT_CANONICAL' };
  return { ok: true, value };
}

const NESTING_DEPTH_MAX = 16;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** One pass over the input; on a structural error it stops and marks the input malformed. */
class CanonicalReader {
  at = 0;
  malformed = false;
  notCanonical = false;
  /** Set when a header declares more than the bounds allow: what it declared. */
  tooLarge: string | undefined;
  /** Items the arrays read so far declared, against `bounds.itemsMax`. */
  #items = 0;
  readonly #view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly bounds: CanonicalBounds,
  ) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #fail(): null {
    this.malformed = true;
    return null;
  }

  /** Stops decoding: `malformed` makes every caller unwind at once, `tooLarge` says why. */
  #tooLarge(detail: string): null {
    this.tooLarge ??= detail;
    return this.#fail();
  }

  /** The next n bytes exist. */
  #has(n: number): boolean {
    return this.bytes.byteLength - this.at >= n;
  }

  /**
   * A big-endian unsigned integer of `width` bytes (a length, or a uint8/16/32 value), or -1 when
   * the input ends first. Below `shorterBelow` a shorter form holds it: not canonical.
   */
  #unsigned(width: 1 | 2 | 4, shorterBelow: number): number {
    if (!this.#has(width)) return -1;
    const at = this.at;
    const value =
      width === 1
        ? (this.bytes[at] as number)
        : width === 2
          ? this.#view.getUint16(at)
          : this.#view.getUint32(at);
    this.at += width;
    if (value < shorterBelow) this.notCanonical = true;
    return value;
  }

  /** A big-endian int8/16/32 value; from `shorterFrom` up a shorter form holds it: not canonical. */
  #signed(width: 1 | 2 | 4, shorterFrom: number): number | null {
    if (!this.#has(width)) return this.#fail();
    const at = this.at;
    const value =
      width === 1 ? this.#view.getInt8(at) : width === 2 ? this.#view.getInt16(at) : this.#view.getInt32(at);
    this.at += width;
    if (value >= shorterFrom) this.notCanonical = true;
    return value;
  }

  /** A uint8/16/32 value: `#unsigned`, failing on truncation. */
  #uint(width: 1 | 2 | 4, shorterBelow: number): number | null {
    const value = this.#unsigned(width, shorterBelow);
    return value < 0 ? this.#fail() : value;
  }

  value(depth: number): unknown {
    if (this.malformed) return null;
    if (depth > NESTING_DEPTH_MAX || !this.#has(1)) return this.#fail();
    const byte = this.bytes[this.at++] as number;
    if (byte < 0x80) return byte; // positive fixint
    if (byte >= 0xe0) return byte - 0x100; // negative fixint
    if (byte >= 0xa0 && byte <= 0xbf) return this.#string(byte & 0x1f);
    if (byte >= 0x90 && byte <= 0x9f) return this.#array(byte & 0x0f, depth);
    const view = this.#view;
    switch (byte) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xcc:
        return this.#uint(1, 0x80);
      case 0xcd:
        return this.#uint(2, 0x100);
      case 0xce:
        return this.#uint(4, 0x10000);
      case 0xd0:
        return this.#signed(1, -0x20);
      case 0xd1:
        return this.#signed(2, -0x80);
      case 0xd2:
        return this.#signed(4, -0x8000);
      case 0xcb: {
        if (!this.#has(8)) return this.#fail();
        const value = view.getFloat64(this.at);
        this.at += 8;
        if (!Number.isFinite(value)) return this.#fail();
        // The packer writes a float64 only for what no 32-bit integer form holds (-0 included: it writes 0).
        if (value >>> 0 === value || value >> 0 === value) this.notCanonical = true;
        return value;
      }
      case 0xca: {
        // float32 and 64-bit integers are numbers the packer never writes in these forms.
        if (!this.#has(4)) return this.#fail();
        const value = view.getFloat32(this.at);
        this.at += 4;
        if (!Number.isFinite(value)) return this.#fail();
        this.notCanonical = true;
        return value;
      }
      case 0xcf:
      case 0xd3: {
        if (!this.#has(8)) return this.#fail();
        const value = Number(byte === 0xcf ? view.getBigUint64(this.at) : view.getBigInt64(this.at));
        this.at += 8;
        this.notCanonical = true;
        return value;
      }
      case 0xd9:
        return this.#string(this.#unsigned(1, 0x20));
      case 0xda:
        return this.#string(this.#unsigned(2, 0x100));
      case 0xdb:
        return this.#string(this.#unsigned(4, 0x10000));
      case 0xc4:
        return this.#binary(this.#unsigned(1, 0));
      case 0xc5:
        return this.#binary(this.#unsigned(2, 0x100));
      case 0xc6:
        return this.#binary(this.#unsigned(4, 0x10000));
      case 0xdc:
        return this.#array(this.#unsigned(2, 0x10), depth);
      case 0xdd:
        return this.#array(this.#unsigned(4, 0x10000), depth);
      default:
        // Maps, extensions and the reserved byte 0xc1.
        return this.#fail();
    }
  }

  #string(length: number): string | null {
    if (length < 0 || !this.#has(length)) return this.#fail();
    if (length > this.bounds.stringBytesMax)
      return this.#tooLarge(`string of ${length} bytes, at most ${this.bounds.stringBytesMax}`);
    const start = this.at;
    this.at += length;
    const bytes = this.bytes;
    let ascii = length <= 64;
    let out = '';
    if (ascii) {
      for (let i = start; i < start + length; i++) {
        const c = bytes[i] as number;
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        out += String.fromCharCode(c);
      }
      if (ascii) return out;
    }
    try {
      return utf8.decode(bytes.subarray(start, start + length));
    } catch {
      // Not UTF-8: a decoder would replace what it cannot read, and re-encoding would differ.
      this.notCanonical = true;
      return '';
    }
  }

  #binary(length: number): Uint8Array | null {
    if (length < 0 || !this.#has(length)) return this.#fail();
    const start = this.at;
    this.at += length;
    return this.bytes.subarray(start, start + length);
  }

  #array(length: number, depth: number): unknown[] | null {
    // Every item takes at least one byte: a length beyond what is left is a lie, not an allocation.
    if (length < 0 || !this.#has(length)) return this.#fail();
    // Bounds before allocation: a declared length is a claim, not yet a cost.
    if (length > this.bounds.arrayLengthMax)
      return this.#tooLarge(`array of ${length} items, at most ${this.bounds.arrayLengthMax}`);
    this.#items += length;
    if (this.#items > this.bounds.itemsMax)
      return this.#tooLarge(`arrays of ${this.#items} items in all, at most ${this.bounds.itemsMax}`);
    const items = new Array<unknown>(length);
    for (let i = 0; i < length; i++) {
      items[i] = this.value(depth + 1);
      if (this.malformed) return null;
    }
    return items;
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
