/**
 * Field validation shared by operation and ballot decoding. Internal, except `validateText`:
 * the package exports it so that callers can refuse a field early with the decoders' own check.
 */
import { LIMITS } from '@conclave/core';

/** Agent ids are at most this many UTF-8 bytes (core's registry bound). */
export const AGENT_ID_BYTES_MAX = LIMITS.agentIdBytesMax;

/** Thrown by the readers below and caught at the decoder's edge; never escapes a decoder. */
export class Invalid extends Error {}

const encoder = new TextEncoder();

/** UTF-8 length of a string. */
export function utf8Bytes(value: string): number {
  return encoder.encode(value).byteLength;
}

/** A string of bytesMin..bytesMax UTF-8 bytes. */
export function text(value: unknown, field: string, bytesMax: number, bytesMin = 1): string {
  if (typeof value !== 'string') throw new Invalid(`${field} must be a string`);
  const length = utf8Bytes(value);
  if (length < bytesMin || length > bytesMax)
    throw new Invalid(`${field} must be ${bytesMin}..${bytesMax} UTF-8 bytes, got ${length}`);
  return value;
}

/**
 * Why the decoders refuse `value` as a text field of bytesMin..bytesMax UTF-8 bytes, or
 * undefined when they accept it. The same check as `text`, without throwing, for callers
 * outside the decoders (the MCP server's input schemas), so that both sides agree by construction.
 */
export function validateText(
  value: string,
  field: string,
  bytesMax: number,
  bytesMin = 1,
): string | undefined {
  try {
    text(value, field, bytesMax, bytesMin);
    return undefined;
  } catch (error) {
    if (error instanceof Invalid) return error.message;
    throw error;
  }
}

/** A safe integer in min..max. */
export function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    throw new Invalid(`${field} must be an integer in ${min}..${max}`);
  return value;
}

/** Binary of at most bytesMax bytes. */
export function binary(value: unknown, field: string, bytesMax: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new Invalid(`${field} must be binary`);
  if (value.byteLength > bytesMax) throw new Invalid(`${field} must be at most ${bytesMax} bytes`);
  return value;
}

/** An array of min..max items. */
export function list(value: unknown, field: string, min: number, max: number): unknown[] {
  if (!Array.isArray(value)) throw new Invalid(`${field} must be an array`);
  if (value.length < min || value.length > max)
    throw new Invalid(`${field} must have ${min}..${max} items, got ${value.length}`);
  return value;
}

/** One of the given strings. */
export function oneOf<T extends string>(value: unknown, field: string, options: readonly T[]): T {
  if (typeof value !== 'string' || !(options as readonly string[]).includes(value))
    throw new Invalid(`${field} must be one of ${options.join(', ')}`);
  return value as T;
}

/** A tuple with exactly `count` items (the name and its fields). */
export function arity(tuple: unknown[], count: number, name: string): void {
  if (tuple.length !== count) throw new Invalid(`${name} takes ${count - 1} fields, got ${tuple.length - 1}`);
}

/** null, or what `read` accepts. */
export function nullable<T>(value: unknown, read: (v: unknown) => T): T | null {
  return value === null ? null : read(value);
}
