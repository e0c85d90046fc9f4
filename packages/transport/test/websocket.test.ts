import { randomBytes } from 'node:crypto';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import fc from 'fast-check';
import { generate } from 'selfsigned';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { CHANNEL_TAG_BYTES, type Channel, channel } from '../src/channel.ts';
import {
  clientProof,
  deriveChannelKeys,
  ephemeralKeyPair,
  HANDSHAKE_BYTES_MAX,
  parseServerHello,
  parseServerProof,
  parseServerRefusal,
  type ServerHello,
  type ServerRefusal,
  type Session,
  verifyServerProof,
  verifyServerRefusal,
} from '../src/handshake.ts';
import {
  type AgentEntry,
  type Directory,
  type Identity,
  type PeerId,
  parsePeer,
  REFUSAL_CLOSE_CODES,
  type RefusalReason,
  replicaPeer,
  type Transport,
  TransportError,
  WEBSOCKET_DEFAULTS,
  type WebSocketTransport,
  type WebSocketTransportOptions,
  webSocketTransport,
} from '../src/index.ts';
import { setReadingPaused } from '../src/websocket.ts';
import { COMPLIANCE_LIMITS, type ComplianceFactory, transportCompliance } from './compliance.ts';
import {
  crypto,
  frameNumber,
  numberedFrame,
  packTuple,
  record,
  sleep,
  type TestCluster,
  testCluster,
  testKey,
  text,
  waitConnected,
  waitFor,
} from './support.ts';

const LOCALHOST = '127.0.0.1';

/** Transports that listen on OS-chosen ports and find each other through `live`. */
function webSocketNetwork(cluster: TestCluster, overrides: Partial<WebSocketTransportOptions> = {}) {
  const live = new Map<number, WebSocketTransport>();
  const byPeer = new Map<PeerId, WebSocketTransport>();
  const created: WebSocketTransport[] = [];
  const portOf = (id: number) => live.get(id)?.address()?.port;
  return {
    create(
      identity: Identity,
      directory: Directory = cluster.directory,
      options: Partial<WebSocketTransportOptions> = {},
    ) {
      const transport = webSocketTransport({
        identity,
        directory,
        crypto,
        ...COMPLIANCE_LIMITS,
        listenHost: LOCALHOST,
        listenPort: 0,
        addressOf: (id) => {
          const port = portOf(id);
          return port === undefined ? undefined : { host: LOCALHOST, port };
        },
        reconnect: { initialMs: 10, maxMs: 100 },
        socketBufferBytesMax: 256 * 1024,
        handshakeTimeoutMs: 2000,
        ...overrides,
        ...options,
      });
      const parsed = parsePeer(identity.peer);
      if (parsed?.kind === 'replica') live.set(parsed.id, transport);
      byPeer.set(identity.peer, transport);
      created.push(transport);
      return transport;
    },
    portOf: (id: number) => portOf(id) as number,
    pause: (peer: PeerId) => setReadingPaused(byPeer.get(peer) as Transport, true),
    resume: (peer: PeerId) => setReadingPaused(byPeer.get(peer) as Transport, false),
    closeAll: () => Promise.all(created.map((transport) => transport.close())),
  };
}

const webSocket: ComplianceFactory = (cluster) => webSocketNetwork(cluster);

transportCompliance('WebSocket', webSocket);

// ---- raw clients, speaking (or not) the handshake by hand ----

interface RawClient {
  readonly socket: WebSocket;
  readonly messages: Buffer[];
  readonly closed: Promise<void>;
  isClosed(): boolean;
}

function rawClient(port: number, localAddress?: string): RawClient {
  const socket = new WebSocket(`ws://${LOCALHOST}:${port}/`, {
    perMessageDeflate: false,
    ...(localAddress === undefined ? {} : { localAddress }),
  });
  const messages: Buffer[] = [];
  let closed = false;
  socket.on('message', (data: Buffer) => messages.push(data));
  socket.on('error', () => {});
  const closedPromise = new Promise<void>((resolve) =>
    socket.on('close', () => {
      closed = true;
      resolve();
    }),
  );
  return { socket, messages, closed: closedPromise, isClosed: () => closed };
}

/**
 * The i-th of many strangers on hosts of their own (127.0.0.2, 127.0.0.3, …: Linux routes all of
 * 127/8 to loopback), each under its address's share of pending handshakes.
 */
const strangerAddress = (i: number) => `127.0.${1 + Math.floor(i / 250)}.${2 + (i % 250)}`;

/** Opens a raw connection and waits for the server's hello. */
async function rawHello(port: number): Promise<RawClient & ServerHello> {
  const client = rawClient(port);
  await waitFor('the server hello', () => client.messages.length >= 1 || client.isClosed(), 2000);
  const hello = parseServerHello(new Uint8Array(client.messages[0] as Buffer));
  if (hello === undefined) throw new Error('no valid server hello');
  return { ...client, ...hello };
}

/** Sends `identity`'s proof on a raw connection that has the server's hello; returns the session it signed. */
function sendProof(
  client: RawClient & ServerHello,
  identity: Identity,
  ephemeral = ephemeralKeyPair(),
): Session {
  const session: Session = {
    server: client.server,
    client: identity.peer,
    serverNonce: client.serverNonce,
    clientNonce: randomBytes(32),
    serverEphemeral: client.serverEphemeral,
    clientEphemeral: ephemeral.publicKey,
  };
  client.socket.send(clientProof({ crypto, secretKey: identity.secretKey }, session));
  return session;
}

