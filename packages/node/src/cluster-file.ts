/**
 * The cluster on disk: `cluster.json` (public: ids, public keys, addresses, protocol settings)
 * and `keys/<name>.secret` (one hex Ed25519 secret key per file, mode 0600, owner only).
 *
 * ```
 * conclave-cluster/
 *   cluster.json
 *   keys/replica-0.secret … keys/agent-0.secret …
 *   data/replica-0/       (lmdb, created by `conclave start`)
 * ```
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CoordinationLimits } from '@conclave/coordination';
import {
  type ClusterConfig,
  ConfigError,
  type CryptoBackend,
  fromHex,
  nodeCrypto,
  type ProtocolConfig,
  REPLY_AUTH_SCHEMES,
  type ReplyAuth,
  toHex,
  validateCluster,
} from '@conclave/core';
import type { Directory, TlsOptions, WebSocketTransportOptions } from '@conclave/transport';
import { type AgentLimits, resolveAgentLimits } from './agent-limits.ts';
import { type ConnectionLimits, resolveConnectionLimits } from './connection-limits.ts';
import { resolveCoordinationConfig } from './coordination-config.ts';
import { CliError } from './errors.ts';
import { VERIFY_WORKERS_MAX } from './verify-pool.ts';

export const CLUSTER_FILE = 'cluster.json';
export const DEFAULT_CLUSTER_DIR = 'conclave-cluster';
export const DEFAULT_BASE_PORT = 7400;
/** Milliseconds per protocol tick: the only place ticks meet wall-clock time. */
export const DEFAULT_TICK_MS = 10;

export interface ReplicaEntry {
  readonly id: number;
  readonly publicKey: string;
  readonly host: string;
  /** Replica-to-replica and agent connections (WebSocket). */
  readonly port: number;
  /** GET /metrics, /health and /status, on 127.0.0.1 only. */
  readonly httpPort: number;
  /**
   * Where this replica itself listens, when not on `port`: `port` is then where others reach it
   * (a proxy in between, such as the chaos harness's fault-injecting one). Default: `port`.
   */
  readonly listenPort?: number;
}

/**
 * TLS for the transport (wss). Paths are relative to the cluster directory; `{id}` in `cert` and
 * `key` becomes the replica id. Replicas need cert and key; everyone dials trusting `ca`.
 * Ed25519 handshakes authenticate peers and a per-frame MAC protects every frame either way;
 * TLS adds confidentiality.
 */
export interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** What replicas execute: the coordination state machine (default), or the minimal KV. */
export type StateMachineKind = 'coordination' | 'kv';
export const STATE_MACHINE_KINDS: readonly StateMachineKind[] = ['coordination', 'kv'];

export interface ClusterFile {
  readonly version: 1;
  readonly tickMs: number;
  readonly stateMachine?: StateMachineKind;
  /**
   * How replicas authenticate replies to agents: `channel` (the transport's per-frame MAC, bound
   * to the mutually authenticated handshake; what `conclave init` writes) or `signature` (an
   * Ed25519 signature per reply; the default when absent). Receipts are signed either way.
   */
  readonly replyAuth?: ReplyAuth;
  /** Signature-checking worker threads per replica (0: in the step loop). Default: cores - 1, at most 8. */
  readonly verifyWorkers?: number;
  /** What one agent may ask of one replica (rates, bursts, queue); absent fields take `DEFAULT_AGENT_LIMITS`. */
  readonly agentLimits?: Partial<AgentLimits>;
  /** What a replica's transport holds for peers (connections, pending handshakes, agents' queues); absent fields take the transport's defaults. */
  readonly connectionLimits?: ConnectionLimits;
  /**
   * The coordination state machine's limits (per-agent quotas, field sizes); absent fields take
   * `DEFAULT_COORDINATION_LIMITS`. Every replica must use the same: they are part of what it executes.
   */
  readonly coordination?: Partial<CoordinationLimits>;
  readonly tls?: TlsFiles;
  readonly protocol: Partial<ProtocolConfig>;
  readonly replicas: readonly ReplicaEntry[];
  readonly agents: readonly { readonly id: string; readonly publicKey: string }[];
}

export interface InitOptions {
  readonly dir?: string;
  readonly replicas?: number;
  readonly agents?: number;
  readonly basePort?: number;
  readonly host?: string;
  readonly tickMs?: number;
  readonly protocol?: Partial<ProtocolConfig>;
  readonly stateMachine?: StateMachineKind;
  readonly replyAuth?: ReplyAuth;
  /** Written as `coordination`; checked first against the agent count, so nothing is written if it does not fit. */
  readonly coordination?: Partial<CoordinationLimits>;
}

/** How `conclave init` is told lower quotas: they are written to cluster.json as `coordination`. */
const INIT_LOWER_QUOTAS_HINT =
  'pass lower per-agent quotas with --coordination \'{"retainedProposalsPerAgentMax": 1, …}\' ' +
  '(written to cluster.json "coordination"; see docs/limits.md)';

