/**
 * A fault-injecting TCP proxy between real daemons (and their agents), on node:net.
 *
 * One listener per directed link: for every source (a replica or an agent) and every
 * destination replica, its own port on 127.0.0.1. Each source gets its own cluster directory
 * whose `cluster.json` names, for every other replica, the port of that source's listener
 * towards it, while replicas listen on `listenPort`. So the proxy knows who is talking to whom
 * from the port a connection arrived on, without reading (or trusting) a byte of it, and TLS or
 * handshake changes cannot break it. The cost is n·(n−1) + agents·n listeners, which is small.
 *
 * TCP cannot lose single bytes without breaking the stream, so faults are what a real network
 * does to a TCP connection:
 * - delay: every chunk waits `fixedMs` plus up to `jitterMs`, in order within its direction;
 * - drop: a connection is cut at random (RST both ways); the daemons redial;
 * - partition, `cut`: connections across the partition are reset, new ones refused;
 * - partition, `stall`: a black hole: bytes across the partition are held (the sender's socket
 *   fills up), new connections are accepted and held; on heal everything held flows again.
 *
 * Every connection, byte and held chunk is bounded (constants below); everything refused, cut,
 * held or delayed is counted.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** A source: `replica:<id>` or `agent:<agentId>` (the transport's peer ids). */
export type Source = string;

export type PartitionMode = 'cut' | 'stall';

/** Connections open through the proxy at once, at most; beyond it new ones are refused. */
export const PROXY_CONNECTIONS_MAX = 1_024;
/** Connections held (not forwarded) per link during a stall, at most. */
export const HELD_CONNECTIONS_PER_LINK_MAX = 16;
/** Bytes waiting (delayed or stalled) in one direction of one connection before its sender is paused. */
export const PIPE_BYTES_MAX = 4 * 1024 * 1024;
/** A delay beyond this would only measure the daemons' timeouts, not their handling of latency. */
export const DELAY_MS_MAX = 2_000;
/** How long the other side of a closed connection may linger to flush before it is destroyed. */
const LINGER_MS = 1_000;

export interface ProxyStats {
  readonly connectionsAccepted: number;
  /** Refused at once: a `cut` partition, or over `PROXY_CONNECTIONS_MAX`. */
  readonly connectionsRefused: number;
  /** Accepted and held by a `stall` partition. */
  readonly connectionsHeld: number;
  /** Reset by a drop. */
  readonly connectionsDropped: number;
  /** Reset because a `cut` partition began across them. */
  readonly connectionsCutByPartition: number;
  /** The destination replica could not be reached (it was down). */
  readonly upstreamFailures: number;
  readonly bytesForwarded: number;
  /** Chunks that waited a non-zero added delay. */
  readonly chunksDelayed: number;
  /** Chunks that arrived while their link was stalled (held until the heal). */
  readonly chunksStalled: number;
}

export interface FaultProxyOptions {
  /** Every source that will connect: replicas and agents. */
  readonly sources: readonly Source[];
  /**
   * Every destination replica and where it really listens (127.0.0.1): read at each connection,
   * since a restarted replica listens on a new OS-chosen port; undefined while it has none.
   */
  readonly destinations: readonly { readonly id: number; readonly port: () => number | undefined }[];
  /** In [0, 1): the jitter of delays and the choice of connections to drop. */
  readonly random: () => number;
}

export interface FaultProxy {
  /** The port `source` dials to reach replica `destination`. */
  portOf(source: Source, destination: number): number;
  /** Every chunk from now on waits `fixedMs` + up to `jitterMs`. (0, 0) forwards at once. */
  setDelay(fixedMs: number, jitterMs: number): void;
  /**
   * Puts `members` (replicas and agents, as sources) on an island of their own until
   * `heal(island)`: links between the island and anyone else fail as `mode` says. Everyone not
   * on an island is on the main side. Returns the connections reset.
   */
  isolate(island: string, members: readonly Source[], mode: PartitionMode): number;
  heal(island: string): void;
  healAll(): void;
  /** Resets up to `count` open connections chosen at random; returns how many. */
  drop(count: number): number;
  stats(): ProxyStats;
  /** Connections open (forwarding or held) now. */
  openConnections(): number;
  close(): Promise<void>;
}

