import { createMCPClient, type MCPClientConfig } from '@ai-sdk/mcp';
import { generateText, type LanguageModel, stepCountIs } from 'ai';

/** One agent's turn: the model gets Conclave's tools over MCP and calls them until it answers. */
export async function runWithConclave(
  model: LanguageModel,
  transport: MCPClientConfig['transport'],
  prompt: string,
) {
  const conclave = await createMCPClient({ transport });
  try {
    return await generateText({ model, tools: await conclave.tools(), stopWhen: stepCountIs(8), prompt });
  } finally {
    await conclave.close();
  }
}
