/** `kv_put`: writes a key through consensus, optionally only at the version the caller read. */
import { kvForModel } from '../present.ts';
import { integerIn, utf8Text } from './fields.ts';
import { defineTool } from './tool.ts';

export const kvPut = defineTool({
  name: 'kv_put',
  title: 'Write a shared key',
  description:
    "Writes a text value to a key of the shared key-value store, through consensus, and returns the new version. With expectedVersion, writes only if the key is still at that version (0: only if absent), else REJECTED (VERSION_MISMATCH): use it to avoid overwriting another agent's write.",
  // Destructive: it replaces whatever the key held.
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  input: ({ limits }) => ({
    key: utf8Text('key', limits.kvKeyBytesMax),
    value: utf8Text('value', limits.kvValueBytesMax, 0).describe('The value, as text.'),
    expectedVersion: integerIn('expectedVersion', 0, Number.MAX_SAFE_INTEGER)
      .optional()
      .describe('Compare-and-set: the version you read.'),
  }),
  run: async (args, context, extra) => {
    const kv = context.coordination.kv;
    const value = new TextEncoder().encode(args.value);
    const call = { signal: extra.signal };
    const entry =
      args.expectedVersion === undefined
        ? await kv.put(args.key, value, call)
        : await kv.cas(args.key, args.expectedVersion, value, call);
    return kvForModel(entry);
  },
});