interface Link {
  readonly source: Source;
  readonly destination: number;
  readonly upstreamPort: () => number | undefined;
  server: Server | undefined;
  port: number;
  held: number;
}

interface Counters {
  connectionsAccepted: number;
  connectionsRefused: number;
  connectionsHeld: number;
  connectionsDropped: number;
  connectionsCutByPartition: number;
  upstreamFailures: number;
  bytesForwarded: number;
  chunksDelayed: number;
  chunksStalled: number;
}

/** One direction of one connection: chunks in order, each released at its due time. */
class Pipe {
  readonly #queue: { dueAt: number; chunk: Buffer }[] = [];
  #queuedBytes = 0;
  #lastDueAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #sourceEnded = false;
  #onEmpty: (() => void) | undefined;
  readonly #from: Socket;
  readonly #to: Socket;
  readonly #connection: Connection;

  constructor(from: Socket, to: Socket, connection: Connection) {
    this.#from = from;
    this.#to = to;
    this.#connection = connection;
    to.on('drain', () => this.pump());
  }

  push(chunk: Buffer): void {
    const proxy = this.#connection.proxy;
    const now = Date.now();
    const delayMs = proxy.delayFixedMs + Math.floor(proxy.random() * (proxy.delayJitterMs + 1));
    if (delayMs > 0) proxy.counters.chunksDelayed++;
    if (this.#connection.stalled()) proxy.counters.chunksStalled++;
    // Never before an earlier chunk: TCP keeps order, and so must we.
    const dueAt = Math.max(this.#lastDueAt, now + delayMs);
    this.#lastDueAt = dueAt;
    this.#queue.push({ dueAt, chunk });
    this.#queuedBytes += chunk.byteLength;
    if (this.#queuedBytes > PIPE_BYTES_MAX) this.#from.pause();
    this.pump();
  }

  /** Delivers every chunk that is due, unless the link is stalled or the receiver is full. */
  pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const proxy = this.#connection.proxy;
    if (this.#to.destroyed) {
      this.#queue.length = 0;
      this.#queuedBytes = 0;
      return;
    }
    // Stalled bytes wait for the heal, which pumps again.
    if (this.#connection.stalled()) return;
    const now = Date.now();
    while (this.#queue.length > 0) {
      const head = this.#queue[0] as { dueAt: number; chunk: Buffer };
      if (head.dueAt > now) {
        this.#timer = setTimeout(() => this.pump(), head.dueAt - now);
        break;
      }
      if (this.#to.writableNeedDrain) break;
      this.#queue.shift();
      this.#queuedBytes -= head.chunk.byteLength;
      proxy.counters.bytesForwarded += head.chunk.byteLength;
      this.#to.write(head.chunk);
    }
    if (this.#queuedBytes <= PIPE_BYTES_MAX / 2 && this.#from.isPaused() && !this.#from.destroyed)
      this.#from.resume();
    if (this.#queue.length === 0 && this.#sourceEnded) {
      const onEmpty = this.#onEmpty;
      this.#onEmpty = undefined;
      onEmpty?.();
    }
  }

  /** The source is done sending: pass its end on once every held chunk is delivered. */
  finish(onEmpty: () => void): void {
    if (this.#sourceEnded) return;
    this.#sourceEnded = true;
    this.#onEmpty = onEmpty;
    this.pump();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
    this.#queuedBytes = 0;
  }
}

class Connection {
  readonly proxy: ProxyState;
  readonly link: Link;
  readonly client: Socket;
  upstream: Socket | undefined;
  toUpstream: Pipe | undefined;
  toClient: Pipe | undefined;
  held = false;
  closed = false;
  #lingerTimers: NodeJS.Timeout[] = [];

  constructor(proxy: ProxyState, link: Link, client: Socket) {
    this.proxy = proxy;
    this.link = link;
    this.client = client;
  }

  stalled(): boolean {
    return this.proxy.linkState(this.link) === 'stall';
  }

  /** Dials the real replica and starts forwarding both ways. */
  open(): void {
    this.held = false;
    const port = this.link.upstreamPort();
    if (port === undefined) {
      // The replica has not reported a port yet (it is starting): as if it refused.
      this.proxy.counters.upstreamFailures++;
      this.reset();
      return;
    }
    const upstream = createConnection({
      host: '127.0.0.1',
      port,
      allowHalfOpen: true,
    });
    this.upstream = upstream;
    const toUpstream = new Pipe(this.client, upstream, this);
    const toClient = new Pipe(upstream, this.client, this);
    this.toUpstream = toUpstream;
    this.toClient = toClient;
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
    });
    this.client.on('data', (chunk: Buffer) => toUpstream.push(chunk));
    upstream.on('data', (chunk: Buffer) => toClient.push(chunk));
    this.client.on('end', () => toUpstream.finish(() => this.#endSoftly(upstream)));
    upstream.on('end', () => toClient.finish(() => this.#endSoftly(this.client)));
    upstream.on('error', () => {
      if (!connected) this.proxy.counters.upstreamFailures++;
    });
    upstream.on('close', (hadError) => this.#onSideClosed(upstream, this.client, hadError, toClient));
    this.client.on('close', (hadError) => this.#onSideClosed(this.client, upstream, hadError, toUpstream));
    this.client.resume();
  }

  #endSoftly(socket: Socket): void {
    if (socket.destroyed) return;
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    this.#lingerTimers.push(timer);
  }

  #onSideClosed(closed: Socket, other: Socket, hadError: boolean, fromClosed: Pipe): void {
    if (hadError) {
      other.destroy();
    } else {
      // A clean close: what the closed side sent may still be waiting out its delay.
      fromClosed.finish(() => this.#endSoftly(other));
    }
    if (closed.destroyed && other.destroyed) this.#release();
    else other.once('close', () => this.#release());
  }

  /** Resets both sides at once, as a broken network path would look to each end. */
  reset(): void {
    for (const socket of [this.client, this.upstream]) {
      if (socket === undefined || socket.destroyed) continue;
      try {
        socket.resetAndDestroy();
      } catch {
        socket.destroy();
      }
    }
    this.#release();
  }

  #release(): void {
    if (this.closed) return;
    this.closed = true;
    this.toUpstream?.stop();
    this.toClient?.stop();
    for (const timer of this.#lingerTimers) clearTimeout(timer);
    if (!this.client.destroyed) this.client.destroy();
    if (this.upstream !== undefined && !this.upstream.destroyed) this.upstream.destroy();
    if (this.held) this.link.held--;
    this.proxy.connections.delete(this);
  }

  pump(): void {
    this.toUpstream?.pump();
    this.toClient?.pump();
  }
}

class ProxyState {
  readonly connections = new Set<Connection>();
  readonly counters: Counters = {
    connectionsAccepted: 0,
    connectionsRefused: 0,
    connectionsHeld: 0,
    connectionsDropped: 0,
    connectionsCutByPartition: 0,
    upstreamFailures: 0,
    bytesForwarded: 0,
    chunksDelayed: 0,
    chunksStalled: 0,
  };
  /** Island name → its replicas and how links across it fail. */
  readonly islands = new Map<string, { members: Set<Source>; mode: PartitionMode }>();
  delayFixedMs = 0;
  delayJitterMs = 0;
  closed = false;
  readonly random: () => number;

  constructor(random: () => number) {
    this.random = random;
  }

  #islandOf(source: Source): string | undefined {
    for (const [name, island] of this.islands) if (island.members.has(source)) return name;
    return undefined;
  }

  /** `open`, or how a partition breaks this link (`cut` wins when two islands disagree). */
  linkState(link: Link): 'open' | PartitionMode {
    const from = this.#islandOf(link.source);
    const to = this.#islandOf(`replica:${link.destination}`);
    if (from === to) return 'open';
    const modes = [from, to].map((name) => (name === undefined ? undefined : this.islands.get(name)?.mode));
    return modes.includes('cut') ? 'cut' : 'stall';
  }
}

const replicaOf = (source: Source): number | undefined => {
  if (!source.startsWith('replica:')) return undefined;
  const id = Number(source.slice('replica:'.length));
  return Number.isSafeInteger(id) ? id : undefined;
};

/** Starts one listener per (source, destination) link on 127.0.0.1, on ports the OS chooses. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const state = new ProxyState(options.random);
  const links = new Map<string, Link>();
  const keyOf = (source: Source, destination: number) => `${source}>${destination}`;
  for (const source of options.sources) {
    for (const destination of options.destinations) {
      if (replicaOf(source) === destination.id) continue;
      links.set(keyOf(source, destination.id), {
        source,
        destination: destination.id,
        upstreamPort: destination.port,
        server: undefined,
        port: 0,
        held: 0,
      });
    }
  }

  const onAccept = (link: Link, client: Socket) => {
    const counters = state.counters;
    client.on('error', () => undefined);
    if (state.closed || state.connections.size >= PROXY_CONNECTIONS_MAX) {
      counters.connectionsRefused++;
      client.destroy();
      return;
    }
    const linkState = state.linkState(link);
    if (linkState === 'cut' || (linkState === 'stall' && link.held >= HELD_CONNECTIONS_PER_LINK_MAX)) {
      counters.connectionsRefused++;
      client.resetAndDestroy();
      return;
    }
    counters.connectionsAccepted++;
    const connection = new Connection(state, link, client);
    state.connections.add(connection);
    if (linkState === 'stall') {
      // A black hole: the connection is accepted and nothing comes back until the heal.
      connection.held = true;
      link.held++;
      counters.connectionsHeld++;
      client.once('close', () => {
        if (connection.held) connection.reset();
      });
      return;
    }
    connection.open();
  };

  try {
    for (const link of links.values()) {
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) =>
        onAccept(link, client),
      );
      link.server = server;
      await new Promise<void>((done, fail) => {
        server.once('error', fail);
        server.listen(0, '127.0.0.1', () => {
          server.off('error', fail);
          done();
        });
      });
      server.on('error', () => undefined);
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('proxy: no TCP address');
      link.port = address.port;
    }
  } catch (error) {
    await Promise.all([...links.values()].map((link) => closeServer(link.server)));
    throw error;
  }

  /** After a heal or a mode change: release held connections and stalled bytes that may now flow. */
  const reconsider = () => {
    for (const connection of [...state.connections]) {
      const linkState = state.linkState(connection.link);
      if (linkState === 'open') {
        if (connection.held) {
          connection.link.held--;
          connection.open();
        } else connection.pump();
      }
    }
  };

  const proxy: FaultProxy = {
    portOf(source, destination) {
      const link = links.get(keyOf(source, destination));
      if (link === undefined) throw new RangeError(`proxy: no link from ${source} to replica ${destination}`);
      return link.port;
    },
    setDelay(fixedMs, jitterMs) {
      if (
        !Number.isInteger(fixedMs) ||
        !Number.isInteger(jitterMs) ||
        fixedMs < 0 ||
        jitterMs < 0 ||
        fixedMs + jitterMs > DELAY_MS_MAX
      )
        throw new RangeError(`proxy: delay ${fixedMs}+${jitterMs} ms is outside 0..${DELAY_MS_MAX} ms`);
      state.delayFixedMs = fixedMs;
      state.delayJitterMs = jitterMs;
    },
    isolate(island, members, mode) {
      if (state.islands.has(island)) throw new Error(`proxy: island ${island} exists already`);
      state.islands.set(island, { members: new Set(members), mode });
      let cut = 0;
      for (const connection of [...state.connections]) {
        if (state.linkState(connection.link) !== 'cut') continue;
        connection.reset();
        cut++;
      }
      state.counters.connectionsCutByPartition += cut;
      return cut;
    },
    heal(island) {
      state.islands.delete(island);
      reconsider();
    },
    healAll() {
      state.islands.clear();
      reconsider();
    },
    drop(count) {
      const open = [...state.connections].filter((c) => !c.held && !c.closed);
      let dropped = 0;
      for (let i = 0; i < count && open.length > 0; i++) {
        const index = Math.floor(state.random() * open.length);
        const [connection] = open.splice(index, 1);
        connection?.reset();
        dropped++;
      }
      state.counters.connectionsDropped += dropped;
      return dropped;
    },
    stats: () => ({ ...state.counters }),
    openConnections: () => state.connections.size,
    async close() {
      state.closed = true;
      for (const connection of [...state.connections]) connection.reset();
      await Promise.all([...links.values()].map((link) => closeServer(link.server)));
    },
  };
  return proxy;
}

function closeServer(server: Server | undefined): Promise<void> {
  if (server === undefined || !server.listening) return Promise.resolve();
  return new Promise((done) => server.close(() => done()));
}