/**
 * Completes the handshake as `identity` over a raw connection; `channel` seals what the test
 * sends from then on.
 */
async function rawAuthenticated(
  port: number,
  identity: Identity,
  directory: Directory,
): Promise<RawClient & { readonly channel: Channel }> {
  const client = await rawHello(port);
  const ephemeral = ephemeralKeyPair();
  const session: Session = {
    server: client.server,
    client: identity.peer,
    serverNonce: client.serverNonce,
    clientNonce: randomBytes(32),
    serverEphemeral: client.serverEphemeral,
    clientEphemeral: ephemeral.publicKey,
  };
  const keys = deriveChannelKeys(ephemeral, 'client', session);
  if (keys === undefined) throw new Error('the server sent an unusable ephemeral key');
  client.socket.send(clientProof({ crypto, secretKey: identity.secretKey }, session));
  await waitFor('the server proof', () => client.messages.length >= 2 || client.isClosed(), 2000);
  const signature = parseServerProof(new Uint8Array(client.messages[1] as Buffer));
  const serverKey = directory.replicas.find(
    (replica) => replicaPeer(replica.id) === client.server,
  )?.publicKey;
  if (
    signature === undefined ||
    serverKey === undefined ||
    !verifyServerProof(crypto, session, signature, serverKey)
  )
    throw new Error('no valid server proof');
  return { ...client, channel: channel('client', keys) };
}

const withTimeout = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)),
  ]);

