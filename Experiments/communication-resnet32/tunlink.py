#!/usr/bin/env python3
"""User-space stand-in for `tc qdisc ... netem delay D rate R limit L`, for kernels built without sch_netem.

netem.sh routes every packet a router namespace forwards between the two parties through the TUN device
this program owns; it holds each packet as netem would and writes it back, and the kernel forwards it on.
Per direction (told apart by the IPv4 destination): a packet waits for the link to be free, is serialized at
the rate (wire bytes: IP packet + 14 bytes of Ethernet header per frame, as netem counts on a veth), then
travels the one-way delay; a packet that finds `limit` bytes already queued or in flight is dropped (a
router's tail drop). The device takes GSO super-packets (IFF_VNET_HDR + TUNSETOFFLOAD), so a 64 KB TCP
burst costs one read and one write; its wire bytes count every segment's headers.

Writes `ready` to --ready once the device exists, and its counters as JSON to --stats on SIGTERM or SIGINT
(per direction: reads, wire bytes, drops, the most bytes queued or in flight, and how late packets left:
a packet leaves some tens of microseconds late unless the process waits for a CPU, so netem.sh runs it
under a real-time policy where it can).
Standard library only.
"""
import argparse
import collections
import fcntl
import json
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
TUNSETOFFLOAD = 0x400454D0
IFF_TUN, IFF_NO_PI, IFF_VNET_HDR = 0x0001, 0x1000, 0x4000
TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6 = 0x01, 0x02, 0x04
VNET_HDR = 10          # struct virtio_net_hdr: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset
ETHERNET = 14


def wire_bytes(packet: bytes) -> int:
    """Bytes on an Ethernet link for one read: every GSO segment repeats the IP and TCP headers."""
    ip = memoryview(packet)[VNET_HDR:]
    _, gso_type, _, gso_size = struct.unpack_from("<BBHH", packet, 0)
    if gso_type == 0 or gso_size == 0 or len(ip) < 20 or ip[0] >> 4 != 4:
        return len(ip) + ETHERNET
    headers = (ip[0] & 0x0F) * 4
    if ip[9] == 6 and len(ip) >= headers + 20:          # TCP
        headers += (ip[headers + 12] >> 4) * 4
    elif ip[9] == 17:                                   # UDP (GSO_UDP_L4)
        headers += 8
    payload = max(len(ip) - headers, 0)
    segments = max(-(-payload // gso_size), 1)
    return len(ip) + (segments - 1) * headers + segments * ETHERNET


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", required=True)
    parser.add_argument("--rate-bps", type=float, required=True, help="bits per second, each direction")
    parser.add_argument("--delay-s", type=float, required=True, help="one-way delay, each direction")
    parser.add_argument("--limit-bytes", type=int, required=True, help="bytes queued or in flight, each direction")
    parser.add_argument("--forward-prefix", required=True,
                        help="IPv4 /24 prefix of the client side (e.g. 10.77.1.): packets to it are 'forward'")
    parser.add_argument("--ready", required=True)
    parser.add_argument("--stats", required=True)
    args = parser.parse_args()

    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", args.dev.encode(), IFF_TUN | IFF_NO_PI | IFF_VNET_HDR))
    fcntl.ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)
    forward = bytes(int(part) for part in args.forward_prefix.strip(".").split("."))

    directions = ("forward", "backward")
    queues = {d: collections.deque() for d in directions}     # (due time, wire bytes, packet)
    free_at = {d: 0.0 for d in directions}                     # when the link is free again
    queued = {d: 0 for d in directions}
    stats = {d: {"reads": 0, "bytes": 0, "dropped": 0, "dropped_bytes": 0, "max_queued_bytes": 0,
                 "late_ms_total": 0.0, "late_over_1ms": 0, "max_late_ms": 0.0} for d in directions}
    other = {"not_ipv4": 0, "write_errors": 0}

    def finish(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    with open(args.ready, "w") as ready:
        ready.write("ready\n")

    try:
        while True:
            # select, not epoll: its timeout has microseconds (epoll's is rounded up to a millisecond).
            due = [queues[d][0][0] for d in directions if queues[d]]
            timeout = max(min(due) - time.monotonic(), 0.0) if due else None
            if select.select([fd], [], [], timeout)[0]:
                while True:
                    try:
                        packet = os.read(fd, 70000)
                    except BlockingIOError:
                        break
                    now = time.monotonic()
                    if len(packet) < VNET_HDR + 20 or packet[VNET_HDR] >> 4 != 4:
                        other["not_ipv4"] += 1
                        try:
                            os.write(fd, packet)
                        except OSError:
                            other["write_errors"] += 1
                        continue
                    d = "forward" if packet[VNET_HDR + 16:VNET_HDR + 16 + len(forward)] == forward else "backward"
                    size = wire_bytes(packet)
                    s = stats[d]
                    if queued[d] + size > args.limit_bytes:
                        s["dropped"] += 1
                        s["dropped_bytes"] += size
                        continue
                    free_at[d] = max(now, free_at[d]) + size * 8 / args.rate_bps
                    queues[d].append((free_at[d] + args.delay_s, size, packet))
                    queued[d] += size
                    s["reads"] += 1
                    s["bytes"] += size
                    s["max_queued_bytes"] = max(s["max_queued_bytes"], queued[d])
            now = time.monotonic()
            for d in directions:
                queue = queues[d]
                while queue and queue[0][0] <= now:
                    when, size, packet = queue.popleft()
                    queued[d] -= size
                    late = (now - when) * 1e3
                    s = stats[d]
                    s["late_ms_total"] += late
                    s["late_over_1ms"] += late > 1
                    s["max_late_ms"] = max(s["max_late_ms"], late)
                    try:
                        os.write(fd, packet)
                    except OSError:
                        other["write_errors"] += 1
    except SystemExit:
        pass
    finally:
        for d in directions:
            s = stats[d]
            s["mean_late_ms"] = s.pop("late_ms_total") / max(s["reads"] - len(queues[d]), 1)
        with open(args.stats, "w") as out:
            json.dump({**stats, **other}, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
