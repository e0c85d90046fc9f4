/**
 * Dialling: a transport dials every replica but itself, and redials one whenever its connection
 * ends or a dial fails, after a backoff with full jitter (a delay drawn below a ceiling that
 * doubles per failed attempt up to `reconnect.maxMs`), so a cluster coming back does not redial
 * in step. A dial that completes the handshake resets the backoff.
 */
import { WebSocket } from 'ws';
import type { ReplicaEntry } from '../directory.ts';
import { HANDSHAKE_BYTES_MAX } from '../handshake.ts';
import type { Tally } from '../tally.ts';
import type { PeerId } from '../transport.ts';
import { type Connection, outboundConnection } from './connection.ts';
import type { Address, WebSocketSettings } from './options.ts';

/** One replica we keep a connection to. */
interface Dialer {
  readonly replica: ReplicaEntry;
  /** Dials that failed, or connections that ended, since the last handshake completed. */
  attempt: number;
  /** The redial waiting to run, if any. */
  timer: NodeJS.Timeout | undefined;
  /** The connection dialled, until it ends. */
  connection: Connection | undefined;
}

export interface DialersContext {
  readonly settings: WebSocketSettings;
  readonly tally: Tally;
  readonly isClosed: () => boolean;
  /** Takes in a connection just dialled (its socket events, its handshake deadline). */
  readonly attach: (connection: Connection) => void;
}

export class Dialers {
  readonly #context: DialersContext;
  readonly #byReplica = new Map<number, Dialer>();

  constructor(context: DialersContext) {
    this.#context = context;
  }

  /** Dials every replica but `self`, now. */
  dialAll(replicas: readonly ReplicaEntry[], self: PeerId): void {
    for (const replica of replicas) {
      if (replica.peer === self) continue;
      const dialer: Dialer = { replica, attempt: 0, timer: undefined, connection: undefined };
      this.#byReplica.set(replica.id, dialer);
      this.#dial(dialer);
    }
  }

  /** A connection finished the handshake: if we dialled it, its replica's backoff starts over. */
  opened(connection: Connection): void {
    if (connection.replica === undefined) return;
    const dialer = this.#byReplica.get(connection.replica);
    if (dialer !== undefined) dialer.attempt = 0;
  }

  /** A connection ended: if it is the one we dialled, redial its replica after the backoff. */
  ended(connection: Connection): void {
    if (connection.replica === undefined) return;
    const dialer = this.#byReplica.get(connection.replica);
    if (dialer !== undefined && dialer.connection === connection) {
      dialer.connection = undefined;
      this.#scheduleRedial(dialer);
    }
  }

  /** Cancels every redial waiting to run. */
  stop(): void {
    for (const dialer of this.#byReplica.values()) clearTimeout(dialer.timer);
  }

  #dial(dialer: Dialer): void {
    dialer.timer = undefined;
    if (this.#context.isClosed()) return;
    const address = this.#context.settings.dialAddress(dialer.replica);
    if (address === undefined) {
      this.#scheduleRedial(dialer);
      return;
    }
    let socket: WebSocket;
    try {
      socket = dialSocket(address, this.#context.settings);
    } catch {
      this.#scheduleRedial(dialer);
      return;
    }
    const connection = outboundConnection(socket, dialer.replica);
    dialer.connection = connection;
    this.#context.attach(connection);
  }

  #scheduleRedial(dialer: Dialer): void {
    if (this.#context.isClosed() || dialer.timer !== undefined) return;
    dialer.attempt++;
    this.#context.tally.reconnect();
    const { reconnectInitialMs, reconnectMaxMs, random } = this.#context.settings;
    const delayMs = redialDelayMs(dialer.attempt, reconnectInitialMs, reconnectMaxMs, random);
    dialer.timer = setTimeout(() => this.#dial(dialer), delayMs);
  }
}

/** Full jitter: uniform below `initialMs · 2^(attempt − 1)`, capped at `maxMs`. */
export function redialDelayMs(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number,
): number {
  const ceilingMs = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random() * ceilingMs);
}

/** Opens a WebSocket to `address` (wss with `tls`); throws on an address ws cannot use. */
function dialSocket(address: Address, settings: WebSocketSettings): WebSocket {
  const { tls, handshakeTimeoutMs } = settings;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return new WebSocket(`${tls ? 'wss' : 'ws'}://${host}:${address.port}/`, {
    // Until the replica has proven itself, it may send no more than a handshake message; the
    // bound is raised to a whole frame once the handshake completes (`Connections.markOpen`).
    maxPayload: HANDSHAKE_BYTES_MAX,
    perMessageDeflate: false,
    followRedirects: false,
    handshakeTimeout: handshakeTimeoutMs,
    ...(tls?.ca !== undefined ? { ca: tls.ca as string | Buffer | (string | Buffer)[] } : {}),
  });
}
