import { WebSocket } from 'ws';
import type { Channel } from './channel.ts';
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
} from './websocket/connection.ts';
import { Dialers } from './websocket/dialer.ts';
import { Listener } from './websocket/listener.ts';
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

/**
 * Creates a WebSocket transport. Throws `TransportError` (`INVALID_IDENTITY`, `INVALID_DIRECTORY`,
 * `INVALID_OPTIONS`, also for a missing `crypto`) at once for a configuration that could never work; `start()` rejects with
 * `ADDRESS_IN_USE` or `LISTEN_FAILED` when a replica cannot listen.
 */
export function webSocketTransport(options: WebSocketTransportOptions): WebSocketTransport {
  const settings = resolveOptions(options);
  const {
    limits,
    handshakeTimeoutMs,
    pingIntervalMs,
    socketBufferBytesMax,
    index,
    self,
    keys,
    selfEntry,
    messageBytesMax,
  } = settings;
  const handshake: HandshakeContext = { self, keys, index };

  const frameHandlers: ((from: PeerId, frame: Uint8Array) => void)[] = [];
  const peerHandlers: ((peer: PeerId, up: boolean) => void)[] = [];
  const tally = new Tally();
  const peers = new Peers({ limits, socketBufferBytesMax, tally, isClosed: () => closed });
  const connections = new Set<Connection>();
  /** Inbound connections that have not finished our handshake. */
  let inboundPending = 0;
  let pingTimer: NodeJS.Timeout | undefined;
  let startPromise: Promise<void> | undefined;
  let closePromise: Promise<void> | undefined;
  let closed = false;
  /** Test hook only (see `setReadingPaused`). */
  let readingPaused = false;

  const reject = (reason: RejectReason) => {
    tally.reject(reason);
  };
  const isClosed = () => closed;
  const dialers = new Dialers({ settings, tally, isClosed, attach: (connection) => attach(connection) });
  const listener = new Listener({
    settings,
    connections: {
      get size() {
        return connections.size;
      },
      get inboundHandshakes() {
        return inboundPending;
      },
    },
    isClosed,
    reject,
    accept(webSocket) {
      inboundPending++;
      const connection = inboundConnection(webSocket, freshServerHello());
      attach(connection);
      sendServerHello(connection, self);
    },
  });

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
    dialers.ended(connection);
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
    dialers.opened(connection);
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

  async function start(): Promise<void> {
    if (selfEntry !== undefined) await listener.listen(selfEntry);
    if (closed) {
      // close() ran while we were binding the port and left the listener to us.
      await listener.closeServer();
      return;
    }
    pingTimer = setInterval(ping, pingIntervalMs);
    dialers.dialAll(index.replicas, self);
  }

  async function closeTransport(): Promise<void> {
    closed = true;
    clearInterval(pingTimer);
    dialers.stop();
    for (const connection of [...connections]) {
      clearTimeout(connection.handshakeTimer);
      connection.state = 'closed';
      connection.socket.terminate();
    }
    connections.clear();
    peers.clear();
    await listener.close();
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
    address: () => listener.address(),
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
