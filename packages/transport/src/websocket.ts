/**
 * The WebSocket transport, on the `ws` package.
 *
 * Every replica listens (HTTP or, with `tls`, HTTPS) and dials every other replica; agents dial
 * every replica. Each connection starts with a mutual, signed handshake (see `handshake.ts`);
 * until it completes, nothing the peer sends is taken as a frame. After it, each binary WebSocket
 * message is one frame from the authenticated peer followed by its channel tag (see `channel.ts`):
 * a message whose tag does not verify is not delivered and closes the connection (`BAD_MAC`).
 *
 * Between two replicas there are usually two connections, one dialled by each. Frames to a peer
 * go over the first of its connections that came up, and stay on it while it is open: spreading
 * them over two sockets would reorder them. A replica answers an agent over the agent's own
 * connection.
 *
 * Memory is bounded everywhere: unauthenticated connections (count and time), authenticated
 * connections (count), message size (`maxPayload`), and per peer the frames waiting to be sent
 * (frames and bytes) plus the bytes handed to the socket and not yet flushed.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { Channel } from './channel.ts';
import type { ReplicaEntry } from './directory.ts';
import { HANDSHAKE_BYTES_MAX } from './handshake.ts';
import { Tally } from './tally.ts';
import {
  type PeerId,
  type RejectReason,
  type Transport,
  TransportError,
  type TransportStats,
} from './transport.ts';
import { answerServer } from './websocket/client-handshake.ts';
import {
  type Connection,
  type HandshakeContext,
  inboundConnection,
  limitMessageBytes,
  outboundConnection,
} from './websocket/connection.ts';
import { resolveOptions, type WebSocketTransportOptions } from './websocket/options.ts';
import { Peers } from './websocket/peers.ts';
import { answerClientProof, freshServerHello, sendServerHello } from './websocket/server-handshake.ts';

export {
  type TlsOptions,
  WEBSOCKET_DEFAULTS,
  type WebSocketTransportOptions,
} from './websocket/options.ts';

/** The WebSocket transport: the port plus the address it listens on. */
export interface WebSocketTransport extends Transport {
  /** Where this replica listens, once `start()` has resolved; `undefined` for agents. */
  address(): { readonly host: string; readonly port: number } | undefined;
}

/** Pings a peer may leave unanswered before its connection is closed. */
const PONGS_MISSED_MAX = 2;

interface Dialer {
  readonly replica: ReplicaEntry;
  attempt: number;
  timer: NodeJS.Timeout | undefined;
  connection: Connection | undefined;
}

/**
 * Creates a WebSocket transport. Throws `TransportError` (`INVALID_IDENTITY`, `INVALID_DIRECTORY`,
 * `INVALID_OPTIONS`, also for a missing `crypto`) at once for a configuration that could never work; `start()` rejects with
 * `ADDRESS_IN_USE` or `LISTEN_FAILED` when a replica cannot listen.
 */
