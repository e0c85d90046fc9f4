"""One host's port onto the emulated wide-area network (run inside the host's network namespace).

Why not tc netem: some kernels (this project's CI machine among them) are built without
CONFIG_NET_SCH_NETEM. This does netem's job in user space instead: it creates a TUN device
holding the host's address, reads every IP packet the host sends, and after the one-way delay
(plus uniform jitter, order kept per destination), unless it is lost, hands it over a Unix
datagram socket to the destination host's port, which writes it into that host's TUN. Unix
sockets are named by path, not network, so ports in different namespaces reach each other.

SIGUSR1 cuts this host off (everything in and out is dropped); SIGUSR2 heals it.
Prints "ready" once the address is up. Exits when stdin closes.
"""

import argparse
import fcntl
import heapq
import os
import random
import selectors
import signal
import socket
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

parser = argparse.ArgumentParser()
parser.add_argument("--ip", required=True)
parser.add_argument("--dir", required=True)
parser.add_argument("--delay", type=float, required=True)
parser.add_argument("--jitter", type=float, default=0.0)
parser.add_argument("--loss", type=float, default=0.0)
args = parser.parse_args()

tun = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", b"tun0", IFF_TUN | IFF_NO_PI))
for command in (
    ["ip", "link", "set", "lo", "up"],
    ["ip", "addr", "add", args.ip + "/24", "dev", "tun0"],
    ["ip", "link", "set", "tun0", "up"],
):
    subprocess.run(command, check=True)


def path_of(address):
    return os.path.join(args.dir, address + ".sock")


own_path = path_of(args.ip)
if os.path.exists(own_path):
    os.unlink(own_path)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
sock.bind(own_path)
sock.setblocking(False)

cut = False


def on_cut(*_):
    global cut
    cut = True


def on_heal(*_):
    global cut
    cut = False


signal.signal(signal.SIGUSR1, on_cut)
signal.signal(signal.SIGUSR2, on_heal)

selector = selectors.DefaultSelector()
selector.register(tun, selectors.EVENT_READ, "tun")
selector.register(sock, selectors.EVENT_READ, "sock")
selector.register(sys.stdin, selectors.EVENT_READ, "stdin")

queue = []  # (due, sequence, destination path, packet)
last_due = {}
sequence = 0
print("ready", flush=True)

while True:
    now = time.monotonic()
    while queue and queue[0][0] <= now:
        _, _, destination, packet = heapq.heappop(queue)
        if cut:
            continue
        try:
            sock.sendto(packet, destination)
        except OSError:
            pass  # No such host, or its queue is full: lost, as on a wire.
    timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else 1.0
    for key, _ in selector.select(timeout):
        if key.data == "stdin":
            if not sys.stdin.buffer.read1(4096):
                sys.exit(0)
        elif key.data == "sock":
            while True:
                try:
                    packet = sock.recv(65536)
                except BlockingIOError:
                    break
                if not cut:
                    try:
                        os.write(tun, packet)
                    except OSError:
                        pass
        else:
            while True:
                try:
                    packet = os.read(tun, 65536)
                except BlockingIOError:
                    break
                if cut or len(packet) < 20 or packet[0] >> 4 != 4:
                    continue
                if random.random() * 100 < args.loss:
                    continue
                destination = path_of(socket.inet_ntoa(packet[16:20]))
                due = time.monotonic() + (args.delay + random.uniform(-args.jitter, args.jitter)) / 1000
                # Order kept per destination, as on one path: jitter must not reorder TCP segments.
                due = max(due, last_due.get(destination, 0.0))
                last_due[destination] = due
                sequence += 1
                heapq.heappush(queue, (due, sequence, destination, packet))
