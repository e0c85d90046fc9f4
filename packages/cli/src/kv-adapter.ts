/**
 * The CLI's `kv` commands speak to whichever state machine the cluster runs: the coordination
 * state machine's versioned kv (values are bytes; the CLI uses UTF-8), or the minimal KV.
 */

import { decodeResult, ops } from '@conclave/coordination';
import { decodeKvResult, encodeKvOperation } from '@conclave/core';
import type { StateMachineKind } from '@conclave/node';

export type KvOutcome =
  | { readonly ok: true; readonly value: string | null; readonly version: number }
  | { readonly ok: false; readonly code: string; readonly message: string };

export interface KvAdapter {
  put(key: string, value: string): Uint8Array;
  get(key: string): Uint8Array;
  decode(result: Uint8Array): KvOutcome;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export function kvAdapter(kind: StateMachineKind = 'coordination'): KvAdapter {
  if (kind === 'kv') {
    return {
      put: (key, value) => encodeKvOperation({ op: 'put', key, value }),
      get: (key) => encodeKvOperation({ op: 'get', key }),
      decode: (bytes) => {
        const result = decodeKvResult(bytes);
        return result.ok ? result : { ok: false, code: 'REJECTED', message: result.error };
      },
    };
  }
  return {
    put: (key, value) => ops.kvPut({ key, value: utf8.encode(value) }),
    get: (key) => ops.kvGet({ key }),
    decode: (bytes) => {
      const result = decodeResult(bytes);
      if (!result.ok) return { ok: false, code: result.code, message: result.message };
      if (result.kind !== 'kv')
        return { ok: false, code: 'UNEXPECTED', message: `expected a kv result, got ${result.kind}` };
      const entry = result.entry;
      return {
        ok: true,
        value: entry.value === null ? null : fromUtf8.decode(entry.value),
        version: entry.version,
      };
    },
  };
}