export const agentName = (index: number): string => `agent-${index}`;
export const replicaKeyName = (id: number): string => `replica-${id}`;

/** Creates a cluster directory: config and owner-only secret key files. Refuses to overwrite one. */
export function initCluster(
  options: InitOptions = {},
  crypto: CryptoBackend = nodeCrypto(),
): { dir: string; cluster: ClusterFile } {
  const dir = resolve(options.dir ?? DEFAULT_CLUSTER_DIR);
  const replicas = options.replicas ?? 4;
  const agents = options.agents ?? 4;
  const basePort = options.basePort ?? DEFAULT_BASE_PORT;
  const host = options.host ?? '127.0.0.1';
  if (!Number.isInteger(replicas) || replicas < 4 || (replicas - 1) % 3 !== 0) {
    throw new CliError('BAD_ARGUMENT', `--replicas must be 3f+1 with f >= 1 (4, 7, 10, …), got ${replicas}`);
  }
  if (!Number.isInteger(agents) || agents < 0)
    throw new CliError('BAD_ARGUMENT', `--agents must be 0 or more, got ${agents}`);
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + 2 * replicas > 65535) {
    throw new CliError(
      'BAD_ARGUMENT',
      `--base-port must leave room for ${2 * replicas} ports between 1024 and 65535`,
    );
  }
  // Before any key is written: a registry too large for the default quotas is refused here, with
  // the quotas to lower, rather than by every replica at start.
  if ((options.stateMachine ?? 'coordination') === 'coordination')
    resolveCoordinationConfig(options.coordination, agents, `--agents ${agents}`, INIT_LOWER_QUOTAS_HINT);
  if (existsSync(join(dir, CLUSTER_FILE))) {
    throw new CliError(
      'ALREADY_EXISTS',
      `${join(dir, CLUSTER_FILE)} exists; choose another --dir or remove it`,
    );
  }
  mkdirSync(join(dir, 'keys'), { recursive: true, mode: 0o700 });
  const writeKey = (name: string): string => {
    const pair = crypto.keyPairFromSeed(new Uint8Array(randomBytes(32)));
    const path = join(dir, 'keys', `${name}.secret`);
    writeFileSync(path, `${toHex(pair.secretKey)}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
    return toHex(pair.publicKey);
  };
  const cluster: ClusterFile = {
    version: 1,
    tickMs: options.tickMs ?? DEFAULT_TICK_MS,
    stateMachine: options.stateMachine ?? 'coordination',
    replyAuth: options.replyAuth ?? 'channel',
    ...(options.coordination === undefined ? {} : { coordination: options.coordination }),
    protocol: options.protocol ?? {},
    replicas: Array.from({ length: replicas }, (_, id) => ({
      id,
      publicKey: writeKey(replicaKeyName(id)),
      host,
      port: basePort + id,
      httpPort: basePort + replicas + id,
    })),
    agents: Array.from({ length: agents }, (_, index) => ({
      id: agentName(index),
      publicKey: writeKey(agentName(index)),
    })),
  };
  writeFileSync(join(dir, CLUSTER_FILE), `${JSON.stringify(cluster, null, 2)}\n`);
  return { dir, cluster };
}

export function loadClusterFile(dir: string): ClusterFile {
  const path = join(resolve(dir), CLUSTER_FILE);
  if (!existsSync(path)) {
    throw new CliError(
      'CONFIG_MISSING',
      `no cluster config at ${path}; create one with: pnpm conclave init --dir ${dir}`,
    );
  }
  let parsed: ClusterFile;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as ClusterFile;
  } catch (error) {
    throw new CliError('CONFIG_INVALID', `${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed.version !== 1 || !Array.isArray(parsed.replicas) || !Array.isArray(parsed.agents)) {
    throw new CliError('CONFIG_INVALID', `${path} is not a version 1 cluster config`);
  }
  if (parsed.stateMachine !== undefined && !STATE_MACHINE_KINDS.includes(parsed.stateMachine)) {
    throw new CliError(
      'CONFIG_INVALID',
      `${path}: "stateMachine" must be one of ${STATE_MACHINE_KINDS.join(', ')}`,
    );
  }
  if (parsed.replyAuth !== undefined && !REPLY_AUTH_SCHEMES.includes(parsed.replyAuth)) {
    throw new CliError(
      'CONFIG_INVALID',
      `${path}: "replyAuth" must be one of ${REPLY_AUTH_SCHEMES.join(', ')}`,
    );
  }
  if (
    parsed.verifyWorkers !== undefined &&
    (!Number.isSafeInteger(parsed.verifyWorkers) ||
      parsed.verifyWorkers < 0 ||
      parsed.verifyWorkers > VERIFY_WORKERS_MAX)
  ) {
    throw new CliError(
      'CONFIG_INVALID',
      `${path}: "verifyWorkers" must be a whole number from 0 to ${VERIFY_WORKERS_MAX}`,
    );
  }
  checkSettingsIn(path, parsed.agentLimits, resolveAgentLimits);
  checkSettingsIn(path, parsed.connectionLimits, resolveConnectionLimits);
  // The kv state machine keeps no per-agent state: its registry need not fit the quotas, but a
  // stray block is still checked field by field, so a typo never waits for a switch back.
  const quotaHolders = parsed.stateMachine === 'kv' ? 1 : parsed.agents.length;
  resolveCoordinationConfig(parsed.coordination, quotaHolders, path);
  try {
    validateCluster(clusterConfigOf(parsed));
  } catch (error) {
    if (error instanceof ConfigError || error instanceof TypeError)
      throw new CliError('CONFIG_INVALID', `${path}: ${error.message}`);
    throw error;
  }
  return parsed;
}

/** Runs a settings block's check, its RangeError reported as CONFIG_INVALID naming the file. */
function checkSettingsIn(path: string, value: unknown, check: (value: unknown) => unknown): void {
  if (value === undefined) return;
  try {
    check(value);
  } catch (error) {
    if (error instanceof RangeError) throw new CliError('CONFIG_INVALID', `${path}: ${error.message}`);
    throw error;
  }
}

/** The transport options a cluster file's `connectionLimits` set (checked by `loadClusterFile`). */
export function connectionOptionsOf(file: ClusterFile): Partial<WebSocketTransportOptions> {
  return resolveConnectionLimits(file.connectionLimits ?? {});
}

/** The agent limits a cluster file sets, with defaults for the rest. */
export function resolvedAgentLimits(file: ClusterFile): AgentLimits {
  return resolveAgentLimits(file.agentLimits);
}

/** The coordination limits a cluster file sets, with defaults for the rest (checked by `loadClusterFile`). */
export function resolvedCoordinationLimits(file: ClusterFile): CoordinationLimits {
  return resolveCoordinationConfig(file.coordination, file.agents.length);
}

/** The transport's TLS options for a replica (cert, key, ca) or an agent (ca only); undefined without TLS. */
export function tlsOptionsOf(dir: string, file: ClusterFile, replica?: number): TlsOptions | undefined {
  if (file.tls === undefined) return undefined;
  const read = (relative: string, what: string): Buffer => {
    const path = join(resolve(dir), relative.replaceAll('{id}', String(replica)));
    if (!existsSync(path))
      throw new CliError(
        'CONFIG_INVALID',
        `TLS ${what} file ${path} (from cluster.json "tls") does not exist`,
      );
    return readFileSync(path);
  };
  const ca = read(file.tls.ca, 'ca');
  if (replica === undefined) return { ca };
  return { ca, cert: read(file.tls.cert, 'cert'), key: read(file.tls.key, 'key') };
}

export function clusterConfigOf(file: ClusterFile): ClusterConfig {
  return {
    replicas: file.replicas.map((r) => ({ id: r.id, publicKey: fromHex(r.publicKey) })),
    agents: file.agents.map((a) => ({ id: a.id, publicKey: fromHex(a.publicKey) })),
  };
}

export function directoryOf(file: ClusterFile): Directory {
  return {
    replicas: file.replicas.map((r) => ({
      id: r.id,
      publicKey: fromHex(r.publicKey),
      host: r.host,
      port: r.port,
    })),
    agents: file.agents.map((a) => ({ id: a.id, publicKey: fromHex(a.publicKey) })),
  };
}

/**
 * Reads a secret key file and checks it belongs to `expectedPublicKey`: a wrong or corrupt key
 * file is caught here, with its path, not later as signatures nobody accepts.
 */
export function loadSecretKey(
  dir: string,
  name: string,
  expectedPublicKey: string,
  crypto: CryptoBackend = nodeCrypto(),
): Uint8Array {
  const path = join(resolve(dir), 'keys', `${name}.secret`);
  if (!existsSync(path)) throw new CliError('KEY_MISSING', `no key file at ${path}`);
  const mode = statSync(path).mode & 0o077;
  if (mode !== 0 && process.platform !== 'win32') {
    throw new CliError(
      'KEY_PERMISSIONS',
      `${path} is readable by others (mode ${(statSync(path).mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
    );
  }
  let secretKey: Uint8Array;
  try {
    secretKey = fromHex(readFileSync(path, 'utf8').trim());
  } catch {
    throw new CliError('KEY_INVALID', `${path} does not hold a hex secret key`);
  }
  if (secretKey.byteLength !== 64)
    throw new CliError(
      'KEY_INVALID',
      `${path} must hold a 64-byte Ed25519 secret key, found ${secretKey.byteLength} bytes`,
    );
  const derived = crypto.keyPairFromSeed(secretKey.subarray(0, 32));
  if (toHex(derived.publicKey) !== expectedPublicKey || toHex(derived.secretKey) !== toHex(secretKey)) {
    throw new CliError(
      'KEY_MISMATCH',
      `${path} is not the key of ${name} in ${CLUSTER_FILE} (its public key differs)`,
    );
  }
  return secretKey;
}
