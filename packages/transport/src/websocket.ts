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
 *
 * The parts, one job per file in `websocket/`:
 * - `options.ts` — the options, their defaults and checks;
 * - `endpoint.ts` — one transport at work: what follows what in a connection's life;
 * - `listener.ts` — the HTTP(S) server, upgrades and the slots for unauthenticated connections;
 * - `dialer.ts` — dialling every replica, and redialling with backoff;
 * - `server-handshake.ts`, `client-handshake.ts` — the two sides of the handshake;
 * - `connections.ts` — every connection's socket events, handshake deadline, failure and pings;
 * - `peers.ts` — authenticated peers, their send queues and flushing;
 * - `connection.ts` — the record of one connection.
 */
import type { LiveDirectoryTransport, Transport } from './transport.ts';
import { WebSocketEndpoint } from './websocket/endpoint.ts';
import { resolveOptions, type WebSocketTransportOptions } from './websocket/options.ts';

export { REFUSAL_CLOSE_CODES } from './websocket/connections.ts';
export {
  checkConnectionLimits,
  type TlsOptions,
  WEBSOCKET_DEFAULTS,
  type WebSocketTransportOptions,
} from './websocket/options.ts';

/** The WebSocket transport: the port (with its directory updates) plus the address it listens on. */
export interface WebSocketTransport extends LiveDirectoryTransport {
  /** Where this replica listens, once `start()` has resolved; `undefined` for agents. */
  address(): { readonly host: string; readonly port: number } | undefined;
}

/**
 * Creates a WebSocket transport. Throws `TransportError` (`INVALID_IDENTITY`, `INVALID_DIRECTORY`,
 * `INVALID_OPTIONS`, also for a missing `crypto`) at once for a configuration that could never work; `start()` rejects with
 * `ADDRESS_IN_USE` or `LISTEN_FAILED` when a replica cannot listen.
 */
export function webSocketTransport(options: WebSocketTransportOptions): WebSocketTransport {
  const settings = resolveOptions(options);
  const endpoint = new WebSocketEndpoint(settings);
  const transport: WebSocketTransport = {
    self: settings.self,
    channelAuthenticated: true,
    start: () => endpoint.start(),
    send: (to, frame) => endpoint.send(to, frame),
    onFrame: (handler) => endpoint.onFrame(handler),
    onPeer: (handler) => endpoint.onPeer(handler),
    connected: () => endpoint.connected(),
    holdBack: (peer, ms) => endpoint.holdBack(peer, ms),
    setAgents: (agents, retired) => endpoint.setAgents(agents, retired),
    onRefused: (handler) => endpoint.onRefused(handler),
    stats: () => endpoint.stats(),
    close: () => endpoint.close(),
    address: () => endpoint.address(),
  };
  readingControls.set(transport, (paused) => endpoint.setReadingPaused(paused));
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