export function webSocketTransport(options: WebSocketTransportOptions): WebSocketTransport {
  const settings = resolveOptions(options);
  const {
    limits,
    connectionsMax,
    handshakesPendingMax,
    handshakeTimeoutMs,
    pingIntervalMs,
    reconnectInitialMs,
    reconnectMaxMs,
    socketBufferBytesMax,
    random,
    index,
    self,
    keys,
    selfEntry,
    tls,
    messageBytesMax,
  } = settings;
  const handshake: HandshakeContext = { self, keys, index };

  const frameHandlers: ((from: PeerId, frame: Uint8Array) => void)[] = [];
  const peerHandlers: ((peer: PeerId, up: boolean) => void)[] = [];
  const tally = new Tally();
  const peers = new Peers({ limits, socketBufferBytesMax, tally, isClosed: () => closed });
  const connections = new Set<Connection>();
  const dialers = new Map<number, Dialer>();
  /** Inbound sockets whose WebSocket upgrade is under way (not yet a connection). */
  let upgrading = 0;
  /** Inbound connections that have not finished our handshake. */
  let inboundPending = 0;
  let server: Server | undefined;
  let webSocketServer: WebSocketServer | undefined;
  let listening: { host: string; port: number } | undefined;
  let pingTimer: NodeJS.Timeout | undefined;
  let startPromise: Promise<void> | undefined;
  let closePromise: Promise<void> | undefined;
  let closed = false;
  /** Test hook only (see `setReadingPaused`). */
  let readingPaused = false;

  const reject = (reason: RejectReason) => {
    tally.reject(reason);
  };

  // ---- connections ----

  function fail(connection: Connection, reason: RejectReason): void {
    if (connection.state === 'closed') return;
    reject(reason);
    connection.socket.terminate();
    // 'close' follows from terminate(); ended() runs there, but run it now so the state is exact.
    ended(connection);
  }

  function ended(connection: Connection): void {
    if (connection.state === 'closed') return;
    const wasOpen = connection.state === 'open';
    connection.state = 'closed';
    connections.delete(connection);
    clearTimeout(connection.handshakeTimer);
    if (!wasOpen && connection.direction === 'inbound') inboundPending--;
    if (closed) return;
    if (wasOpen && connection.peer !== undefined) {
      if (peers.remove(connection)) emitPeer(connection.peer, false);
    }
    if (connection.replica !== undefined) {
      const dialer = dialers.get(connection.replica);
      if (dialer !== undefined && dialer.connection === connection) {
        dialer.connection = undefined;
        scheduleRedial(dialer);
      }
    }
  }

  function open(connection: Connection, peer: PeerId): void {
    connection.state = 'open';
    connection.peer = peer;
    if (connection.direction === 'inbound') limitMessageBytes(connection.socket, messageBytesMax);
    clearTimeout(connection.handshakeTimer);
    connection.handshakeTimer = undefined;
    if (connection.direction === 'inbound') inboundPending--;
    const { older, wasUp } = peers.add(connection, peer);
    if (older !== undefined) {
      older.state = 'closed';
      connections.delete(older);
      older.socket.terminate();
    }
    if (connection.replica !== undefined) {
      const dialer = dialers.get(connection.replica);
      if (dialer !== undefined) dialer.attempt = 0;
    }
    if (readingPaused) connection.socket.pause();
    if (!wasUp) emitPeer(peer, true);
    peers.flush(peer);
  }

  function attach(connection: Connection): void {
    const { socket } = connection;
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer, isBinary: boolean) => onMessage(connection, data, isBinary));
    socket.on('pong', () => {
      connection.pongsMissed = 0;
    });
    socket.on('error', (error: Error & { code?: string }) => {
      if (connection.state === 'closed') return;
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') fail(connection, 'TOO_LARGE');
      else if (typeof error.code === 'string' && error.code.startsWith('WS_ERR_'))
        fail(connection, 'PROTOCOL_ERROR');
      else {
        // A network error (refused, reset, TLS): not the peer's fault in a way we can name; just end.
        connection.socket.terminate();
        ended(connection);
      }
    });
    socket.on('close', () => ended(connection));
    connection.handshakeTimer = setTimeout(() => fail(connection, 'HANDSHAKE_TIMEOUT'), handshakeTimeoutMs);
    connections.add(connection);
  }

  function onMessage(connection: Connection, data: Buffer, isBinary: boolean): void {
    if (closed || connection.state === 'closed') return;
    if (!isBinary) {
      fail(connection, 'NOT_BINARY');
      return;
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (connection.state === 'handshake') {
      if (bytes.byteLength > HANDSHAKE_BYTES_MAX) {
        fail(connection, 'HANDSHAKE_FAILED');
        return;
      }
      onHandshakeMessage(connection, bytes);
      return;
    }
    if (bytes.byteLength > messageBytesMax) {
      // ws enforces this already (maxPayload); kept so the bound never rests on ws internals alone.
      fail(connection, 'TOO_LARGE');
      return;
    }
    const opened = (connection.channel as Channel).open(bytes);
    if (opened === undefined) {
      fail(connection, 'BAD_MAC');
      return;
    }
    // A copy that owns its bytes: the message is a view into the socket's read buffer (often
    // 64 KB), and a frame kept for long — in the log, a certificate, a pending request — would
    // keep that whole buffer alive. Copying costs ~1% of a replica's CPU; retention cost ~16 MB
    // of its RSS at 64 clients.
    const frame = new Uint8Array(opened);
    const peer = connection.peer as PeerId;
    tally.frameIn(frame.byteLength);
    for (const handler of frameHandlers) {
      if (closed) return;
      handler(peer, frame);
    }
  }

  function onHandshakeMessage(connection: Connection, bytes: Uint8Array): void {
    const step =
      connection.direction === 'inbound'
        ? answerClientProof(connection, bytes, handshake)
        : answerServer(connection, bytes, handshake);
    if (step.next === 'fail') fail(connection, step.reason);
    else if (step.next === 'open') open(connection, step.peer);
  }

  // ---- server side of the handshake ----

  function onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (closed || webSocketServer === undefined) {
      socket.destroy();
      return;
    }
    if (
      upgrading + inboundPending >= handshakesPendingMax ||
      upgrading + connections.size >= connectionsMax
    ) {
      reject('TOO_MANY_CONNECTIONS');
      socket.destroy();
      return;
    }
    upgrading++;
    let accepted = false;
    // ws answers a bad upgrade request itself and never calls back; release the slot then.
    socket.once('close', () => {
      if (!accepted) upgrading--;
    });
    webSocketServer.handleUpgrade(request, socket, head, (webSocket) => {
      accepted = true;
      upgrading--;
      if (closed) {
        webSocket.terminate();
        return;
      }
      inboundPending++;
      const connection = inboundConnection(webSocket, freshServerHello());
      attach(connection);
      sendServerHello(connection, self);
    });
  }

  // ---- client side of the handshake ----

  function dial(dialer: Dialer): void {
    dialer.timer = undefined;
    if (closed) return;
    const address = settings.dialAddress(dialer.replica);
    if (address === undefined) {
      scheduleRedial(dialer);
      return;
    }
    const host = address.host.includes(':') ? `[${address.host}]` : address.host;
    let socket: WebSocket;
    try {
      socket = new WebSocket(`${tls ? 'wss' : 'ws'}://${host}:${address.port}/`, {
        maxPayload: messageBytesMax,
        perMessageDeflate: false,
        followRedirects: false,
        handshakeTimeout: handshakeTimeoutMs,
        ...(tls?.ca !== undefined ? { ca: tls.ca as string | Buffer | (string | Buffer)[] } : {}),
      });
    } catch {
      scheduleRedial(dialer);
      return;
    }
    const connection = outboundConnection(socket, dialer.replica);
    dialer.connection = connection;
    attach(connection);
  }

  function scheduleRedial(dialer: Dialer): void {
    if (closed || dialer.timer !== undefined) return;
    dialer.attempt++;
    tally.reconnect();
    const ceilingMs = Math.min(reconnectMaxMs, reconnectInitialMs * 2 ** Math.min(dialer.attempt - 1, 30));
    dialer.timer = setTimeout(() => dial(dialer), Math.floor(random() * ceilingMs));
  }

  // ---- sending ----

  function emitPeer(peer: PeerId, up: boolean): void {
    for (const handler of peerHandlers) {
      if (closed) return;
      handler(peer, up);
    }
  }

  function ping(): void {
    for (const connection of [...connections]) {
      if (connection.state !== 'open') continue;
      if (connection.pongsMissed >= PONGS_MISSED_MAX) {
        fail(connection, 'PING_TIMEOUT');
        continue;
      }
      connection.pongsMissed++;
      if (connection.socket.readyState === WebSocket.OPEN) connection.socket.ping();
    }
  }

  // ---- lifecycle ----

  async function listen(entry: ReplicaEntry): Promise<void> {
    const serverOptions = {
      headersTimeout: handshakeTimeoutMs,
      requestTimeout: handshakeTimeoutMs,
      connectionsCheckingInterval: Math.min(handshakeTimeoutMs, 1000),
    };
    const created =
      tls === undefined
        ? createHttpServer(serverOptions)
        : createHttpsServer({
            ...serverOptions,
            cert: tls.cert,
            key: tls.key,
            handshakeTimeout: handshakeTimeoutMs,
          });
    // Raw TCP connections that never finish HTTP are bounded too.
    created.maxConnections = connectionsMax + handshakesPendingMax;
    created.on('request', (_request, response) => {
      response.writeHead(426, { connection: 'close' }).end();
    });
    created.on('upgrade', onUpgrade);
    created.on('clientError', (_error, socket) => socket.destroy());
    webSocketServer = new WebSocketServer({
      noServer: true,
      maxPayload: messageBytesMax,
      perMessageDeflate: false,
      clientTracking: false,
    });
    const { host, port } = settings.listenAddress(entry);
    server = created;
    await new Promise<void>((resolve, rejectListen) => {
      created.once('error', (error: Error & { code?: string }) => {
        rejectListen(
          error.code === 'EADDRINUSE'
            ? new TransportError(
                'ADDRESS_IN_USE',
                `${self} cannot listen on ${host}:${port}: the port is in use`,
                {
                  cause: error,
                },
              )
            : new TransportError(
                'LISTEN_FAILED',
                `${self} cannot listen on ${host}:${port}: ${error.message}`,
                {
                  cause: error,
                },
              ),
        );
      });
      created.listen(port, host, () => resolve());
    });
    created.on('error', () => {
      // After listening, errors belong to single connections, which have their own handlers.
    });
    const bound = created.address();
    listening = typeof bound === 'object' && bound !== null ? { host, port: bound.port } : { host, port };
  }

  async function start(): Promise<void> {
    if (selfEntry !== undefined) {
      try {
        await listen(selfEntry);
      } catch (error) {
        server = undefined;
        throw error;
      }
    }
    if (closed) {
      // close() ran while we were binding the port and left the listener to us.
      await closeListener();
      return;
    }
    pingTimer = setInterval(ping, pingIntervalMs);
    for (const replica of index.replicas) {
      if (replica.peer === self) continue;
      const dialer: Dialer = { replica, attempt: 0, timer: undefined, connection: undefined };
      dialers.set(replica.id, dialer);
      dial(dialer);
    }
  }

  async function closeTransport(): Promise<void> {
    closed = true;
    clearInterval(pingTimer);
    for (const dialer of dialers.values()) clearTimeout(dialer.timer);
    for (const connection of [...connections]) {
      clearTimeout(connection.handshakeTimer);
      connection.state = 'closed';
      connection.socket.terminate();
    }
    connections.clear();
    peers.clear();
    webSocketServer?.close();
    await closeListener();
  }

  async function closeListener(): Promise<void> {
    const listener = server;
    if (listener === undefined || !listener.listening) return;
    await new Promise<void>((resolve) => {
      listener.close(() => resolve());
      listener.closeAllConnections();
    });
  }

  const transport: WebSocketTransport = {
    self,
    channelAuthenticated: true,
    start() {
      if (closed) return Promise.reject(new TransportError('CLOSED', `${self}: transport is closed`));
      startPromise ??= start();
      return startPromise;
    },
    send: (to, frame) => peers.send(to, frame),
    onFrame(handler) {
      frameHandlers.push(handler);
    },
    onPeer(handler) {
      peerHandlers.push(handler);
    },
    connected() {
      if (closed) return [];
      return peers.ids();
    },
    stats(): TransportStats {
      let open = 0;
      let handshakesPending = 0;
      for (const connection of connections) {
        if (connection.state === 'open') open++;
        else if (connection.state === 'handshake') handshakesPending++;
      }
      return tally.stats(peers.queueStats(), open, handshakesPending);
    },
    close() {
      closePromise ??= closeTransport();
      return closePromise;
    },
    address: () => listening,
  };
  readingControls.set(transport, (paused) => {
    readingPaused = paused;
    for (const connection of connections) {
      if (connection.state !== 'open') continue;
      if (paused) connection.socket.pause();
      else connection.socket.resume();
    }
  });
  return transport;
}

const readingControls = new WeakMap<Transport, (paused: boolean) => void>();

/**
 * Test hook, deliberately not exported by the package: makes a WebSocket transport stop (or start
 * again) reading the connections it has now, as a stuck or overloaded peer would.
 */
export function setReadingPaused(transport: Transport, paused: boolean): void {
  readingControls.get(transport)?.(paused);
}
