/**
 * The OpenAI Agents SDK's runner against real daemons: four `conclave start` replicas on
 * 127.0.0.1 and one `conclave mcp` process per agent, launched by the SDK's own
 * `MCPServerStdio`, as a user's agent launches it (all from the esbuild bundle of the CLI). The model is the scripted `Model` of
 * openai-agents-model.ts; the loop is the README snippet. Two agents reach an approved decision,
 * which is each run's `finalOutput`.
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  makeCluster,
  ROOT,
  type RunningReplica,
  startReplica,
  statusOf,
  stopReplica,
  waitFor,
} from '@conclave/cli';
import { MCPServerStdio, setTracingDisabled } from '@openai/agents';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDaemon, DIST } from '../../../cli/scripts/build.ts';
import { scriptedModel } from './openai-agents-model.ts';
import { runWithConclave } from './openai-agents-snippet.ts';
import { proposerScript, voterScript } from './shared.ts';

// The built CLI (one esbuild bundle): six processes start in seconds, not under tsx.
const OUT_DIR = join(DIST, `frameworks-${process.pid}`);
const replicas: RunningReplica[] = [];
const servers: MCPServerStdio[] = [];
let clusterDir = '';

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close().catch(() => undefined)));
  await Promise.all(replicas.map((replica) => stopReplica(replica, 'SIGKILL')));
  if (clusterDir !== '') rmSync(dirname(clusterDir), { recursive: true, force: true });
  rmSync(OUT_DIR, { recursive: true, force: true });
});

/** `conclave mcp` for `agent` over stdio, launched by the SDK (the bundle: no pnpm, no tsx start-up). */
function stdioServer(bundle: string, dir: string, agent: string): MCPServerStdio {
  const server = new MCPServerStdio({
    name: 'conclave',
    command: process.execPath,
    args: [bundle, 'mcp', '--dir', dir, '--agent', agent],
    cwd: ROOT,
    clientSessionTimeoutSeconds: 90,
  });
  servers.push(server);
  return server;
}

describe('the OpenAI Agents SDK over stdio, against real daemons', () => {
  it('runs propose, cast_vote and wait_for_decision through conclave mcp processes', async () => {
    setTracingDisabled(true);
    const [bundle, { dir }] = await Promise.all([buildDaemon(OUT_DIR), makeCluster(4, 4)]);
    clusterDir = dir;
    for (let id = 0; id < 4; id++) replicas.push(startReplica(dir, id, [], { bundle }));
    await waitFor(
      'replicas up',
      async () =>
        (await Promise.all([0, 1, 2, 3].map((id) => statusOf(dir, id)))).every(Boolean) ? true : undefined,
      30_000,
    );
    const proposalId = 'openai-agents-stdio';
    // Both runs start at once (so both servers start at once); agent-1's model answers first once
    // agent-0 has proposed.
    const proposerModel = scriptedModel(proposerScript(proposalId, ['agent-0', 'agent-1']));
    const proposed = () =>
      expect.poll(() => proposerModel.toolsSeen.length, { timeout: 30_000, interval: 50 }).toBeGreaterThan(1);
    const proposer = runWithConclave(
      proposerModel,
      stdioServer(bundle, dir, 'agent-0'),
      `Propose ${proposalId}.`,
    );
    const voter = runWithConclave(
      scriptedModel(voterScript(proposalId), proposed),
      stdioServer(bundle, dir, 'agent-1'),
      `Vote on ${proposalId}.`,
    );
    const [a, b] = await Promise.all([proposer, voter]);

    const calls = (items: readonly { type: string; name?: string }[]) =>
      items.filter((item) => item.type === 'function_call').map((item) => item.name);
    expect(calls(a.history as { type: string; name?: string }[])).toEqual([
      'propose',
      'cast_vote',
      'wait_for_decision',
    ]);
    expect(calls(b.history as { type: string; name?: string }[])).toEqual(['cast_vote', 'wait_for_decision']);
    expect(a.finalOutput).toBe('The decision is approved.');
    expect(b.finalOutput).toBe('The decision is approved.');
  }, 60_000);
});
