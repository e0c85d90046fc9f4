/**
 * MCP over HTTP: idle sessions expire, and when the table is full the session idle longest yields
 * to a new client. A real HTTP server on 127.0.0.1 port 0; idle time runs on an injected clock,
 * except for the one test of the background sweep (a small idle time, a bounded wait).
 */
import { request } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { HTTP_SESSION_YIELD_IDLE_MS_MIN, serveHttp } from '../src/index.ts';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  blocked = false;
});

/** A bare MCP server with one tool that answers only when `release` is called. */
let release: () => void = () => undefined;
let blocked = false;
function bareServer(): McpServer {
  const server = new McpServer({ name: 'test', version: '0.0.0' });
  server.registerTool('block', { description: 'waits for the test' }, async () => {
    await new Promise<void>((done) => {
      release = done;
      blocked = true;
    });
    return { content: [{ type: 'text', text: 'released' }] };
  });
  return server;
}

interface Answer {
  readonly status: number;
  readonly sessionId: string | undefined;
  readonly text: string;
}

function post(url: string, body: unknown, sessionId?: string): Promise<Answer> {
  return new Promise((done, fail) => {
    const target = new URL(url);
    const req = request(
      {
        host: '127.0.0.1',
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: {
          host: target.host,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...(sessionId === undefined ? {} : { 'mcp-session-id': sessionId }),
        },
        timeout: 5_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          const id = res.headers['mcp-session-id'];
          done({ status: res.statusCode ?? 0, sessionId: typeof id === 'string' ? id : undefined, text });
        });
      },
    );
    req.on('error', fail);
    req.on('timeout', () => req.destroy(new Error('no answer in 5 s')));
    req.end(JSON.stringify(body));
  });
}

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '0' } },
};
const ping = { jsonrpc: '2.0', id: 2, method: 'ping' };

async function serve(options: { sessionsMax?: number; sessionIdleMs?: number; clock?: { ms: number } }) {
  const lines: string[] = [];
  const clock = options.clock;
  const serving = await serveHttp(bareServer, {
    port: 0,
    log: (line) => lines.push(line),
    ...(options.sessionsMax === undefined ? {} : { sessionsMax: options.sessionsMax }),
    ...(options.sessionIdleMs === undefined ? {} : { sessionIdleMs: options.sessionIdleMs }),
    ...(clock === undefined ? {} : { now: () => clock.ms }),
  });
  closers.push(() => serving.close());
  const open = async () => {
    const answer = await post(serving.url, initialize);
    expect(answer.status).toBe(200);
    expect(answer.sessionId).toBeDefined();
    return answer.sessionId as string;
  };
  return { serving, lines, open };
}

describe('MCP HTTP sessions', () => {
  it('when full, the session idle longest yields to a new client and is closed', async () => {
    const clock = { ms: 0 };
    const { serving, lines, open } = await serve({ sessionsMax: 2, clock });
    const a = await open();
    clock.ms = 1_000;
    const b = await open();
    clock.ms = 1_000 + HTTP_SESSION_YIELD_IDLE_MS_MIN;
    const c = await open();
    expect(serving.sessions()).toBe(2);
    expect((await post(serving.url, ping, a)).status).toBe(404); // a was idle longest
    expect((await post(serving.url, ping, b)).status).toBe(200);
    expect((await post(serving.url, ping, c)).status).toBe(200);
    expect(lines).toContainEqual(
      `http session ${a} closed after ${1_000 + HTTP_SESSION_YIELD_IDLE_MS_MIN} ms idle to admit a new client (1 open)`,
    );
  });

  it('when full and no session has been idle long enough, a new client is refused with 503', async () => {
    const clock = { ms: 0 };
    const { serving, open } = await serve({ sessionsMax: 2, clock });
    const a = await open();
    const b = await open();
    clock.ms = HTTP_SESSION_YIELD_IDLE_MS_MIN - 1;
    const refused = await post(serving.url, initialize);
    expect(refused.status).toBe(503);
    expect(refused.text).toMatch(/too many sessions \(at most 2\), none idle for 5000 ms/);
    expect((await post(serving.url, ping, a)).status).toBe(200);
    expect((await post(serving.url, ping, b)).status).toBe(200);
  });

  it('a session unused for sessionIdleMs expires; one used in between does not', async () => {
    const clock = { ms: 0 };
    const { serving, lines, open } = await serve({ sessionIdleMs: 60_000, clock });
    const a = await open();
    const b = await open();
    clock.ms = 30_000;
    expect((await post(serving.url, ping, b)).status).toBe(200);
    clock.ms = 60_000;
    expect((await post(serving.url, ping, a)).status).toBe(404);
    expect((await post(serving.url, ping, b)).status).toBe(200);
    expect(serving.sessions()).toBe(1);
    expect(lines).toContainEqual(`http session ${a} expired after 60000 ms idle (1 open)`);
  });

  it('a session answering a long call is not idle, and neither expires nor yields', async () => {
    const clock = { ms: 0 };
    const { serving, open } = await serve({ sessionsMax: 1, sessionIdleMs: 60_000, clock });
    const a = await open();
    const call = post(
      serving.url,
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'block' } },
      a,
    );
    // Wait (bounded) until the call has reached the tool.
    for (let i = 0; i < 200 && !blocked; i++) await new Promise((done) => setTimeout(done, 10));
    expect(blocked).toBe(true);
    clock.ms = 120_000;
    expect((await post(serving.url, initialize)).status).toBe(503);
    expect(serving.sessions()).toBe(1);
    release();
    const answered = await call;
    expect(answered.status).toBe(200);
    expect(answered.text).toContain('released');
    expect((await post(serving.url, ping, a)).status).toBe(200);
  });

  it('the background sweep closes idle sessions without any request arriving', async () => {
    const { serving, lines, open } = await serve({ sessionIdleMs: 50 });
    const a = await open();
    expect(serving.sessions()).toBe(1);
    for (let i = 0; i < 200 && serving.sessions() > 0; i++) await new Promise((done) => setTimeout(done, 10));
    expect(serving.sessions()).toBe(0);
    expect(lines.some((line) => line.startsWith(`http session ${a} expired after`))).toBe(true);
  });

  it('refuses an idle time that is not a positive integer', async () => {
    await expect(serveHttp(bareServer, { port: 0, sessionIdleMs: 0 })).rejects.toThrow(
      /sessionIdleMs must be a positive integer/,
    );
  });
});
