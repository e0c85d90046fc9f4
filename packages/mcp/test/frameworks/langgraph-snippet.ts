import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { createReactAgent } from '@langchain/langgraph/prebuilt';
import { loadMcpTools } from '@langchain/mcp-adapters';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

/** One agent's turn: a LangGraph ReAct agent with Conclave's MCP tools, until it answers. */
export async function runWithConclave(llm: BaseChatModel, conclave: Client, prompt: string) {
  const tools = await loadMcpTools('conclave', conclave);
  // @langchain/mcp-adapters (1.1.4) merges the branches of a oneOf into one object, so `propose`
  // would refuse every rule but the last kind (langchainjs#11302): restore the server's schemas.
  const { tools: served } = await conclave.listTools();
  for (const tool of tools)
    tool.schema = served.find((s) => s.name === tool.name)?.inputSchema ?? tool.schema;
  const agent = createReactAgent({ llm, tools });
  const { messages } = await agent.invoke(
    { messages: [{ role: 'user', content: prompt }] },
    { recursionLimit: 12 },
  );
  return messages;
}
