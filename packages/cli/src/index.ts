/**
 * @conclave/cli: the `conclave` command, and what runs whole clusters of real daemons on one
 * machine (agents connected from a cluster directory, local clusters for tests and benchmarks).
 * The one package that may import every other (see docs/ARCHITECTURE.md).
 */

export { type CliOptions, runCli } from './commands.ts';
export { agentTransport, type ConnectAgentOptions, connectAgent } from './connect.ts';
export {
  type BrowserEvidence,
  type BrowserSigned,
  canonicalMsgpack,
  type EvidenceVerdict,
  type MsgpackLike,
  verifyEvidenceItem,
} from './dashboard/browser-evidence.ts';
export {
  type BrowserKeys,
  type BrowserVerdict,
  type NaclLike,
  verifyReceiptText,
} from './dashboard/browser-verify.ts';
export {
  type Dashboard,
  type DashboardOptions,
  evidenceScript,
  naclScript,
  pageJson,
  receiptScript,
  startDashboard,
} from './dashboard/server.ts';
export {
  type CliRun,
  makeCluster,
  metricsOf,
  metricValue,
  ROOT,
  type RunningReplica,
  runConclave,
  startReplica,
  statusOf,
  stopReplica,
  waitFor,
} from './local-cluster.ts';
export { runConclaveHere } from './run-here.ts';
