#!/usr/bin/env python3
"""port-linker bench: a userspace slow, lossy link (this kernel has no netem).

Opens one TUN device in the current (root) network namespace and one inside NS, gives them the
two addresses of a /30-or-wider subnet, and copies IP packets between them, holding each packet
for a fixed one-way delay and dropping a random fraction. Devices vanish when the process exits;
it also exits when its parent dies or after --max-seconds.

  root ns  DEV_A  ADDR_A   --(delay, loss)-->   DEV_B  ADDR_B  in NS
           DEV_A           <--(rdelay, rloss)--  DEV_B

Prints "wan-relay ready" once both ends are up, and a counter line on exit.
"""
import argparse
import collections
import ctypes
import fcntl
import os
import random
import select
import signal
import struct
import subprocess
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1

libc = ctypes.CDLL(None, use_errno=True)


def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def enter_netns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def ip(*args):
    subprocess.run(["ip", *args], check=True)


class Direction:
    """Packets read from src, written to dst after `delay` seconds unless dropped."""

    def __init__(self, src, dst, delay, loss, limit):
        self.src, self.dst, self.delay, self.loss, self.limit = src, dst, delay, loss, limit
        self.queue = collections.deque()
        self.counts = {"in": 0, "lost": 0, "overflow": 0, "out": 0}

    def read(self, now):
        for _ in range(128):
            try:
                pkt = os.read(self.src, 65535)
            except BlockingIOError:
                return
            self.counts["in"] += 1
            if self.loss > 0 and random.random() < self.loss:
                self.counts["lost"] += 1
            elif len(self.queue) >= self.limit:
                self.counts["overflow"] += 1
            else:
                self.queue.append((now + self.delay, pkt))

    def flush(self, now):
        """Writes due packets; returns when the next one is due (or None)."""
        q = self.queue
        while q and q[0][0] <= now:
            try:
                os.write(self.dst, q[0][1])
            except BlockingIOError:
                return now + 0.0005
            except OSError:
                pass  # device went down: drop the packet
            q.popleft()
            self.counts["out"] += 1
        return q[0][0] if q else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ns", required=True, help="existing network namespace (ip netns name)")
    ap.add_argument("--dev-a", required=True)
    ap.add_argument("--dev-b", required=True)
    ap.add_argument("--addr-a", required=True, help="CIDR address of the root-side end")
    ap.add_argument("--addr-b", required=True, help="CIDR address of the NS-side end")
    ap.add_argument("--delay-ms", type=float, default=50.0, help="A->B one-way delay")
    ap.add_argument("--loss", type=float, default=0.01, help="A->B drop probability")
    ap.add_argument("--rdelay-ms", type=float, default=0.0, help="B->A one-way delay")
    ap.add_argument("--rloss", type=float, default=0.0, help="B->A drop probability")
    ap.add_argument("--limit", type=int, default=1000, help="packets queued per direction (netem's default)")
    ap.add_argument("--max-seconds", type=float, default=1800.0)
    ap.add_argument("--seed", type=int, default=7)
    o = ap.parse_args()
    random.seed(o.seed)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    a = tun(o.dev_a)
    target = os.open(f"/run/netns/{o.ns}", os.O_RDONLY)
    enter_netns(target)
    b = tun(o.dev_b)
    enter_netns(home)
    os.close(target)
    ip("addr", "add", o.addr_a, "dev", o.dev_a)
    ip("link", "set", o.dev_a, "up")
    ip("-n", o.ns, "addr", "add", o.addr_b, "dev", o.dev_b)
    ip("-n", o.ns, "link", "set", o.dev_b, "up")

    running = [True]
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: running.__setitem__(0, False))

    dirs = {
        a: Direction(a, b, o.delay_ms / 1000, o.loss, o.limit),
        b: Direction(b, a, o.rdelay_ms / 1000, o.rloss, o.limit),
    }
    ep = select.epoll()
    ep.register(a, select.EPOLLIN)
    ep.register(b, select.EPOLLIN)
    print("wan-relay ready", flush=True)
    end = time.monotonic() + o.max_seconds
    while running[0]:
        now = time.monotonic()
        if now >= end:
            break
        due = [t for t in (d.flush(now) for d in dirs.values()) if t is not None]
        timeout = min(due) - now if due else 0.2
        try:
            events = ep.poll(max(0.0, min(timeout, 0.2)))
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd, _ in events:
            dirs[fd].read(now)
    print("wan-relay A->B", dirs[a].counts, "B->A", dirs[b].counts, flush=True)


if __name__ == "__main__":
    main()
