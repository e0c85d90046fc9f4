/** `kv_get`: a key of the shared key-value store, with its version for a later compare-and-set. */
import { kvForModel } from '../present.ts';
import { utf8Text } from './fields.ts';
import { defineTool, READS } from './tool.ts';

export const kvGet = defineTool({
  name: 'kv_get',
  title: 'Read a shared key',
  description:
    "Reads a key of the cluster's shared key-value store: its value (text), version (0 when absent) and who last wrote it. Pass the version to kv_put as expectedVersion to update it safely.",
  annotations: READS,
  input: (fields) => ({ key: utf8Text('key', fields.limits.kvKeyBytesMax), consistency: fields.consistency }),
  run: async (args, context, extra) =>
    kvForModel(
      await context.coordination.kv.get(args.key, { consistency: args.consistency, signal: extra.signal }),
    ),
});
