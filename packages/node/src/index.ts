/**
 * @conclave/node: the replica daemon (lmdb, metrics, the verify worker pool, transport wiring).
 * It imports core, transport and coordination only; the `conclave` command lives in @conclave/cli.
 */

export {
  dialAddress,
  dialOptions,
  httpPortOf,
  type ListeningAddress,
  RUNTIME_DIR,
  readListeningAddress,
  usesReportedPorts,
  writeListeningAddress,
} from './addresses.ts';
export {
  AGENT_MESSAGE_TYPES,
  AGENT_QUEUE_FRAMES_LIMIT,
  type AgentLimits,
  DEFAULT_AGENT_LIMITS,
  isReplicaOnlyFrame,
  resolveAgentLimits,
} from './agent-limits.ts';
export {
  CLUSTER_FILE,
  type ClusterFile,
  clusterConfigOf,
  DEFAULT_BASE_PORT,
  DEFAULT_CLUSTER_DIR,
  DEFAULT_TICK_MS,
  directoryOf,
  type InitOptions,
  initCluster,
  type LoadClusterOptions,
  loadClusterFile,
  loadSecretKey,
  type ReplicaEntry,
  resolvedCoordinationLimits,
  STATE_MACHINE_KINDS,
  type StateMachineKind,
  type TlsFiles,
  tlsOptionsOf,
} from './cluster-file.ts';
export {
  CONNECTION_LIMIT_NAMES,
  type ConnectionLimitName,
  type ConnectionLimits,
  resolveConnectionLimits,
} from './connection-limits.ts';
export { resolveCoordinationConfig } from './coordination-config.ts';
export { coordinationOptionsOf } from './coordination-options.ts';
export { type Council, checkCouncil, defaultCouncil } from './council.ts';
export {
  type DaemonOptions,
  type DaemonStatus,
  ReplicaDaemon,
  ROUND_INPUTS_MAX,
} from './daemon.ts';
export { CliError, type CliErrorCode } from './errors.ts';
export {
  AGENT_FRAMES_QUEUED_MAX,
  type AgentRefusal,
  FairInbox,
  REPLICA_QUEUE_FRAMES_MAX,
  REPLICA_ROUND_SHARE,
} from './fair-inbox.ts';
export { type AssembleOptions, assembleGenesis, type StatementInput } from './genesis-assemble.ts';
export { type GenesisSignatures, genesisRuleProblem } from './genesis-check.ts';
export {
  GENESIS_FILE,
  type GenesisAgent,
  type GenesisBody,
  type GenesisFile,
  type GenesisReplica,
  type GenesisSignature,
  genesisHashOf,
  genesisSignedBytes,
} from './genesis-format.ts';
export { type CheckedGenesis, checkGenesis, readGenesis, readJsonFile } from './genesis-load.ts';
export { mergeGenesis, type Signed, signGenesis, writeGenesisFile } from './genesis-sign.ts';
export { type KeyPair, readSecretKeyFile, writeSecretKeyFile } from './key-file.ts';
export { type KeygenOptions, type KeygenResult, keygen, partyName, type StatementFile } from './keygen.ts';
export { createReplicaMetrics, type ReplicaMetrics } from './metrics.ts';
export { precheckSignatures, type VerdictCache, type VerifyChecks } from './signature-precheck.ts';
export {
  openReplicaStore,
  type ReplicaStore,
  STORED_CHECKPOINT_DECODE_LIMITS,
  SYNC_MODES,
  type SyncMode,
} from './store.ts';
export { defaultVerifyWorkers, VERIFY_WORKERS_MAX, VerifyPool } from './verify-pool.ts';
