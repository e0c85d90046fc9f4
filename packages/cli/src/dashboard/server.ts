/**
 * `conclave dashboard`: one page that shows a cluster live, served by a small node:http server.
 *
 * What it reads, and as whom:
 * - Replicas: each replica's own GET /status and /metrics (the HTTP endpoints the daemons serve
 *   on their hosts). No identity at all.
 * - Agents, council, quota usage, proposals, evidence: replicated state, which replicas answer
 *   only to a registered agent. The dashboard connects as the OBSERVER given with --agent: a
 *   read-only agent, whose key the state machine never lets write or vote (observer.ts checks
 *   the role). It sends only quorum reads (read-only queries answered by 2f+1 matching
 *   replicas). Without --agent, only the replicas' endpoints are read.
 * - Receipts are verified in the browser (browser-verify.ts with tweetnacl), against the
 *   replicas' public keys from cluster.json and the agents' key histories read above.
 * - Evidence items are re-checked in the browser too (browser-evidence.ts): the state carries
 *   each item as the replicas recorded it, its signed bytes and signatures in hex, and the page
 *   verifies them against the agents' key histories instead of taking this server's word.
 *
 * The page polls GET /api/state every second; the state is refreshed by one loop on the server
 * (every `refreshMs`), however many pages are open.
 */

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { toHex } from '@conclave/core';
import { type ClusterFile, clusterConfigOf, httpPortOf, loadClusterFile } from '@conclave/node';
import { metricValue } from '../local-cluster.ts';
import { canonicalMsgpack, verifyEvidenceItem } from './browser-evidence.ts';
import { verifyReceiptText } from './browser-verify.ts';
import { connectObserver } from './observer.ts';
import { PAGE } from './page.ts';

export interface DashboardOptions {
  readonly dir: string;
  /** The observer (read-only) agent; without it only replica endpoints are read. */
  readonly agent?: string;
  readonly port?: number;
  readonly host?: string;
  readonly refreshMs?: number;
  readonly log?: (line: string) => void;
}

export interface Dashboard {
  readonly url: string;
  close(): Promise<void>;
}

interface ReplicaState {
  readonly id: number;
  readonly up: boolean;
  readonly error?: string;
  readonly [field: string]: unknown;
}

/** Uint8Array as hex, everywhere in the state sent to the page. */
const jsonReplacer = (_key: string, value: unknown) => (value instanceof Uint8Array ? toHex(value) : value);

/** A value as /api/state sends it: JSON with every byte string (signed bytes, signatures, keys) in hex. */
export function pageJson(value: unknown): string {
  return JSON.stringify(value, jsonReplacer);
}

// tsx/esbuild may wrap named functions in __name(): a no-op in the page.
const NAME_SHIM = 'var __name = (f) => f;\n';

/** /nacl.js: tweetnacl as the page gets it (a dependency of this package). */
export function naclScript(): string {
  return readFileSync(createRequire(import.meta.url).resolve('tweetnacl/nacl-fast.min.js'), 'utf8');
}

/** /verify.js: the receipt verifier's source, as the page runs it. */
export function receiptScript(): string {
  return `${NAME_SHIM}window.verifyReceiptText = ${verifyReceiptText.toString()};\n`;
}

/** /evidence.js: the evidence checker's source and its codec's, as the page runs them. */
export function evidenceScript(): string {
  return `${NAME_SHIM}window.evidenceMsgpack = (${canonicalMsgpack.toString()})();\nwindow.verifyEvidenceItem = ${verifyEvidenceItem.toString()};\n`;
}

async function replicaState(dir: string, file: ClusterFile, id: number): Promise<ReplicaState> {
  let port: number | undefined;
  try {
    port = httpPortOf(dir, file, id);
  } catch {
    port = undefined;
  }
  if (port === undefined) return { id, up: false, error: 'has not reported its ports' };
  const host = file.replicas[id]?.host ?? '127.0.0.1';
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  try {
    const [statusResponse, metricsResponse] = await Promise.all([
      fetch(`${base}/status`, { signal: AbortSignal.timeout(800) }),
      fetch(`${base}/metrics`, { signal: AbortSignal.timeout(800) }),
    ]);
    if (!statusResponse.ok) return { id, up: false, error: `status ${statusResponse.status}` };
    const status = (await statusResponse.json()) as Record<string, unknown>;
    const metrics = metricsResponse.ok ? await metricsResponse.text() : '';
    return {
      id,
      up: true,
      ...status,
      viewChanges: metricValue(metrics, 'conclave_view_changes_total'),
      rejections: labelled(metrics, 'conclave_rejected_total', 'reason'),
      transportRejections: labelled(metrics, 'conclave_transport_rejected_total', 'reason'),
      agentRefusals: labelled(metrics, 'conclave_agent_refused_total', 'reason', 'agent'),
      operationRefusals: labelled(metrics, 'conclave_operations_refused_total', 'reason', 'agent'),
    };
  } catch (error) {
    return { id, up: false, error: (error as Error).message };
  }
}

