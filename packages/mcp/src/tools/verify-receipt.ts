/** `verify_receipt`: checks a receipt against the cluster's public keys, without asking any replica. */
import { decodeRequestBody } from '@conclave/coordination';
import { verifyReceipt as verify } from '@conclave/core';
import { z } from 'zod';
import { decodeReceiptText, operationForModel } from '../present.ts';
import { defineTool, READS } from './tool.ts';

export const verifyReceipt = defineTool({
  name: 'verify_receipt',
  title: 'Check a receipt offline',
  description:
    "Checks a receipt (base64 from cast_vote, or the hex the conclave CLI prints) against the cluster's public keys, without asking any replica: the agent's signature on the request, its inclusion in the batch, and 2f+1 replica signatures on the commit. Returns valid true/false with the reason, and what the receipt proves (which agent did what, at which sequence). A tampered or foreign receipt is valid: false, not an error.",
  annotations: READS,
  input: () => ({ receipt: z.string().min(1).describe('The receipt, base64 or hex.') }),
  run: async (args, context) => {
    const client = context.coordination.client;
    const receipt = decodeReceiptText(args.receipt);
    if (receipt === undefined)
      return { valid: false, reason: 'not a receipt (expected base64 or hex of one)' };
    const check = verify(receipt, client.cluster, client.crypto);
    if (!check.ok) return { valid: false, reason: check.reason };
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
    };
  },
});
