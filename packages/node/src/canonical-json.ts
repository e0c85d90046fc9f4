/**
 * A JSON value as one canonical value for `encodeCanonical`, so that equal JSON (whatever its key
 * order, spacing or number spelling) hashes to equal bytes. Objects become their [key, value]
 * pairs sorted by key, tagged 'object'; arrays are tagged 'array', so an object and an array of
 * pairs never encode alike. Keys whose value is undefined are left out, as JSON.stringify does.
 */
import type { Canonical } from '@conclave/core';

export function canonicalJson(value: unknown): Canonical {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not a JSON number`);
    return value;
  }
  if (Array.isArray(value)) return ['array', value.map(canonicalJson)];
  if (typeof value === 'object') {
    const pairs = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, field]): Canonical => [key, canonicalJson(field)]);
    return ['object', pairs];
  }
  throw new TypeError(`canonicalJson: a ${typeof value} is not JSON`);
}
