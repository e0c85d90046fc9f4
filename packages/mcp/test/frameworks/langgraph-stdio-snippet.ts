import { MultiServerMCPClient } from '@langchain/mcp-adapters';

/**
 * The MCP client that launches `conclave mcp` for `agent` over stdio. `conclave` runs the CLI,
 * for example ['pnpm', '-s', '--dir', '/path/to/conclave', 'conclave'].
 */
export function conclaveClient(conclave: readonly [string, ...string[]], cluster: string, agent: string) {
  const [command, ...args] = conclave;
  return new MultiServerMCPClient({
    mcpServers: {
      conclave: { transport: 'stdio', command, args: [...args, 'mcp', '--dir', cluster, '--agent', agent] },
    },
  });
}