/** A labelled counter's samples by label value (`agent/reason` when two labels are named), zeros left out. */
function labelled(text: string, name: string, label: string, second?: string): Record<string, number> {
  const out: Record<string, number> = {};
  const pick = (labels: string, l: string) => new RegExp(`${l}="([^"]*)"`).exec(labels)?.[1] ?? '?';
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels = line.slice(name.length + 1, line.indexOf('}'));
    const value = Number(line.trim().split(/\s+/).at(-1));
    if (!(value > 0)) continue;
    const key = second === undefined ? pick(labels, label) : `${pick(labels, second)}/${pick(labels, label)}`;
    out[key] = (out[key] ?? 0) + value;
  }
  return out;
}

/**
 * On a loopback address, only pages loaded as 127.0.0.1, localhost or [::1] at this port may
 * read the state: a web page from elsewhere that rebinds its own name to 127.0.0.1 (DNS
 * rebinding) sends its own name as Host and is refused. Bound to another address (--host), the
 * names it is reached by are the operator's to know, so any Host is taken.
 */
function hostCheck(address: AddressInfo): (host: string | undefined) => boolean {
  const loopback = ['127.0.0.1', '::1'].includes(address.address) || address.address.startsWith('127.');
  if (!loopback) return () => true;
  const names = new Set(
    [
      address.family === 'IPv6' ? `[${address.address}]` : address.address,
      'localhost',
      '127.0.0.1',
      '[::1]',
    ].map((name) => `${name}:${address.port}`),
  );
  return (host) => host !== undefined && names.has(host.toLowerCase());
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { dir } = options;
  const log = options.log ?? (() => {});
  const file = loadClusterFile(dir);
  const config = clusterConfigOf(file);
  const replicaKeys = config.replicas.map((r) => toHex(r.publicKey));
  const naclSource = naclScript();
  const verifierSource = receiptScript();
  const evidenceSource = evidenceScript();

  const observer = options.agent === undefined ? undefined : await connectObserver(dir, file, options.agent);

  let state: Record<string, unknown> = { replicas: [] };
  let registry: Record<string, unknown> = {
    note:
      observer === undefined
        ? 'no --agent: only the replicas’ status endpoints are read'
        : 'reading the registry as observer…',
  };
  let stopped = false;

  const refreshReplicas = async () => {
    const replicas = await Promise.all(file.replicas.map((_, id) => replicaState(dir, file, id)));
    const top = Math.max(0, ...replicas.filter((r) => r.up).map((r) => Number(r.executedSequence)));
    state = {
      cluster: { n: file.replicas.length, f: Math.floor((file.replicas.length - 1) / 3), replicaKeys },
      replicas: replicas.map((r) => (r.up ? { ...r, lag: top - Number(r.executedSequence) } : r)),
      observer: options.agent ?? null,
      at: Date.now(),
    };
  };
  const refreshRegistry = async () => {
    if (observer === undefined) return;
    try {
      registry = await observer.read();
    } catch (error) {
      registry = { ...registry, stale: `last read failed: ${(error as Error).message}` };
    }
  };
  const loop = async (work: () => Promise<void>) => {
    while (!stopped) {
      const started = Date.now();
      await work().catch((error: unknown) => log(`refresh failed: ${String(error)}`));
      await new Promise((done) =>
        setTimeout(done, Math.max(50, (options.refreshMs ?? 500) - (Date.now() - started))),
      );
    }
  };
  await Promise.all([refreshReplicas(), refreshRegistry()]);
  const loops = [loop(refreshReplicas), loop(refreshRegistry)];

  let hostAllowed: (host: string | undefined) => boolean = () => false;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (!hostAllowed(request.headers.host)) {
      response.writeHead(403).end('unexpected Host header (DNS rebinding?)');
      return;
    }
    const send = (type: string, body: string) => {
      response.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (request.method !== 'GET') {
      response.writeHead(405).end();
    } else if (path === '/') send('text/html; charset=utf-8', PAGE);
    else if (path === '/api/state') send('application/json', pageJson({ ...state, registry }));
    else if (path === '/nacl.js') send('text/javascript', naclSource);
    else if (path === '/verify.js') send('text/javascript', verifierSource);
    else if (path === '/evidence.js') send('text/javascript', evidenceSource);
    else response.writeHead(404).end('not found');
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => done());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}/`;
  hostAllowed = hostCheck(address);
  return {
    url,
    close: async () => {
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await Promise.all(loops);
      await observer?.close();
    },
  };
}
