import { Experimental_StdioMCPTransport } from '@ai-sdk/mcp/mcp-stdio';

/**
 * The transport that launches `conclave mcp` for `agent` over stdio. `conclave` runs the CLI,
 * for example ['pnpm', '-s', '--dir', '/path/to/conclave', 'conclave'].
 */
export function conclaveTransport(conclave: readonly [string, ...string[]], cluster: string, agent: string) {
  const [command, ...args] = conclave;
  return new Experimental_StdioMCPTransport({
    command,
    args: [...args, 'mcp', '--dir', cluster, '--agent', agent],
  });
}
