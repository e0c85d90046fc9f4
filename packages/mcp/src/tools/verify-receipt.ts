/**
 * `verify_receipt`: checks a receipt against the cluster's replica keys and the agent's key in
 * force at the receipt's sequence (from the registry's key history), without trusting any one
 * replica.
 */
import { decodeRequestBody } from '@conclave/coordination';
import { type AgentKeyAt, verifyReceipt as verify } from '@conclave/core';
import { z } from 'zod';
import { decodeReceiptText, operationForModel } from '../present.ts';
import { keyHistoryOf } from './registry.ts';
import { defineTool, READS, type ToolContext } from './tool.ts';

export const verifyReceipt = defineTool({
  name: 'verify_receipt',
  title: 'Check a receipt',
  description:
    "Checks a receipt (base64 from cast_vote, or the hex the conclave CLI prints): the agent's signature on the request, with the key the agent held at the receipt's sequence (from the registry's key history, so receipts signed before a key rotation or removal still check), its inclusion in the batch, and 2f+1 replica signatures on the commit against the cluster's replica keys. Returns valid true/false with the reason, and what the receipt proves (which agent did what, at which sequence). A tampered or foreign receipt is valid: false, not an error. If the registry cannot be read, the genesis agents' keys are used and agentKeysFrom says so.",
  annotations: READS,
  input: () => ({ receipt: z.string().min(1).describe('The receipt, base64 or hex.') }),
  run: async (args, context, extra) => {
    const client = context.coordination.client;
    const receipt = decodeReceiptText(args.receipt);
    if (receipt === undefined)
      return { valid: false, reason: 'not a receipt (expected base64 or hex of one)' };
    const keys = await agentKeys(context, extra.signal);
    const check = verify(receipt, client.cluster, client.crypto, keys.keyAt);
    if (!check.ok) return { valid: false, reason: check.reason, agentKeysFrom: keys.from };
    const body = decodeRequestBody(receipt.request.bytes);
    return {
      valid: true,
      agent: check.request.agent,
      requestId: check.request.requestId,
      sequence: check.sequence,
      view: check.view,
      agreedTime: receipt.timestamp,
      replicaSignatures: receipt.commits.length,
      operation: body === undefined ? null : operationForModel(body.operation),
      agentKeysFrom: keys.from,
    };
  },
});

/** The registry's key history; the genesis agents' keys (said so) when it cannot be read. */
async function agentKeys(
  context: ToolContext,
  signal: AbortSignal,
): Promise<{ readonly keyAt?: AgentKeyAt; readonly from: string }> {
  try {
    return { keyAt: await keyHistoryOf(context, { signal, timeoutMs: 5_000 }), from: 'registry' };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { from: `genesis (the registry could not be read: ${why})` };
  }
}
