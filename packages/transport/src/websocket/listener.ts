/**
 * The listener of a replica: an HTTP (or, with `tls`, HTTPS) server that takes WebSocket upgrades
 * and nothing else. It bounds what strangers can hold before they authenticate: raw TCP
 * connections (`maxConnections`), time to send HTTP headers and finish TLS
 * (`handshakeTimeoutMs`), slots for sockets mid-upgrade plus connections mid-handshake
 * (`handshakesPendingMax`, within `connectionsMax` in all), and of those slots what one source
 * address may hold (`handshakesPendingPerAddressMax`, `address-slots.ts`).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { ReplicaEntry } from '../directory.ts';
import { type PeerId, type RejectReason, TransportError } from '../transport.ts';
import { AddressSlots } from './address-slots.ts';
import type { Address, WebSocketSettings } from './options.ts';

/** Connections held (any state, either direction), and inbound ones still in the handshake. */
export interface ConnectionCounts {
  readonly size: number;
  readonly inboundHandshakes: number;
  /** Closes the inbound connection longest in the handshake; false when there is none. */
  evictStalestHandshake(): boolean;
}

export interface ListenerContext {
  readonly settings: WebSocketSettings;
  /** The connections held and those mid-handshake, which take slots too. */
  readonly connections: ConnectionCounts;
  readonly isClosed: () => boolean;
  readonly reject: (reason: RejectReason) => void;
  /**
   * Takes in a socket that finished the WebSocket upgrade while the transport is open;
   * `releaseAddressSlot` is to be called once it authenticates.
   */
  readonly accept: (socket: WebSocket, releaseAddressSlot: () => void) => void;
}

export class Listener {
  readonly #context: ListenerContext;
  #server: Server | undefined;
  #webSocketServer: WebSocketServer | undefined;
  #address: Address | undefined;
  /** Inbound sockets whose WebSocket upgrade is under way (not yet connections). */
  #upgrading = 0;
  readonly #addressSlots: AddressSlots;

  constructor(context: ListenerContext) {
    this.#context = context;
    this.#addressSlots = new AddressSlots(context.settings.handshakesPendingPerAddressMax);
  }

  /** Where this replica listens, once `listen` has resolved. */
  address(): Address | undefined {
    return this.#address;
  }

  /** Binds the port; rejects with `ADDRESS_IN_USE` or `LISTEN_FAILED`. */
  async listen(entry: ReplicaEntry): Promise<void> {
    const { settings } = this.#context;
    const server = this.#createServer();
    this.#webSocketServer = new WebSocketServer({
      noServer: true,
      maxPayload: settings.messageBytesMax,
      perMessageDeflate: false,
      clientTracking: false,
    });
    const { host, port } = settings.listenAddress(entry);
    this.#server = server;
    try {
      await bind(server, host, port, settings.self);
    } catch (error) {
      this.#server = undefined;
      throw error;
    }
    server.on('error', () => {
      // After listening, errors belong to single connections, which have their own handlers.
    });
    const bound = server.address();
    this.#address = typeof bound === 'object' && bound !== null ? { host, port: bound.port } : { host, port };
  }

  /** Stops taking upgrades, then closes the server and every socket it still holds. */
  close(): Promise<void> {
    this.#webSocketServer?.close();
    return this.closeServer();
  }

  /** Closes the server, if it is listening, and every socket it still holds. */
  async closeServer(): Promise<void> {
    const server = this.#server;
    if (server === undefined || !server.listening) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  #createServer(): Server {
    const { tls, handshakeTimeoutMs, connectionsMax, handshakesPendingMax } = this.#context.settings;
    const serverOptions = {
      headersTimeout: handshakeTimeoutMs,
      requestTimeout: handshakeTimeoutMs,
      connectionsCheckingInterval: Math.min(handshakeTimeoutMs, 1000),
    };
    const server =
      tls === undefined
        ? createHttpServer(serverOptions)
        : createHttpsServer({
            ...serverOptions,
            cert: tls.cert,
            key: tls.key,
            handshakeTimeout: handshakeTimeoutMs,
          });
    // Raw TCP connections that never finish HTTP are bounded too.
    server.maxConnections = connectionsMax + handshakesPendingMax;
    // Emitted for every TCP connection, before HTTP and (with tls) before the TLS handshake.
    server.on('connection', (socket: Socket) => this.#onSocket(socket));
    server.on('request', (_request, response) => {
      response.writeHead(426, { connection: 'close' }).end();
    });
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#onUpgrade(request, socket, head),
    );
    server.on('clientError', (_error, socket) => socket.destroy());
    return server;
  }

  /** A TCP connection arrived: it takes a slot of its source address, or is refused (`ADDRESS_BUSY`). */
  #onSocket(socket: Socket): void {
    const slot = this.#addressSlots.take(socket);
    if (slot === undefined) {
      // A socket already gone has no address; it is closed, not counted.
      if (socket.remoteAddress !== undefined) this.#context.reject('ADDRESS_BUSY');
      socket.destroy();
      return;
    }
    socket.once('close', slot.release);
  }

  /**
   * Takes a socket asking to upgrade if a slot is free, and hands it on as a WebSocket. When every
   * handshake slot is taken, the stalest pending handshake is evicted (`HANDSHAKE_EVICTED`) and
   * the newcomer admitted: a stranger who keeps the slots full then only ever pushes out its own
   * stale sockets, and an honest peer, which finishes in a round trip, gets through. Over
   * `connectionsMax`, or when no pending handshake can be evicted, it is refused
   * (`TOO_MANY_CONNECTIONS`).
   */
  #onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { isClosed, settings, connections } = this.#context;
    const webSocketServer = this.#webSocketServer;
    if (isClosed() || webSocketServer === undefined) {
      socket.destroy();
      return;
    }
    const handshakesFull = () =>
      this.#upgrading + connections.inboundHandshakes >= settings.handshakesPendingMax;
    if (handshakesFull()) connections.evictStalestHandshake();
    if (handshakesFull() || this.#upgrading + connections.size >= settings.connectionsMax) {
      this.#context.reject('TOO_MANY_CONNECTIONS');
      socket.destroy();
      return;
    }
    this.#upgrading++;
    let accepted = false;
    // ws answers a bad upgrade request itself and never calls back; release the slot then.
    socket.once('close', () => {
      if (!accepted) this.#upgrading--;
    });
    webSocketServer.handleUpgrade(request, socket, head, (webSocket) => {
      accepted = true;
      this.#upgrading--;
      if (isClosed()) {
        webSocket.terminate();
        return;
      }
      const slot = this.#addressSlots.find(request.socket);
      this.#context.accept(webSocket, slot?.release ?? (() => {}));
    });
  }
}

/** Listens on `host:port`; a failure becomes `ADDRESS_IN_USE` or `LISTEN_FAILED`, naming `self`. */
function bind(server: Server, host: string, port: number, self: PeerId): Promise<void> {
  return new Promise<void>((resolve, rejectListen) => {
    server.once('error', (error: Error & { code?: string }) => {
      const inUse = error.code === 'EADDRINUSE';
      const why = inUse ? 'the port is in use' : error.message;
      rejectListen(
        new TransportError(
          inUse ? 'ADDRESS_IN_USE' : 'LISTEN_FAILED',
          `${self} cannot listen on ${host}:${port}: ${why}`,
          {
            cause: error,
          },
        ),
      );
    });
    server.listen(port, host, () => resolve());
  });
}