describe('WebSocket transport: authentication and hostile input', () => {
  const cluster = testCluster(4);
  let network: ReturnType<typeof webSocketNetwork>;
  afterEach(async () => {
    await network.closeAll();
  });

  /** Replica 0 started, agent alice connected to it. */
  async function replicaWithAlice(options: Partial<WebSocketTransportOptions> = {}) {
    network = webSocketNetwork(cluster);
    const replica = network.create(cluster.replicas[0] as Identity, cluster.directory, options);
    await replica.start();
    const alice = network.create(cluster.agents[0] as Identity);
    await alice.start();
    await waitConnected(replica, [alice.self]);
    return { replica, alice, port: network.portOf(0) };
  }

  /** Checks the replica still serves its authenticated agent, both ways. */
  async function stillServes(replica: Transport, alice: Transport) {
    const replicaInbox = record(replica);
    const aliceInbox = record(alice);
    expect(alice.send(replica.self, text('still there?'))).toBe('queued');
    expect(replica.send(alice.self, text('yes'))).toBe('queued');
    await waitFor('frames both ways', () => replicaInbox.length === 1 && aliceInbox.length === 1);
    expect(replicaInbox[0]?.from).toBe(alice.self);
  }

  it('refuses and counts a client whose key is not in the directory', async () => {
    const { replica, alice } = await replicaWithAlice();
    // Mallory's own directory lists her; the replica's does not.
    const malloryDirectory: Directory = {
      replicas: cluster.directory.replicas,
      agents: [...cluster.directory.agents, { id: 'mallory', publicKey: cluster.outsider.publicKey }],
    };
    const mallory = network.create(cluster.outsider, malloryDirectory);
    const refusals: [PeerId, RefusalReason][] = [];
    mallory.onRefused((peer, reason) => refusals.push([peer, reason]));
    await mallory.start();
    await waitFor('UNKNOWN_AGENT', () => replica.stats().rejected.UNKNOWN_AGENT >= 1);
    await waitFor('mallory told why', () => refusals.length >= 1);
    expect(refusals[0]).toEqual([replica.self, 'UNKNOWN_AGENT']);
    expect(replica.stats().rejected.UNKNOWN_PEER).toBe(0);
    expect(mallory.connected()).toEqual([]);
    expect(replica.connected()).not.toContain(mallory.self);
    expect(mallory.send(replica.self, text('let me in'))).toBe('not-connected');
    await stillServes(replica, alice);
  });

  it('refuses and counts a client that claims to be alice but signs with another key', async () => {
    const { replica } = await replicaWithAlice();
    const impostorDirectory: Directory = {
      replicas: cluster.directory.replicas,
      agents: [{ id: 'alice', publicKey: cluster.outsider.publicKey }],
    };
    const impostor = network.create(
      { peer: 'agent:alice', secretKey: cluster.outsider.secretKey },
      impostorDirectory,
    );
    await impostor.start();
    await waitFor('BAD_SIGNATURE', () => replica.stats().rejected.BAD_SIGNATURE >= 1);
    expect(impostor.connected()).toEqual([]);
    expect(replica.stats().connections).toBe(1);
  });

  /** Bob's entry with a key he does not hold: a rotation he has not caught up with. */
  const bobRotated = () => [
    cluster.directory.agents[0] as AgentEntry,
    { id: 'bob', publicKey: testKey(151).publicKey },
  ];
  const closeOf = (client: RawClient) =>
    new Promise<[number, string]>((resolve) =>
      client.socket.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()])),
    );

  it('closes a live agent connection on removal or rotation with a close code saying why', async () => {
    const { replica, alice, port } = await replicaWithAlice();
    const bob = cluster.agents[1] as Identity;
    const rotated = await rawAuthenticated(port, bob, cluster.directory);
    const rotatedClose = closeOf(rotated);
    replica.setAgents(bobRotated());
    expect(await withTimeout(rotatedClose, 2000, 'close')).toEqual([
      REFUSAL_CLOSE_CODES.REVOKED_KEY,
      'REVOKED_KEY',
    ]);
    replica.setAgents(cluster.directory.agents);
    const removed = await rawAuthenticated(port, bob, cluster.directory);
    const removedClose = closeOf(removed);
    replica.setAgents([cluster.directory.agents[0] as AgentEntry]);
    expect(await withTimeout(removedClose, 2000, 'close')).toEqual([
      REFUSAL_CLOSE_CODES.UNKNOWN_AGENT,
      'UNKNOWN_AGENT',
    ]);
    expect(replica.stats().rejected).toMatchObject({ REVOKED_KEY: 1, UNKNOWN_AGENT: 1 });
    await stillServes(replica, alice);
  });

  it('answers a proof sent after an update that landed mid-handshake with a signed refusal', async () => {
    const { replica, port } = await replicaWithAlice();
    const bob = cluster.agents[1] as Identity;
    const replicaKey = cluster.directory.replicas[0]?.publicKey as Uint8Array;
    for (const [update, expected] of [
      [bobRotated(), 'REVOKED_KEY'],
      [[cluster.directory.agents[0] as AgentEntry], 'UNKNOWN_AGENT'],
    ] as const) {
      replica.setAgents(cluster.directory.agents);
      const client = await rawHello(port); // the replica's hello is out: the handshake is under way
      const closed = closeOf(client);
      replica.setAgents(update);
      const session = sendProof(client, bob);
      await waitFor('the refusal', () => client.messages.length >= 2, 2000);
      const refusal = parseServerRefusal(new Uint8Array(client.messages[1] as Buffer));
      expect(refusal?.reason).toBe(expected);
      expect(verifyServerRefusal(crypto, session, refusal as ServerRefusal, replicaKey)).toBe(true);
      // Bound to this handshake: the same refusal does not verify for another session.
      const other = { ...session, clientNonce: randomBytes(32) };
      expect(verifyServerRefusal(crypto, other, refusal as ServerRefusal, replicaKey)).toBe(false);
      expect((await withTimeout(closed, 2000, 'close'))[0]).toBe(REFUSAL_CLOSE_CODES[expected]);
    }
    expect(replica.connected()).not.toContain(bob.peer);
  });

  it('does not believe a refusal the replica dialled did not sign (BAD_SIGNATURE, not told)', async () => {
    network = webSocketNetwork(cluster);
    // A fake replica:0 with mallory's key, whose own directory has no alice: it refuses her, signing
    // with a key that is not replica 0's.
    const fakeDirectory: Directory = {
      replicas: cluster.directory.replicas.map((entry) =>
        entry.id === 0 ? { ...entry, publicKey: cluster.outsider.publicKey } : entry,
      ),
      agents: [cluster.directory.agents[1] as AgentEntry],
    };
    const fake = network.create(
      { peer: replicaPeer(0), secretKey: cluster.outsider.secretKey },
      fakeDirectory,
    );
    await fake.start();
    const alice = network.create(cluster.agents[0] as Identity);
    const refusals: RefusalReason[] = [];
    alice.onRefused((_, reason) => refusals.push(reason));
    await alice.start();
    await waitFor('the fake refusal refused', () => alice.stats().rejected.BAD_SIGNATURE >= 1);
    expect(fake.stats().rejected.UNKNOWN_AGENT).toBeGreaterThanOrEqual(1);
    expect(refusals).toEqual([]);
    expect(alice.stats().rejected.UNKNOWN_AGENT).toBe(0);
  });

  it('refuses a server that answers as another replica, or cannot prove it is the replica dialled', async () => {
    network = webSocketNetwork(cluster);
    const realZero = network.create(cluster.replicas[0] as Identity);
    await realZero.start();
    // A fake replica:1 that holds mallory's key (its own directory says so).
    const fakeDirectory: Directory = {
      replicas: cluster.directory.replicas.map((entry) =>
        entry.id === 1 ? { ...entry, publicKey: cluster.outsider.publicKey } : entry,
      ),
      agents: cluster.directory.agents,
    };
    const fakeOne = network.create(
      { peer: replicaPeer(1), secretKey: cluster.outsider.secretKey },
      fakeDirectory,
    );
    await fakeOne.start();
    const zeroPort = network.portOf(0);
    const fakePort = network.portOf(1);
    // bob dials replica:1 at replica 0's address, and replica:2 at the impostor's.
    const bob = webSocketTransport({
      identity: cluster.agents[1] as Identity,
      directory: cluster.directory,
      crypto,
      reconnect: { initialMs: 10, maxMs: 50 },
      addressOf: (id) =>
        id === 1
          ? { host: LOCALHOST, port: zeroPort }
          : id === 3
            ? { host: LOCALHOST, port: fakePort }
            : undefined,
    });
    try {
      await bob.start();
      await waitFor('WRONG_PEER', () => bob.stats().rejected.WRONG_PEER >= 1);
      expect(bob.connected()).toEqual([]);
      // Pointing replica:1 at the impostor: it answers as replica:1 but its proof fails.
      const carol = webSocketTransport({
        identity: cluster.agents[0] as Identity,
        directory: cluster.directory,
        crypto,
        reconnect: { initialMs: 10, maxMs: 50 },
        addressOf: (id) => (id === 1 ? { host: LOCALHOST, port: fakePort } : undefined),
      });
      try {
        await carol.start();
        await waitFor('BAD_SIGNATURE at the client', () => carol.stats().rejected.BAD_SIGNATURE >= 1);
        expect(carol.connected()).toEqual([]);
      } finally {
        await carol.close();
      }
    } finally {
      await bob.close();
    }
  });

  it('closes and counts a text message after the handshake', async () => {
    const { replica, alice, port } = await replicaWithAlice();
    const client = await rawAuthenticated(port, cluster.agents[1] as Identity, cluster.directory);
    client.socket.send('hello, in text');
    await withTimeout(client.closed, 2000, 'close after text');
    expect(replica.stats().rejected.NOT_BINARY).toBe(1);
    await stillServes(replica, alice);
  });

  it('refuses and counts a frame without its channel tag after the handshake (BAD_MAC), delivering nothing', async () => {
    const { replica, alice, port } = await replicaWithAlice();
    const inbox = record(replica);
    const client = await rawAuthenticated(port, cluster.agents[1] as Identity, cluster.directory);
    // What a v1 peer, or an attacker who took over the TCP connection, would send: a bare frame.
    client.socket.send(text('a frame the handshake never vouched for'));
    await withTimeout(client.closed, 2000, 'close after an unauthenticated frame');
    expect(replica.stats().rejected.BAD_MAC).toBe(1);
    expect(inbox).toHaveLength(0);
    await stillServes(replica, alice);
  });

  it('delivers a sealed frame once, and refuses the same message sent again (BAD_MAC)', async () => {
    const { replica, port } = await replicaWithAlice();
    const inbox = record(replica);
    const client = await rawAuthenticated(port, cluster.agents[1] as Identity, cluster.directory);
    const message = client.channel.seal(text('pay bob 10'));
    client.socket.send(message);
    await waitFor('the genuine frame', () => inbox.length === 1);
    client.socket.send(message);
    await withTimeout(client.closed, 2000, 'close after a replayed message');
    expect(replica.stats().rejected.BAD_MAC).toBe(1);
    expect(inbox.map((received) => new TextDecoder().decode(received.frame))).toEqual(['pay bob 10']);
    expect(replica.stats().framesIn).toBe(1);
  });

  it('passes an agent message of exactly agentFrameBytesMax and closes and counts one byte more', async () => {
    const { replica, port } = await replicaWithAlice();
    const inbox = record(replica);
    const client = await rawAuthenticated(port, cluster.agents[1] as Identity, cluster.directory);
    const agentMax = COMPLIANCE_LIMITS.agentFrameBytesMax;
    client.socket.send(client.channel.seal(new Uint8Array(agentMax).fill(1)));
    await waitFor('the largest agent frame', () => inbox.length === 1);
    expect(inbox[0]?.from).toBe('agent:bob');
    expect(inbox[0]?.frame.byteLength).toBe(agentMax);
    // Far below a replica's frameBytesMax, and refused by ws from the length in the frame header
    // (WS_ERR_UNSUPPORTED_MESSAGE_LENGTH), so the body is never buffered nor its tag checked.
    expect(agentMax + 1).toBeLessThan(COMPLIANCE_LIMITS.frameBytesMax);
    client.socket.send(client.channel.seal(new Uint8Array(agentMax + 1)));
    await withTimeout(client.closed, 2000, 'close after an oversized agent message');
    expect(replica.stats().rejected.TOO_LARGE).toBe(1);
    expect(replica.stats().rejected.BAD_MAC).toBe(0);
    expect(inbox).toHaveLength(1);
  });

  it('a dialer refuses a handshake message over HANDSHAKE_BYTES_MAX from a server not yet proven', async () => {
    network = webSocketNetwork(cluster);
    // A fake replica 0: it answers the upgrade, then sends 2 KiB instead of a hello.
    const fake = new WebSocketServer({ host: LOCALHOST, port: 0 });
    await new Promise<void>((resolve) => fake.once('listening', () => resolve()));
    fake.on('connection', (socket) => socket.send(new Uint8Array(2 * HANDSHAKE_BYTES_MAX)));
    const fakePort = (fake.address() as AddressInfo).port;
    try {
      const alice = network.create(cluster.agents[0] as Identity, cluster.directory, {
        addressOf: (id) => (id === 0 ? { host: LOCALHOST, port: fakePort } : undefined),
      });
      await alice.start();
      await waitFor('the oversized hello refused', () => alice.stats().rejected.TOO_LARGE >= 1);
      expect(alice.stats().rejected.HANDSHAKE_FAILED).toBe(0);
      expect(alice.connected()).toEqual([]);
    } finally {
      for (const client of fake.clients) client.terminate();
      await new Promise<void>((resolve) => fake.close(() => resolve()));
    }
  });

  it('refuses a client proof whose 5-byte header declares a huge array, counted, and keeps serving', async () => {
    const { replica, alice, port } = await replicaWithAlice();
    const attempts = 8;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const client = await rawHello(port);
      client.socket.send(new Uint8Array([0xdd, 0x01, 0x00, 0x00, 0x00])); // array32 of 2^24
      await withTimeout(client.closed, 2000, 'close after a hostile array header');
    }
    await waitFor(
      'every hostile header counted',
      () => replica.stats().rejected.HANDSHAKE_FAILED === attempts,
    );
    expect(replica.stats().handshakesPending).toBe(0);
    await stillServes(replica, alice);
  });

  it('refuses a handshake message over HANDSHAKE_BYTES_MAX before buffering a whole frame', async () => {
    const { replica } = await replicaWithAlice();
    const client = await rawHello(network.portOf(0));
    client.socket.send(new Uint8Array(HANDSHAKE_BYTES_MAX + 1));
    await withTimeout(client.closed, 2000, 'close after an oversized handshake message');
    expect(replica.stats().rejected.TOO_LARGE).toBe(1);
  });

  it('survives random bytes in place of a handshake, closing and counting each', async () => {
    const { replica, alice, port } = await replicaWithAlice();
    const handshakeReasons = () => {
      const { HANDSHAKE_FAILED, UNKNOWN_PEER, UNKNOWN_AGENT, BAD_SIGNATURE, NOT_BINARY, TOO_LARGE } =
        replica.stats().rejected;
      return HANDSHAKE_FAILED + UNKNOWN_PEER + UNKNOWN_AGENT + BAD_SIGNATURE + NOT_BINARY + TOO_LARGE;
    };
    const canonicalTuple = fc
      .array(
        fc.oneof(
          fc.integer({ min: -5, max: 5 }),
          fc.constantFrom('agent:alice', 'agent:bob', 'replica:0', 'replica:1', 'agent:mallory', ''),
          fc.uint8Array({ minLength: 0, maxLength: 70 }),
          fc.constant(null),
        ),
        { maxLength: 5 },
      )
      .map((items) => ({ kind: 'binary' as const, bytes: packTuple(items) }));
    const message = fc.oneof(
      fc.uint8Array({ maxLength: 2048 }).map((bytes) => ({ kind: 'binary' as const, bytes })),
      canonicalTuple,
      fc
        .tuple(fc.constantFrom('agent:alice', 'replica:1', 'agent:nobody', 'replica:0'), fc.boolean())
        .map(([peer, longNonce]) => ({
          kind: 'binary' as const,
          bytes: packTuple([
            2,
            peer,
            new Uint8Array(longNonce ? 33 : 32),
            new Uint8Array(32),
            new Uint8Array(64),
          ]),
        })),
      fc.string({ maxLength: 100 }).map((value) => ({ kind: 'text' as const, value })),
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(message, async (input) => {
        runs++;
        const client = await rawHello(port);
        if (input.kind === 'text') client.socket.send(input.value);
        else client.socket.send(input.bytes);
        await withTimeout(client.closed, 2000, 'the server to close a bad handshake');
      }),
      { numRuns: 60, seed: 1234 },
    );
    await waitFor('every bad handshake counted', () => handshakeReasons() === runs);
    expect(replica.stats().handshakesPending).toBe(0);
    await stillServes(replica, alice);
  });

  it('survives random bytes that are not even HTTP', async () => {
    const { replica, alice, port } = await replicaWithAlice();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 1024 }), async (bytes) => {
        const socket = connect(port, LOCALHOST);
        socket.on('error', () => {});
        const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
        socket.write(bytes);
        socket.end();
        await withTimeout(ended, 2000, 'the server to drop garbage');
      }),
      { numRuns: 20, seed: 99 },
    );
    await stillServes(replica, alice);
  });

  it('bounds a flood of connections from many hosts that never handshake by evicting the stalest, and keeps serving', async () => {
    const pendingMax = 4;
    // A deadline far beyond the test: only eviction can let the newcomer in.
    const { replica, alice, port } = await replicaWithAlice({
      handshakesPendingMax: pendingMax,
      handshakeTimeoutMs: 60_000,
    });
    const flood = Array.from({ length: 12 }, (_, i) => rawClient(port, strangerAddress(i)));
    await waitFor(
      'the stalest evicted',
      () => replica.stats().rejected.HANDSHAKE_EVICTED === 12 - pendingMax,
    );
    expect(replica.stats().handshakesPending).toBe(pendingMax);
    expect(replica.stats().rejected.TOO_MANY_CONNECTIONS).toBe(0);
    // The first sockets were pushed out, the last ones hold the slots.
    await waitFor('the evicted sockets closed', () => flood.slice(0, 8).every((client) => client.isClosed()));
    expect(flood.slice(8).some((client) => client.isClosed())).toBe(false);
    await stillServes(replica, alice);
    // An honest newcomer gets in at once, pushing out one more stale socket.
    const bob = network.create(cluster.agents[1] as Identity);
    await bob.start();
    await waitConnected(replica, [bob.self], 2000);
    expect(replica.stats().rejected.HANDSHAKE_TIMEOUT).toBe(0);
    expect(replica.stats().handshakesPending).toBeLessThanOrEqual(pendingMax);
  });

  it('lets an honest agent in quickly past more stalled sockets from many hosts than the default handshake slots', async () => {
    const { replica, port } = await replicaWithAlice({ handshakeTimeoutMs: 60_000 });
    const stalled = WEBSOCKET_DEFAULTS.handshakesPendingMax + 16;
    const flood = Array.from({ length: stalled }, (_, i) => rawClient(port, strangerAddress(i)));
    await waitFor(
      'every stalled socket in or evicted',
      () => replica.stats().handshakesPending + replica.stats().rejected.HANDSHAKE_EVICTED === stalled,
    );
    expect(replica.stats().handshakesPending).toBe(WEBSOCKET_DEFAULTS.handshakesPendingMax);
    const startedMs = Date.now();
    const bob = network.create(cluster.agents[1] as Identity);
    await bob.start();
    await waitConnected(replica, [bob.self], 2000);
    expect(Date.now() - startedMs).toBeLessThan(2000);
    for (const client of flood) client.socket.terminate();
  });

  it('keeps frames on one connection when a second one to the same peer comes up', async () => {
    network = webSocketNetwork(cluster);
    let dialAllowed = false;
    const sender = network.create(cluster.replicas[0] as Identity, cluster.directory, {
      addressOf: (id) => (dialAllowed && id === 1 ? { host: LOCALHOST, port: network.portOf(1) } : undefined),
    });
    const receiver = network.create(cluster.replicas[1] as Identity);
    const inbox = record(receiver);
    await sender.start();
    await receiver.start();
    // Only the receiver's connection exists; fill it while the receiver does not read.
    await waitConnected(sender, [receiver.self]);
    network.pause(receiver.self);
    const frameBytes = 32 * 1024;
    let sent = 0;
    for (; sent < 40; sent++)
      expect(sender.send(receiver.self, numberedFrame(sent, frameBytes))).toBe('queued');
    // Now the sender's own connection comes up too; later frames must not overtake earlier ones.
    dialAllowed = true;
    await waitFor('a second connection', () => sender.stats().connections === 2);
    for (; sent < 60; sent++)
      expect(sender.send(receiver.self, numberedFrame(sent, frameBytes))).toBe('queued');
    network.resume(receiver.self);
    await waitFor(`${sent} frames`, () => inbox.length === sent);
    expect(inbox.map((received) => frameNumber(received.frame))).toEqual(
      Array.from({ length: sent }, (_, i) => i),
    );
  });

  it('refuses connections over connectionsMax, and admits again once one closes', async () => {
    const { replica, alice } = await replicaWithAlice({ connectionsMax: 1 });
    const bob = network.create(cluster.agents[1] as Identity);
    await bob.start();
    await waitFor('bob refused', () => replica.stats().rejected.TOO_MANY_CONNECTIONS >= 1);
    expect(replica.connected()).toEqual([alice.self]);
    await alice.close();
    await waitConnected(replica, [bob.self]);
    expect(replica.stats().connections).toBe(1);
  });

  it('closes and counts a connection whose peer stops answering pings', async () => {
    network = webSocketNetwork(cluster, { pingIntervalMs: 50 });
    const first = network.create(cluster.replicas[0] as Identity);
    const second = network.create(cluster.replicas[1] as Identity);
    await first.start();
    await second.start();
    await waitConnected(first, [second.self]);
    network.pause(second.self);
    await waitFor('PING_TIMEOUT', () => first.stats().rejected.PING_TIMEOUT >= 1, 2000);
    network.resume(second.self);
  });

  it('fails to listen on a port in use with ADDRESS_IN_USE', async () => {
    network = webSocketNetwork(cluster);
    const first = network.create(cluster.replicas[0] as Identity);
    await first.start();
    const second = network.create(cluster.replicas[1] as Identity, cluster.directory, {
      listenPort: network.portOf(0),
    });
    const error = await second.start().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ code: 'ADDRESS_IN_USE' });
    await second.close();
  });

  it('refuses options that cannot work, at creation', () => {
    const base = { identity: cluster.replicas[0] as Identity, directory: cluster.directory, crypto };
    expect(() => webSocketTransport({ ...base, frameBytesMax: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => webSocketTransport({ ...base, frameBytesMax: 2048, sendQueueBytesMax: 1024 })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => webSocketTransport({ ...base, tls: { ca: 'x' } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    // No default backend: a caller that forgets crypto (e.g. from JavaScript) is told at once.
    const { crypto: _, ...withoutCrypto } = base;
    expect(() => webSocketTransport(withoutCrypto as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => webSocketTransport({ ...base, crypto: { sign: crypto.sign } as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});

// ---- an on-path attacker ----

type StreamDirection = 'toClient' | 'toServer';

/**
 * A TCP proxy in front of one listener that can tamper with what it forwards, as an attacker on
 * the network path can without TLS. Tampering is armed for one direction; offsets count that
 * direction's bytes from the moment it is armed, so the test must arm it while nothing is in
 * flight (connections up, pings off) and then make exactly one message cross.
 */
async function tamperingProxy(targetPort: number) {
  const hooks: Record<StreamDirection, ((chunk: Buffer) => Buffer) | undefined> = {
    toClient: undefined,
    toServer: undefined,
  };
  const pipes = new Set<{ readonly client: Socket; readonly server: Socket }>();
  let latest: { readonly client: Socket; readonly server: Socket } | undefined;
  const listener = createServer((client) => {
    const server = connect(targetPort, LOCALHOST);
    const pipe = { client, server };
    pipes.add(pipe);
    latest = pipe;
    for (const socket of [client, server]) {
      socket.on('error', () => {});
      socket.on('close', () => {
        pipes.delete(pipe);
        client.destroy();
        server.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => server.write(hooks.toServer?.(chunk) ?? chunk));
    server.on('data', (chunk: Buffer) => client.write(hooks.toClient?.(chunk) ?? chunk));
  });
  await new Promise<void>((resolve) => listener.listen(0, LOCALHOST, resolve));
  const address = listener.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    port: address.port,
    /** TCP connections through the proxy now. */
    pipes: () => pipes.size,
    /** Flips the lowest bit of the byte at `offset` in `direction`'s stream, once. */
    flipByte(direction: StreamDirection, offset: number): void {
      let remaining = offset;
      hooks[direction] = (chunk) => {
        if (remaining >= chunk.byteLength) {
          remaining -= chunk.byteLength;
          return chunk;
        }
        const changed = Buffer.from(chunk);
        changed[remaining] = (changed[remaining] as number) ^ 1;
        hooks[direction] = undefined;
        return changed;
      };
    },
    /** The next `byteLength` bytes of `direction`'s stream, forwarded unchanged and kept for a replay. */
    capture(direction: StreamDirection, byteLength: number): Promise<Buffer> {
      return new Promise((resolve) => {
        const chunks: Buffer[] = [];
        let captured = 0;
        hooks[direction] = (chunk) => {
          chunks.push(chunk);
          captured += chunk.byteLength;
          if (captured >= byteLength) {
            hooks[direction] = undefined;
            resolve(Buffer.concat(chunks).subarray(0, byteLength));
          }
          return chunk;
        };
      });
    },
    /** Writes `bytes` into `direction`'s stream of the newest connection, as if its sender had. */
    inject(direction: StreamDirection, bytes: Uint8Array): void {
      const pipe = latest as NonNullable<typeof latest>;
      (direction === 'toClient' ? pipe.client : pipe.server).write(bytes);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const pipe of pipes) {
          pipe.client.destroy();
          pipe.server.destroy();
        }
        listener.close(() => resolve());
      }),
  };
}

/** Bytes before the payload of a WebSocket frame of under 126 bytes: 2, plus a 4-byte mask from clients. */
const SERVER_HEADER_BYTES = 2;
const CLIENT_HEADER_BYTES = 6;

describe('WebSocket transport: channel MAC against an on-path attacker', () => {
  const cluster = testCluster(4);
  let network: ReturnType<typeof webSocketNetwork>;
  let proxy: Awaited<ReturnType<typeof tamperingProxy>> | undefined;
  afterEach(async () => {
    await network.closeAll();
    await proxy?.close();
    proxy = undefined;
  });

  /** Replica 0, and alice connected to it through the proxy (her only link). */
  async function aliceThroughProxy() {
    // No pings: the proxy's offsets must see only the messages the test sends.
    network = webSocketNetwork(cluster, { pingIntervalMs: 60_000 });
    const replica = network.create(cluster.replicas[0] as Identity);
    await replica.start();
    const tamperer = await tamperingProxy(network.portOf(0));
    proxy = tamperer;
    const alice = network.create(cluster.agents[0] as Identity, cluster.directory, {
      addressOf: (id) => (id === 0 ? { host: LOCALHOST, port: tamperer.port } : undefined),
    });
    const aliceEvents: [PeerId, boolean][] = [];
    alice.onPeer?.((peer, up) => aliceEvents.push([peer, up]));
    await alice.start();
    await waitConnected(alice, [replica.self]);
    await waitConnected(replica, [alice.self]);
    return {
      replica,
      alice,
      aliceEvents,
      proxy: tamperer,
      aliceInbox: record(alice),
      replicaInbox: record(replica),
    };
  }

  /** The tampered connection closed, alice redialled through a fresh handshake, and frames flow both ways. */
  async function expectRecovery(setup: Awaited<ReturnType<typeof aliceThroughProxy>>) {
    const { replica, alice, aliceEvents, aliceInbox, replicaInbox } = setup;
    await waitFor('alice to see the connection go down and come back', () => {
      const down = aliceEvents.findIndex(([peer, up]) => peer === replica.self && !up);
      return down >= 0 && aliceEvents.slice(down).some(([peer, up]) => peer === replica.self && up);
    });
    await waitFor(
      'one fresh connection, at both ends',
      () =>
        replica.stats().connections === 1 &&
        replica.connected().includes(alice.self) &&
        alice.connected().includes(replica.self) &&
        setup.proxy.pipes() === 1,
    );
    const aliceBefore = aliceInbox.length;
    const replicaBefore = replicaInbox.length;
    expect(replica.send(alice.self, text('after reconnect'))).toBe('queued');
    expect(alice.send(replica.self, text('me too'))).toBe('queued');
    await waitFor(
      'frames both ways after reconnect',
      () => aliceInbox.length === aliceBefore + 1 && replicaInbox.length === replicaBefore + 1,
    );
    expect(aliceInbox.at(-1)).toEqual({ from: replica.self, frame: text('after reconnect') });
    expect(replicaInbox.at(-1)).toEqual({ from: alice.self, frame: text('me too') });
    expect(alice.stats().reconnects).toBeGreaterThan(0);
  }

  it('drops a server → client frame with one flipped byte (BAD_MAC), closes, and recovers on a new handshake', async () => {
    const setup = await aliceThroughProxy();
    const { replica, alice, aliceInbox } = setup;
    expect(replica.send(alice.self, text('genuine'))).toBe('queued');
    await waitFor('the genuine frame', () => aliceInbox.length === 1);
    // The 11th byte of the next frame, not of its header or tag: the frame itself is protected.
    const frame = numberedFrame(7, 100);
    setup.proxy.flipByte('toClient', SERVER_HEADER_BYTES + 10);
    expect(replica.send(alice.self, frame)).toBe('queued');
    await waitFor('BAD_MAC at alice', () => alice.stats().rejected.BAD_MAC === 1);
    expect(aliceInbox).toHaveLength(1);
    expect(alice.stats().framesIn).toBe(1);
    await expectRecovery(setup);
    // The tampered frame was never delivered, before or after the reconnect.
    expect(aliceInbox.map((received) => received.frame.byteLength)).not.toContain(frame.byteLength);
    expect(replica.stats().rejected.BAD_MAC).toBe(0);
  });

  it('drops a client → server frame with one flipped byte (BAD_MAC), closes, and recovers', async () => {
    const setup = await aliceThroughProxy();
    const { replica, alice, replicaInbox } = setup;
    // Client frames are masked on the wire; flipping a masked byte flips the same bit of the frame.
    setup.proxy.flipByte('toServer', CLIENT_HEADER_BYTES + 10);
    expect(alice.send(replica.self, numberedFrame(3, 100))).toBe('queued');
    await waitFor('BAD_MAC at the replica', () => replica.stats().rejected.BAD_MAC === 1);
    expect(replicaInbox).toHaveLength(0);
    await expectRecovery(setup);
    expect(replicaInbox).toHaveLength(1);
  });

  it('drops a genuine message injected again into the same connection (a replay), delivering it once', async () => {
    const setup = await aliceThroughProxy();
    const { replica, alice, aliceInbox } = setup;
    const frame = numberedFrame(5, 100);
    const captured = setup.proxy.capture(
      'toClient',
      SERVER_HEADER_BYTES + frame.byteLength + CHANNEL_TAG_BYTES,
    );
    expect(replica.send(alice.self, frame)).toBe('queued');
    const message = await withTimeout(captured, 2000, 'the message on the wire');
    await waitFor('the genuine frame', () => aliceInbox.length === 1);
    setup.proxy.inject('toClient', message);
    await waitFor('BAD_MAC at alice', () => alice.stats().rejected.BAD_MAC === 1);
    await expectRecovery(setup);
    // The frame once, then the one sent after the reconnect: the replay was never delivered.
    expect(aliceInbox).toEqual([
      { from: replica.self, frame },
      { from: replica.self, frame: text('after reconnect') },
    ]);
  });

  it('drops bytes injected as a forged message (BAD_MAC) and delivers nothing of them', async () => {
    const setup = await aliceThroughProxy();
    const { alice, aliceInbox } = setup;
    const forged = Buffer.concat([text('from replica:0, honest'), new Uint8Array(CHANNEL_TAG_BYTES)]);
    setup.proxy.inject('toClient', Buffer.concat([Buffer.from([0x82, forged.byteLength]), forged]));
    await waitFor('BAD_MAC at alice', () => alice.stats().rejected.BAD_MAC === 1);
    expect(aliceInbox).toHaveLength(0);
    await expectRecovery(setup);
  });
});

describe('WebSocket transport: TLS', () => {
  const cluster = testCluster(4);
  let pems: { cert: string; private: string };
  let network: ReturnType<typeof webSocketNetwork>;
  beforeAll(async () => {
    pems = await generate([{ name: 'commonName', value: 'conclave-test' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: LOCALHOST }] }],
    });
  });
  afterEach(async () => {
    await network.closeAll();
  });

  it('exchanges frames over wss between replicas and with an agent that trusts the certificate', async () => {
    const tls = { cert: pems.cert, key: pems.private, ca: pems.cert };
    network = webSocketNetwork(cluster, { tls });
    const first = network.create(cluster.replicas[0] as Identity);
    const second = network.create(cluster.replicas[1] as Identity);
    const alice = network.create(cluster.agents[0] as Identity, cluster.directory, {
      tls: { ca: pems.cert },
    });
    for (const transport of [first, second, alice]) await transport.start();
    await waitConnected(first, [second.self, alice.self]);
    await waitConnected(alice, [first.self, second.self]);
    const secondInbox = record(second);
    const aliceInbox = record(alice);
    expect(first.send(second.self, text('over tls'))).toBe('queued');
    expect(first.send(alice.self, text('reply over tls'))).toBe('queued');
    await waitFor('frames over wss', () => secondInbox.length === 1 && aliceInbox.length === 1);
    expect(secondInbox[0]?.from).toBe(first.self);
    expect(aliceInbox[0]?.from).toBe(first.self);

    // An agent that does not trust the certificate, or speaks plain ws, never gets in.
    const bob = network.create(cluster.agents[1] as Identity, cluster.directory, { tls: {} });
    const plain = webSocketTransport({
      identity: cluster.agents[1] as Identity,
      directory: cluster.directory,
      crypto,
      reconnect: { initialMs: 10, maxMs: 50 },
      addressOf: () => ({ host: LOCALHOST, port: network.portOf(0) }),
    });
    try {
      await bob.start();
      await plain.start();
      await waitFor(
        'several failed dials',
        () => bob.stats().reconnects >= 3 && plain.stats().reconnects >= 3,
      );
      expect(bob.connected()).toEqual([]);
      expect(plain.connected()).toEqual([]);
      expect(first.connected()).not.toContain(bob.self);
    } finally {
      await plain.close();
    }
  });
});

describe('WebSocket transport: sockets after close', () => {
  it('leaves no handler running once closed while dials are failing', async () => {
    const cluster = testCluster(4);
    const agent = webSocketTransport({
      identity: cluster.agents[0] as Identity,
      directory: cluster.directory,
      crypto,
      reconnect: { initialMs: 5, maxMs: 20 },
      addressOf: () => ({ host: LOCALHOST, port: 1 }),
    });
    let events = 0;
    agent.onPeer?.(() => events++);
    await agent.start();
    await sleep(50);
    const reconnects = agent.stats().reconnects;
    expect(reconnects).toBeGreaterThan(0);
    await agent.close();
    await sleep(60);
    expect(agent.stats().reconnects).toBe(reconnects);
    expect(events).toBe(0);
  });
});
