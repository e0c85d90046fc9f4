/**
 * Each framework's own agent loop against real daemons, over stdio, as most users attach an MCP
 * server: four `conclave start` replicas on 127.0.0.1 (one cluster for the whole file: starting
 * it costs seconds) and one `conclave mcp` process per agent, launched by the framework itself
 * (`MCPServerStdio`, `Experimental_StdioMCPTransport`, `MultiServerMCPClient`'s stdio config).
 * The launchers and loops are the README snippets; the models are each framework's scripted
 * double. In each test one agent proposes, approves and waits, another (started at the same
 * time, its model held until the proposal is on the cluster) approves and waits, and both
 * answers quote the approved decision. Each test has its own proposal and proposer.
 */
import { setTracingDisabled } from '@openai/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as aiSdk from './ai-sdk-model.ts';
import { runWithConclave as runAiSdk } from './ai-sdk-snippet.ts';
import { conclaveTransport } from './ai-sdk-stdio-snippet.ts';
import * as langgraph from './langgraph-model.ts';
import { runWithConclave as runLangGraph } from './langgraph-snippet.ts';
import { conclaveClient } from './langgraph-stdio-snippet.ts';
import * as openai from './openai-agents-model.ts';
import { runWithConclave as runOpenAi } from './openai-agents-snippet.ts';
import { conclaveServer } from './openai-agents-stdio-snippet.ts';
import { type RealCluster, startRealCluster } from './real-cluster.ts';
import { proposerScript, readmeHasSnippet, voterScript } from './shared.ts';

/**
 * Each test's proposer and voter. An agent may hold only 2 decided proposals (the default
 * `retainedProposalsPerAgentMax`; a third is refused with QUOTA), so no agent proposes twice
 * in this file. agent-3 is the watcher.
 */
const PAIRS = {
  openai: ['agent-0', 'agent-1'],
  aiSdk: ['agent-1', 'agent-2'],
  langgraph: ['agent-2', 'agent-0'],
} as const;
/** One framework's two runs, servers start-up included, on a busy 2-core machine. */
const RUN_TIMEOUT_MS = 60_000;

let cluster: RealCluster;
/** Every MCP client or server the tests made: closing one ends its `conclave mcp` process. */
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  setTracingDisabled(true); // no trace export (it would need an API key and the network)
  cluster = await startRealCluster();
}, 60_000);
afterAll(async () => {
  await Promise.all(closers.map((close) => close().catch(() => undefined)));
  await cluster?.stop();
});

/** `closable`, closed again after all tests: its process ends even if a test failed early. */
function closedAfter<T extends { close(): Promise<unknown> }>(closable: T): T {
  closers.push(() => closable.close());
  return closable;
}

/** LangGraph's MCP client for `agent`: the snippet's `MultiServerMCPClient`, connected. */
async function langgraphClient(agent: string) {
  const client = await closedAfter(conclaveClient(cluster.conclave, cluster.dir, agent)).getClient(
    'conclave',
  );
  if (client === undefined) throw new Error('the MultiServerMCPClient has no server named conclave');
  return client;
}

describe('agent frameworks over stdio, against four real daemons', () => {
  it(
    'the OpenAI Agents SDK: run() with MCPServerStdio',
    async () => {
      const id = 'openai-agents-stdio';
      const [proposer, voter] = PAIRS.openai;
      const server = (agent: string) => closedAfter(conclaveServer(cluster.conclave, cluster.dir, agent));
      const proposerModel = openai.scriptedModel(proposerScript(id, PAIRS.openai));
      const voterModel = openai.scriptedModel(voterScript(id), () => cluster.untilProposed(id));
      const [a, b] = await Promise.all([
        runOpenAi(proposerModel, server(proposer), `Propose ${id}.`),
        runOpenAi(voterModel, server(voter), `Vote on ${id}.`),
      ]);
      // The runner offered the tools it listed from the server.
      expect(proposerModel.toolsSeen[0]).toEqual(
        expect.arrayContaining(['propose', 'cast_vote', 'wait_for_decision']),
      );
      openai.expectBothDecided(a, b);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'the Vercel AI SDK: generateText() with Experimental_StdioMCPTransport',
    async () => {
      const id = 'ai-sdk-stdio';
      const [proposer, voter] = PAIRS.aiSdk;
      const transport = (agent: string) =>
        closedAfter(conclaveTransport(cluster.conclave, cluster.dir, agent));
      const proposerModel = aiSdk.scriptedModel(proposerScript(id, PAIRS.aiSdk));
      const voterModel = aiSdk.scriptedModel(voterScript(id), () => cluster.untilProposed(id));
      const [a, b] = await Promise.all([
        runAiSdk(proposerModel, transport(proposer), `Propose ${id}.`),
        runAiSdk(voterModel, transport(voter), `Vote on ${id}.`),
      ]);
      aiSdk.expectBothDecided(a, b);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    "LangGraph.js: createReactAgent() with MultiServerMCPClient's stdio transport",
    async () => {
      const id = 'langgraph-stdio';
      const [proposer, voter] = PAIRS.langgraph;
      const proposerModel = new langgraph.ScriptedChatModel(proposerScript(id, PAIRS.langgraph));
      const voterModel = new langgraph.ScriptedChatModel(voterScript(id), () => cluster.untilProposed(id));
      const [a, b] = await Promise.all([
        langgraphClient(proposer).then((client) => runLangGraph(proposerModel, client, `Propose ${id}.`)),
        langgraphClient(voter).then((client) => runLangGraph(voterModel, client, `Vote on ${id}.`)),
      ]);
      langgraph.expectBothDecided(a, b);
    },
    RUN_TIMEOUT_MS,
  );

  it('launches each server as the README shows', () => {
    const snippets = [
      'openai-agents-stdio-snippet.ts',
      'ai-sdk-stdio-snippet.ts',
      'langgraph-stdio-snippet.ts',
    ];
    for (const snippet of snippets) expect(readmeHasSnippet(snippet), snippet).toBe(true);
  });
});
