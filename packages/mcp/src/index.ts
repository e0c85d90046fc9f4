/**
 * @conclave/mcp: an MCP server that lets any agent framework take part in Conclave decisions
 * as one agent identity: the coordination primitives as tools, decisions as resources, over
 * stdio or Streamable HTTP.
 */
export { failureOf, type ToolFailure, toolError } from './errors.ts';
export {
  decodeReceiptText,
  operationForModel,
  proposalForModel,
  receiptForModel,
  signedBallotIn,
} from './present.ts';
export {
  HTTP_BODY_BYTES_MAX,
  HTTP_SESSION_IDLE_MS_DEFAULT,
  HTTP_SESSION_YIELD_IDLE_MS_MIN,
  HTTP_SESSIONS_MAX,
  type HttpOptions,
  type Serving,
  serveHttp,
  serveStdio,
} from './serve.ts';
export { type ConclaveMcpServerOptions, createConclaveMcpServer } from './server.ts';
export { DEFAULT_TICK_MS } from './ticks.ts';
export { type ConclaveTool, type ConclaveToolkit, conclaveToolkit } from './toolkit.ts';
export { RECEIPT_ATTEMPTS_MAX, RECEIPT_TIMEOUT_MS } from './tools/cast-with-receipt.ts';
export { TOOLS } from './tools/index.ts';
export { LIST_LIMIT_MAX } from './tools/list-proposals.ts';
export type { ToolContext, ToolDefinition } from './tools/tool.ts';
export { ToolFailureError } from './tools/tool.ts';
export {
  WAIT_HEARTBEAT_MS,
  WAIT_POLL_MS,
  WAIT_SECONDS_DEFAULT,
  WAIT_SECONDS_MAX,
} from './tools/wait-for-decision.ts';
