import { conclaveTools } from '@conclave/ai-sdk';
import type { Coordination } from '@conclave/sdk';
import { generateText, type LanguageModel, stepCountIs } from 'ai';

/** One agent's turn with Conclave's tools as AI SDK tools: no MCP client, no server process. */
export async function runWithConclaveTools(
  model: LanguageModel,
  coordination: Coordination,
  tickMs: number, // cluster.json's tickMs
  prompt: string,
) {
  const conclave = conclaveTools({ coordination, tickMs });
  try {
    return await generateText({ model, tools: conclave.tools, stopWhen: stepCountIs(8), prompt });
  } finally {
    await conclave.close();
  }
}
