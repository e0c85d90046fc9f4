/**
 * `conclave receipt get|verify`: a receipt is the proof, checkable offline by anyone holding the
 * cluster's public keys, that a request was decided at (view, sequence). `get` fetches the
 * receipt of one of the acting agent's own requests (the replicas serve it while the batch is
 * above their stable checkpoint); `verify` checks one against cluster.json or genesis.json
 * without any network, and says which replicas signed it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { decodeRequestBody } from '@conclave/coordination';
import {
  bytesEqual,
  decodeCanonical,
  decodeReceipt,
  encodeReceipt,
  fromHex,
  nodeCrypto,
  quorumsOf,
  type Receipt,
  toHex,
  verifyReceipt,
} from '@conclave/core';
import { CliError, clusterConfigOf, loadClusterFile } from '@conclave/node';
import { actingAgent, asAgent, noMoreThan } from './agent-session.ts';
import { integer, print, requireString, UsageError, type Values } from './args.ts';

export async function receiptCommand(args: readonly string[], values: Values): Promise<number> {
  const [action, ...rest] = args;
  switch (action) {
    case 'get':
      return get(rest, values);
    case 'verify':
      return verify(rest, values);
    default:
      throw new UsageError('receipt takes get or verify');
  }
}

/** The receipt of the acting agent's request R, decided at sequence S; verified before it is printed. */
async function get(args: readonly string[], values: Values): Promise<number> {
  noMoreThan(args, 0);
  const sequence = integer(requireString(values.sequence, '--sequence'), '--sequence');
  const requestId = integer(requireString(values['request-id'], '--request-id'), '--request-id');
  if (sequence < 1 || requestId < 0)
    throw new UsageError('--sequence takes a positive number, --request-id a whole number ≥ 0');
  const receipt = await asAgent(values, (c) => c.client.receipt(sequence, requestId));
  const hex = toHex(encodeReceipt(receipt));
  const out = typeof values.out === 'string' ? values.out : undefined;
  if (out !== undefined) writeFileSync(out, `${hex}\n`);
  const signers = signersOf(receipt);
  if (values.json) {
    print(
      JSON.stringify({
        agent: actingAgent(values),
        requestId,
        sequence: receipt.sequence,
        view: receipt.view,
        signers,
        receipt: hex,
        ...(out === undefined ? {} : { out }),
      }),
    );
  } else if (out !== undefined) {
    print(
      `wrote the receipt of request ${requestId} (sequence ${receipt.sequence}, view ${receipt.view}, signed by replicas ${signers.join(', ')}) to ${out}`,
    );
  } else {
    print(hex);
  }
  return 0;
}

/**
 * Reads a receipt from FILE or `-` (stdin): hex, or a JSON object with a `receipt` field (what
 * `proposal vote --json`, `kv put --json` and `receipt get --json` print).
 */
function receiptText(source: string): string {
  let text: string;
  try {
    text = readFileSync(source === '-' ? 0 : source, 'utf8').trim();
  } catch (error) {
    throw new CliError('BAD_ARGUMENT', `cannot read ${source}: ${(error as Error).message}`);
  }
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as { receipt?: unknown };
      if (typeof parsed.receipt === 'string') return parsed.receipt;
    } catch {
      // Not JSON after all: reported below as not a receipt.
    }
    throw invalid(`${source} is JSON without a "receipt" field of hex`);
  }
  return text;
}

const invalid = (reason: string): CliError => new CliError('RECEIPT_INVALID', `RECEIPT_INVALID: ${reason}`);

/** The replicas whose commits the receipt carries, in order (meaningful once it verifies). */
function signersOf(receipt: Receipt): number[] {
  return receipt.commits.flatMap((commit) => {
    const decoded = decodeCanonical(commit.bytes);
    const replica = decoded.ok && Array.isArray(decoded.value) ? decoded.value[4] : undefined;
    return typeof replica === 'number' ? [replica] : [];
  });
}

/**
 * Checks a receipt offline against DIR's cluster.json or genesis.json: the agent's signature on
 * the request, the request in the batch, and 2f+1 commit signatures by distinct replicas. The
 * agent's key is the one the request carries; whether it is the one the cluster file lists is
 * reported (an agent registered, or a key rotated, since genesis is not in the file: the 2f+1
 * commits then vouch that the cluster accepted it).
 */
async function verify(args: readonly string[], values: Values): Promise<number> {
  noMoreThan(args, 1);
  const source = requireString(args[0], 'a receipt FILE, or - for stdin (receipt verify FILE|-)');
  const dir = requireString(values.dir, '--dir');
  const file = loadClusterFile(dir);
  const cluster = clusterConfigOf(file);
  const text = receiptText(source);
  const bytes = /^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0 ? fromHex(text) : undefined;
  const receipt = bytes === undefined ? undefined : decodeReceipt(bytes);
  const fail = (reason: string): never => {
    if (values.json) print(JSON.stringify({ valid: false, reason }));
    throw invalid(reason);
  };
  if (receipt === undefined) return fail(`${source} does not hold a receipt (hex of an encoded receipt)`);
  const request = decodeRequestBody(receipt.request.bytes);
  if (request === undefined) return fail('the request is not a canonical request');
  const checked = verifyReceipt(receipt, cluster, nodeCrypto(), (agent) =>
    agent === request.agent ? request.publicKey : undefined,
  );
  if (!checked.ok) return fail(checked.reason);
  const listed = cluster.agents.find((a) => a.id === request.agent)?.publicKey;
  const agentKeyInClusterFile = listed !== undefined && bytesEqual(listed, request.publicKey);
  const signers = signersOf(receipt);
  const { quorum } = quorumsOf(cluster.replicas.length);
  if (values.json) {
    print(
      JSON.stringify({
        valid: true,
        agent: request.agent,
        requestId: request.requestId,
        sequence: receipt.sequence,
        view: receipt.view,
        timestamp: receipt.timestamp,
        signers,
        quorum,
        replicas: cluster.replicas.length,
        agentKey: toHex(request.publicKey),
        agentKeyInClusterFile,
      }),
    );
    return 0;
  }
  print(
    `valid: request ${request.requestId} of ${request.agent}, decided at sequence ${receipt.sequence} (view ${receipt.view})`,
  );
  print(
    `  signed by replicas ${signers.join(', ')} (${signers.length} of ${cluster.replicas.length}; ${quorum} needed)`,
  );
  print(
    agentKeyInClusterFile
      ? `  ${request.agent}'s signature is by its key in the cluster file`
      : `  ${request.agent}'s key is not the one in the cluster file (registered or rotated since): the commits vouch the cluster accepted it`,
  );
  return 0;
}
