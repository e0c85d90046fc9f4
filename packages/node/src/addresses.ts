/**
 * Where a replica really listens. cluster.json may say port 0 (or `listenPort: 0`): the OS then
 * chooses a free port when the daemon starts, and the daemon reports what it got in
 * `DIR/run/replica-N.json`. Peers, agents and tools read that file whenever they need the
 * address, so a replica that restarts on another port is found again.
 *
 * Why: choosing a "free" port in advance (bind, release, bind again later) races with every
 * outgoing connection on the machine, which may take that ephemeral port in between. Tests and
 * local clusters use port 0; operators with fixed ports never need this file, though every
 * daemon writes it.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ClusterFile } from './cluster-file.ts';

/** The folder, inside the cluster directory, of the files daemons write about themselves. */
export const RUNTIME_DIR = 'run';

/** What a started daemon reports: the ports it listens on, and its process. */
export interface ListeningAddress {
  /** The transport's port (replicas and agents dial it, unless a proxy stands in between). */
  readonly port: number;
  /** GET /metrics, /health and /status, on 127.0.0.1. */
  readonly httpPort: number;
  readonly pid: number;
}

function runtimeFile(dir: string, replica: number): string {
  return join(resolve(dir), RUNTIME_DIR, `replica-${replica}.json`);
}

/** Writes the file atomically (rename), so a reader never sees half of it. */
export function writeListeningAddress(dir: string, replica: number, address: ListeningAddress): void {
  const path = runtimeFile(dir, replica);
  mkdirSync(join(resolve(dir), RUNTIME_DIR), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(address)}\n`);
  renameSync(temporary, path);
}

/** What replica `replica`'s daemon last reported, or undefined if it has not started yet. */
export function readListeningAddress(dir: string, replica: number): ListeningAddress | undefined {
  let text: string;
  try {
    text = readFileSync(runtimeFile(dir, replica), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as Partial<ListeningAddress>;
    const valid = [parsed.port, parsed.httpPort, parsed.pid].every(
      (value) => Number.isSafeInteger(value) && (value as number) > 0,
    );
    return valid ? (parsed as ListeningAddress) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where to dial replica `replica` of `file`: its configured host and port, or, where the port is
 * 0, the port its daemon reported. Undefined while that daemon has not reported one.
 */
export function dialAddress(
  dir: string,
  file: ClusterFile,
  replica: number,
): { readonly host: string; readonly port: number } | undefined {
  const entry = file.replicas.find((r) => r.id === replica);
  if (entry === undefined) return undefined;
  if (entry.port !== 0) return { host: entry.host, port: entry.port };
  const reported = readListeningAddress(dir, replica);
  return reported === undefined ? undefined : { host: entry.host, port: reported.port };
}

/** Replica `replica`'s metrics port: configured, or reported where cluster.json says 0. */
export function httpPortOf(dir: string, file: ClusterFile, replica: number): number | undefined {
  const entry = file.replicas.find((r) => r.id === replica);
  if (entry === undefined) return undefined;
  return entry.httpPort !== 0 ? entry.httpPort : readListeningAddress(dir, replica)?.httpPort;
}

/** Whether any replica of `file` leaves its port to the OS, so dialling must read reports. */
export function usesReportedPorts(file: ClusterFile): boolean {
  return file.replicas.some((r) => r.port === 0);
}

/**
 * The WebSocket transport's `addressOf` option for the cluster in `dir`: present when some
 * replica's port is reported rather than configured, so dialling reads the report each time.
 */
export function dialOptions(
  dir: string,
  file: ClusterFile,
): {
  readonly addressOf?: (replica: number) => { readonly host: string; readonly port: number } | undefined;
} {
  return usesReportedPorts(file) ? { addressOf: (replica) => dialAddress(dir, file, replica) } : {};
}
