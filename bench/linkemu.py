#!/usr/bin/env python3
"""A link between two network namespaces, in user space: a TUN device at each end, every IP
packet held for the one-way delay and paced to the rate (a token-bucket-free serialisation
queue, like a real link of that speed). For kernels without sch_netem (bench/bench_link.sh).

    linkemu.py --near tun-dms0 --far tun-dms1 --delay-ms 10 --mbit 100 --ready FILE

Creates both TUN devices (IFF_TUN, no packet info) and keeps them open; the caller moves them
into their namespaces and addresses them after FILE appears. Runs until SIGTERM.
"""
import argparse, fcntl, heapq, os, select, signal, struct, sys, time

TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--near", required=True)
    p.add_argument("--far", required=True)
    p.add_argument("--delay-ms", type=float, required=True, help="one-way delay (the RTT is twice it)")
    p.add_argument("--mbit", type=float, required=True, help="rate of each direction")
    p.add_argument("--ready", required=True)
    a = p.parse_args()
    near, far = open_tun(a.near), open_tun(a.far)
    other = {near: far, far: near}
    delay, bytes_per_s = a.delay_ms / 1000.0, a.mbit * 1e6 / 8
    # Per direction (keyed by the descriptor the packet goes out of): when the line is free.
    line_free = {near: 0.0, far: 0.0}
    due = []  # (time, seq, out_fd, packet)
    seq = 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(a.ready, "w") as f:
        f.write(f"{os.getpid()}\n")
    while True:
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, _, out, packet = heapq.heappop(due)
            try:
                os.write(out, packet)
            except (BlockingIOError, OSError):
                pass  # a full or downed device drops the packet, as a link would
        timeout = max(0.0, due[0][0] - now) if due else 1.0
        ready, _, _ = select.select([near, far], [], [], timeout)
        for fd in ready:
            for _ in range(64):
                try:
                    packet = os.read(fd, 65536)
                except BlockingIOError:
                    break
                out = other[fd]
                now = time.monotonic()
                start = max(now, line_free[out])
                line_free[out] = start + len(packet) / bytes_per_s
                seq += 1
                heapq.heappush(due, (line_free[out] + delay, seq, out, packet))


if __name__ == "__main__":
    main()
