/**
 * Chaos on real daemons, in brief: the fault schedule's promise (never more than f replicas out
 * at once, everything healed by the end), the proxy on its own against an echo server (bytes,
 * delay, partitions that cut or stall, drops), and a 15 s chaos run on four daemons whose every
 * check must pass. `pnpm chaos --duration 60` is the long version.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../src/chaos/proxy.ts';
import { formatReport } from '../src/chaos/report.ts';
import { killChaosDaemons, runChaos } from '../src/chaos/run.ts';
import { faultBudgetOf, faultSchedule, SCHEDULE_DEFAULTS, slotsAt } from '../src/chaos/schedule.ts';

/** A schedule with a kill of the primary, a stalled partition taking an agent along, delays and drops. */
const CHAOS_SEED = 12;
const CHAOS_DURATION_MS = 15_000;

afterAll(() => killChaosDaemons());

describe('the fault schedule', () => {
  it('never takes more than f replicas out at once, and heals everything by the end', () => {
    for (const replicas of [4, 7]) {
      const f = faultBudgetOf(replicas);
      for (let seed = 1; seed <= 300; seed++) {
        const durationMs = 60_000;
        const events = faultSchedule({ seed, durationMs, replicas, agents: 4 });
        expect(events.length).toBeGreaterThan(0);
        const moments: number[] = [];
        for (const [index, event] of events.entries()) {
          if (index > 0) expect(event.atMs).toBeGreaterThanOrEqual((events[index - 1] as typeof event).atMs);
          const lengthMs =
            event.kind === 'kill' ? event.downMs : event.kind === 'drop' ? 0 : event.durationMs;
          expect(event.atMs + lengthMs).toBeLessThanOrEqual(durationMs);
          moments.push(
            event.atMs,
            event.atMs + lengthMs,
            event.atMs + lengthMs + SCHEDULE_DEFAULTS.recoveryMs,
          );
          if (event.kind === 'partition') {
            expect(event.replicas.length).toBeGreaterThan(0);
            expect(event.replicas.length).toBeLessThanOrEqual(f);
          }
        }
        for (const moment of moments) {
          expect(slotsAt(events, moment, SCHEDULE_DEFAULTS.recoveryMs)).toBeLessThanOrEqual(f);
          expect(slotsAt(events, moment - 1, SCHEDULE_DEFAULTS.recoveryMs)).toBeLessThanOrEqual(f);
        }
      }
    }
  });

  it('is a function of its seed', () => {
    const options = { seed: 99, durationMs: 30_000, replicas: 4, agents: 3 };
    expect(faultSchedule(options)).toEqual(faultSchedule(options));
    expect(faultSchedule(options)).not.toEqual(faultSchedule({ ...options, seed: 100 }));
  });
});

describe('the fault proxy', () => {
  let echo: Server;
  let proxy: FaultProxy;

  beforeAll(async () => {
    echo = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.pipe(socket);
    });
    await new Promise<void>((done) => echo.listen(0, '127.0.0.1', done));
    const port = (echo.address() as { port: number }).port;
    proxy = await startFaultProxy({
      sources: ['replica:0', 'agent:a'],
      destinations: [{ id: 1, port: () => port }],
      random: () => 0.5,
    });
  });

  afterAll(async () => {
    await proxy.close();
    await new Promise((done) => echo.close(done));
  });

  /** A connection through the proxy from `source` to replica 1, and what it has received. */
  async function dial(
    source: string,
  ): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
    const socket = createConnection({ host: '127.0.0.1', port: proxy.portOf(source, 1) });
    socket.on('error', () => undefined);
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    await new Promise<void>((done, fail) => {
      socket.once('connect', done);
      socket.once('error', fail);
    });
    return { socket, received: () => received, closed };
  }

  const until = async (what: string, condition: () => boolean, timeoutMs = 2_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((done) => setTimeout(done, 10));
    }
  };

  it('forwards bytes both ways, and delays them in order', async () => {
    const before = proxy.stats();
    const link = await dial('agent:a');
    link.socket.write('hello');
    await until('the echo', () => link.received() === 'hello');
    proxy.setDelay(100, 0);
    const sentAt = Date.now();
    link.socket.write('a');
    link.socket.write('b');
    await until('the delayed echo', () => link.received() === 'helloab');
    // Out through the proxy and back through it: two delays.
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(190);
    proxy.setDelay(0, 0);
    const after = proxy.stats();
    expect(after.bytesForwarded - before.bytesForwarded).toBeGreaterThanOrEqual(14);
    expect(after.chunksDelayed).toBeGreaterThan(before.chunksDelayed);
    link.socket.destroy();
  });

  it('cuts connections across a cut partition and refuses new ones until the heal', async () => {
    const link = await dial('agent:a');
    const before = proxy.stats();
    try {
      expect(proxy.isolate('p', ['replica:1'], 'cut')).toBeGreaterThanOrEqual(1);
      await link.closed;
      // Refused: the kernel completes the TCP handshake, the proxy resets the connection at once.
      const refused = createConnection({ host: '127.0.0.1', port: proxy.portOf('agent:a', 1) });
      refused.on('error', () => undefined);
      await new Promise((done) => refused.once('close', done));
      expect(proxy.stats().connectionsRefused).toBe(before.connectionsRefused + 1);
    } finally {
      proxy.heal('p');
    }
    const healed = await dial('agent:a');
    healed.socket.write('back');
    await until('the echo after the heal', () => healed.received() === 'back');
    healed.socket.destroy();
  });

  it('holds bytes across a stalled partition and delivers them at the heal', async () => {
    const link = await dial('replica:0');
    proxy.isolate('s', ['replica:0'], 'stall');
    let heldNew: Awaited<ReturnType<typeof dial>>;
    try {
      link.socket.write('held');
      await new Promise((done) => setTimeout(done, 300));
      expect(link.received()).toBe('');
      heldNew = await dial('replica:0');
      heldNew.socket.write('new');
    } finally {
      proxy.heal('s');
    }
    await until('the held bytes', () => link.received() === 'held' && heldNew.received() === 'new');
    expect(proxy.stats().connectionsHeld).toBeGreaterThanOrEqual(1);
    expect(proxy.stats().chunksStalled).toBeGreaterThanOrEqual(1);
    link.socket.destroy();
    heldNew.socket.destroy();
  });

  it('drops open connections at random', async () => {
    await until('no connections left', () => proxy.openConnections() === 0);
    const link = await dial('agent:a');
    await until('the connection to open', () => proxy.openConnections() === 1);
    expect(proxy.drop(3)).toBe(1);
    await link.closed;
    expect(proxy.openConnections()).toBe(0);
  });
});

describe('chaos on real daemons', () => {
  it('keeps agreement and every acknowledged write through 15 s of kill -9, partitions, drops and delays', async () => {
    const report = await runChaos({
      seed: CHAOS_SEED,
      durationMs: CHAOS_DURATION_MS,
      replicas: 4,
      agents: 3,
      sync: 'full',
    });
    const printout = formatReport(report);
    console.log(printout);
    expect(
      report.checks.filter((c) => !c.ok),
      printout,
    ).toEqual([]);
    expect(report.faults.kills).toBeGreaterThanOrEqual(1);
    expect(report.faults.partitions).toBeGreaterThanOrEqual(1);
    expect(report.load.acknowledged).toBeGreaterThan(0);
  }, 90_000);
});
