/**
 * A cheap look at a handshake message's msgpack headers before anything is unpacked.
 *
 * Handshake messages arrive from strangers who have proven nothing yet. msgpackr preallocates the
 * arrays, maps and strings a header declares, so five bytes declaring an array of 2^24 elements
 * cost ~80 ms and 128 MiB per attempt. Every handshake message is a flat fixarray of small
 * integers, strings and byte strings (`encode` in `handshake.ts`), so this walk accepts exactly
 * those headers, checks that every declared length fits in the bytes that are really there, and
 * reads nothing twice: it costs at most one step per field and allocates nothing.
 */

/** The first byte of a msgpack fixarray; its low four bits are the element count. */
const FIXARRAY = 0x90;
const FIXARRAY_LENGTH_MAX = 15;
const POSITIVE_FIXINT_MAX = 0x7f;
const FIXSTR = 0xa0;
const FIXSTR_LAST = 0xbf;
const STR8 = 0xd9;
const STR16 = 0xda;
const BIN8 = 0xc4;
const BIN16 = 0xc5;

/**
 * Whether `bytes` is a fixarray of exactly `length` elements, each a positive fixint, a string or
 * a byte string (8- or 16-bit length) whose declared length fits, with nothing after the array.
 * Anything else (nested arrays, maps, extensions, floats, wider headers) is refused unread.
 */
export function hasHandshakeShape(bytes: Uint8Array, length: number): boolean {
  if (length > FIXARRAY_LENGTH_MAX || bytes.byteLength === 0 || bytes[0] !== (FIXARRAY | length))
    return false;
  let offset = 1;
  for (let field = 0; field < length; field++) {
    const next = fieldEnd(bytes, offset);
    if (next === undefined) return false;
    offset = next;
  }
  return offset === bytes.byteLength;
}

/** Where the field starting at `offset` ends, or `undefined` when its header is not allowed or overruns. */
function fieldEnd(bytes: Uint8Array, offset: number): number | undefined {
  if (offset >= bytes.byteLength) return undefined;
  const head = bytes[offset] as number;
  if (head <= POSITIVE_FIXINT_MAX) return offset + 1;
  if (head >= FIXSTR && head <= FIXSTR_LAST) return within(bytes, offset + 1, head - FIXSTR);
  if (head === STR8 || head === BIN8) return sized(bytes, offset + 1, 1);
  if (head === STR16 || head === BIN16) return sized(bytes, offset + 1, 2);
  return undefined;
}

/** The end of a payload whose big-endian length of `lengthBytes` bytes starts at `offset`. */
function sized(bytes: Uint8Array, offset: number, lengthBytes: 1 | 2): number | undefined {
  if (offset + lengthBytes > bytes.byteLength) return undefined;
  const declaredBytes =
    lengthBytes === 1
      ? (bytes[offset] as number)
      : ((bytes[offset] as number) << 8) | (bytes[offset + 1] as number);
  return within(bytes, offset + lengthBytes, declaredBytes);
}

function within(bytes: Uint8Array, start: number, declaredBytes: number): number | undefined {
  const end = start + declaredBytes;
  return end <= bytes.byteLength ? end : undefined;
}
