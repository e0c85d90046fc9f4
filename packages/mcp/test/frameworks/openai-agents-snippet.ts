import { Agent, type MCPServer, type Model, run } from '@openai/agents';

/** One agent's turn: an Agents SDK agent with Conclave's MCP tools, until it answers. */
export async function runWithConclave(model: Model, conclave: MCPServer, prompt: string) {
  await conclave.connect();
  try {
    const agent = new Agent({
      name: 'voter',
      instructions: 'Decide with the other agents through the conclave tools.',
      model,
      mcpServers: [conclave],
    });
    return await run(agent, prompt, { maxTurns: 8 });
  } finally {
    await conclave.close();
  }
}
