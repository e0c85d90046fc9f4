import { MCPServerStdio } from '@openai/agents';

/**
 * The server that launches `conclave mcp` for `agent` over stdio. `conclave` runs the CLI,
 * for example ['pnpm', '-s', '--dir', '/path/to/conclave', 'conclave'].
 */
export function conclaveServer(conclave: readonly [string, ...string[]], cluster: string, agent: string) {
  const [command, ...args] = conclave;
  return new MCPServerStdio({
    name: 'conclave',
    command,
    args: [...args, 'mcp', '--dir', cluster, '--agent', agent],
    clientSessionTimeoutSeconds: 90, // default 5 s: too short for wait_for_decision
  });
}
