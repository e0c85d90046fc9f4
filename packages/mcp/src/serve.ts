/**
 * The two MCP transports: stdio (one session, the client owns the process) and Streamable HTTP
 * (sessions over HTTP on 127.0.0.1 by default, each with its own McpServer over the same agent).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import {
  HTTP_SESSION_IDLE_MS_DEFAULT,
  HTTP_SESSION_YIELD_IDLE_MS_MIN,
  HTTP_SESSIONS_MAX,
  type SessionEntry,
  SessionTable,
} from './http-sessions.ts';

/** A running server: `closed` settles when it stops (the client went away, or `close()`). */
export interface Serving {
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/**
 * Serves one session over stdin/stdout. Nothing else may write to stdout: it carries only
 * JSON-RPC. Stops when stdin ends (the client closed it) or on `close()`.
 */
export async function serveStdio(
  server: McpServer,
  options: { readonly stdin?: NodeJS.ReadableStream; readonly stdout?: NodeJS.WritableStream } = {},
): Promise<Serving> {
  const stdin = (options.stdin ?? process.stdin) as NodeJS.ReadStream;
  const transport = new StdioServerTransport(stdin, (options.stdout ?? process.stdout) as NodeJS.WriteStream);
  let stop: () => void = () => undefined;
  const closed = new Promise<void>((done) => {
    stop = done;
  });
  transport.onclose = () => stop();
  const onEnd = () => void server.close().finally(stop);
  stdin.once('end', onEnd);
  stdin.once('close', onEnd);
  await server.connect(transport);
  return {
    closed,
    close: async () => {
      stdin.off('end', onEnd);
      stdin.off('close', onEnd);
      await server.close();
      stop();
    },
  };
}

export { HTTP_SESSION_IDLE_MS_DEFAULT, HTTP_SESSION_YIELD_IDLE_MS_MIN, HTTP_SESSIONS_MAX };
/** Bytes of one POST body at most. */
export const HTTP_BODY_BYTES_MAX = 4 * 1024 * 1024;

export interface HttpOptions {
  /** Default 127.0.0.1. Anything else exposes this agent's signing power to the network: put authentication in front. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Default `/mcp`. */
  readonly path?: string;
  readonly log?: (line: string) => void;
  /** A session unused this long is closed. Default `HTTP_SESSION_IDLE_MS_DEFAULT` (10 min). */
  readonly sessionIdleMs?: number;
  /** Sessions open at once at most. Default `HTTP_SESSIONS_MAX` (32). */
  readonly sessionsMax?: number;
  /** The clock idle time is measured with (tests inject one). Default `Date.now`. */
  readonly now?: () => number;
}

/** How often idle sessions are looked for: often enough that one outlives its idle time by at most a quarter. */
function sweepIntervalMs(sessionIdleMs: number): number {
  return Math.min(60_000, Math.max(10, Math.floor(sessionIdleMs / 4)));
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Serves Streamable HTTP at http://host:port/mcp, one McpServer per session from `create`.
 * On a loopback host, requests whose Host header is not that host are refused (DNS rebinding).
 */
export async function serveHttp(
  create: () => McpServer,
  options: HttpOptions,
): Promise<Serving & { readonly url: string; readonly sessions: () => number }> {
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/mcp';
  const log = options.log ?? (() => undefined);
  const idleMs = positiveInteger(options.sessionIdleMs ?? HTTP_SESSION_IDLE_MS_DEFAULT, 'sessionIdleMs');
  const sessions = new SessionTable<Session>({
    sessionsMax: positiveInteger(options.sessionsMax ?? HTTP_SESSIONS_MAX, 'sessionsMax'),
    idleMs,
    yieldIdleMsMin: Math.min(HTTP_SESSION_YIELD_IDLE_MS_MIN, idleMs),
    now: options.now ?? Date.now,
  });
  /** Sessions admitted whose initialize has not finished yet: they hold a place too. */
  let initializing = 0;
  let allowedHosts: string[] | undefined;

  const refuse = (response: ServerResponse, status: number, message: string) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
  };

  /** Closes a session already taken out of the table; its McpServer closes its transport. */
  const closeSession = (entry: SessionEntry<Session>, why: string) => {
    log(`http session ${entry.id} ${why} (${sessions.size} open)`);
    entry.value.server.close().catch((error: unknown) => {
      log(
        `http session ${entry.id} did not close cleanly: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  };
  const expireIdle = () => {
    for (const entry of sessions.takeExpired())
      closeSession(entry, `expired after ${sessions.options.now() - entry.lastActiveMs} ms idle`);
  };

  /** A request for an open session: busy until its response ends, so a long call is not idleness. */
  const forward = (
    entry: SessionEntry<Session>,
    request: IncomingMessage,
    response: ServerResponse,
    body?: unknown,
  ) => {
    sessions.touch(entry);
    // A GET is the client's stream for server messages: open as long as the client is, so it does
    // not keep the session busy; an idle client's session still expires.
    if (request.method === 'POST') {
      entry.busy++;
      response.once('close', () => {
        entry.busy--;
        sessions.touch(entry);
      });
    }
    return entry.value.transport.handleRequest(request, response, body);
  };

  const open = async (request: IncomingMessage, response: ServerResponse, body: unknown) => {
    const room = sessions.makeRoom(initializing);
    if (!room.ok)
      return refuse(
        response,
        503,
        `too many sessions (at most ${sessions.options.sessionsMax}), none idle for ${sessions.options.yieldIdleMsMin} ms; retry later or close one`,
      );
    for (const entry of room.evicted)
      closeSession(entry, `closed after ${sessions.idleMs(entry)} ms idle to admit a new client`);
    const server = create();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.add(id, { transport, server });
        log(`http session ${id} opened (${sessions.size} open)`);
      },
      ...(allowedHosts === undefined ? {} : { allowedHosts, enableDnsRebindingProtection: true }),
    });
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id !== undefined && sessions.remove(id)) log(`http session ${id} closed (${sessions.size} open)`);
    };
    initializing++;
    try {
      await server.connect(transport);
      await transport.handleRequest(request, response, body);
    } finally {
      initializing--;
    }
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://placeholder');
    if (allowedHosts !== undefined && !allowedHosts.includes(request.headers.host ?? ''))
      return refuse(
        response,
        403,
        `Host ${request.headers.host ?? '(none)'} refused (DNS rebinding protection)`,
      );
    if (url.pathname !== path) return refuse(response, 404, `not found; the MCP endpoint is ${path}`);
    // Between sweeps too: a session past its idle time is gone before anyone may use it again.
    expireIdle();
    const sessionId = request.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (request.method !== 'POST') {
      if (existing === undefined) return refuse(response, 400, 'no such session; initialize first');
      return forward(existing, request, response);
    }
    const body = await readJson(request);
    if (!body.ok) return refuse(response, body.status, body.message);
    if (existing !== undefined) return forward(existing, request, response, body.value);
    if (sessionId !== undefined)
      return refuse(response, 404, 'no such session (closed or expired); initialize a new one');
    if (!isInitializeRequest(body.value))
      return refuse(response, 400, 'no session; the first request must be initialize');
    return open(request, response, body.value);
  };

  const http = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      log(`http request failed: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent) refuse(response, 500, 'internal error');
      else response.end();
    });
  });
  await new Promise<void>((done, fail) => {
    http.once('error', fail);
    http.listen(options.port, host, () => {
      http.off('error', fail);
      done();
    });
  });
  const sweep = setInterval(expireIdle, sweepIntervalMs(idleMs));
  sweep.unref(); // the sweep alone must not keep the process alive
  const port = (http.address() as AddressInfo).port;
  if (LOOPBACK.has(host)) allowedHosts = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  const closed = new Promise<void>((done) =>
    http.once('close', () => {
      clearInterval(sweep);
      done();
    }),
  );
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}${path}`,
    closed,
    sessions: () => sessions.size,
    close: async () => {
      clearInterval(sweep);
      await Promise.all(sessions.takeAll().map(({ value }) => value.server.close().catch(() => undefined)));
      http.closeAllConnections();
      await new Promise<void>((done) => http.close(() => done()));
    },
  };
}

interface Session {
  readonly transport: StreamableHTTPServerTransport;
  readonly server: McpServer;
}

async function readJson(
  request: IncomingMessage,
): Promise<{ ok: true; value: unknown } | { ok: false; status: number; message: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > HTTP_BODY_BYTES_MAX)
      return { ok: false, status: 413, message: `body larger than ${HTTP_BODY_BYTES_MAX} bytes` };
    chunks.push(chunk as Buffer);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    return { ok: false, status: 400, message: 'the body is not JSON' };
  }
}
