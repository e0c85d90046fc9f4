/**
 * The dashboard's reader of replicated state: an observer agent (read-only: the state machine
 * refuses its every write, and no proposal or council may include it), so the key the dashboard
 * holds can never write, propose or vote. Refused before its key is loaded when cluster.json
 * says it is not an observer, and after connecting when the live registry says so (an agent
 * registered later, with `agent add --observer`, is only in the live registry).
 */
import { CliError, type ClusterFile } from '@conclave/node';
import { type ConclaveClient, type Coordination, coordination } from '@conclave/sdk';
import { connectAgent } from '../connect.ts';

/** Proposals shown (the first in id order), each one quorum read per refresh. */
const PROPOSALS_SHOWN = 50;

const HOW =
  'register one with `conclave genesis assemble --observers NAME` or `conclave agent add STATEMENT --observer`';

export interface Observer {
  readonly agent: string;
  /** One snapshot of the registry, proposals, evidence and quota usage, by quorum reads. */
  read(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function connectObserver(dir: string, file: ClusterFile, agent: string): Promise<Observer> {
  const entry = file.agents.find((a) => a.id === agent);
  if (entry !== undefined && entry.observer !== true) throw notObserver(agent, 'in cluster.json');
  // Generous: a loaded cluster answers a quorum read slowly, and this runs once, at start.
  const client: ConclaveClient = await connectAgent({ dir, agent, timeoutMs: 10_000 });
  const reader = coordination(client);
  const record = (await reader.agents({ consistency: 'quorum' })).find((a) => a.id === agent);
  if (record?.observer !== true) {
    await client.close();
    throw notObserver(agent, 'in the live registry');
  }
  return { agent, read: () => readState(reader), close: () => client.close() };
}

function notObserver(agent: string, where: string): CliError {
  return new CliError(
    'BAD_ARGUMENT',
    `${agent} is not an observer ${where}: its key could write or vote, and the dashboard holds none that can; ${HOW}`,
  );
}

async function readState(reader: Coordination): Promise<Record<string, unknown>> {
  const read = { consistency: 'quorum' as const, timeoutMs: 2_000 };
  const [agents, council, usage, summaries, evidence] = await Promise.all([
    reader.agents(read),
    reader.council(read),
    reader.usage(read),
    reader.proposals({ status: 'all', limit: PROPOSALS_SHOWN }, read),
    reader.evidence({}, read),
  ]);
  // Summaries carry no tally: each proposal's full view, one quorum read each.
  const proposals = await Promise.all(summaries.map((p) => reader.decision(p.proposalId, read)));
  return { agents, council, usage, proposals, evidence, at: Date.now() };
}
