#!/usr/bin/env python3
"""Turns off checksum and segmentation offloads on a network interface (the current netns).

Why: a veth hands its peer packets whose TCP/UDP checksum is only partial (CHECKSUM_PARTIAL) and
TCP segments of up to 64 KiB (TSO/GSO). A kernel receiver copes; a DPDK af_packet port does not:
it would forward the unfinished checksum and cannot take a frame larger than its ring slot.
The devices that transmit toward the daemon's af_packet ports therefore must finish checksums and
segment in software. Uses the legacy ethtool ioctls so that the ethtool package is not needed.

usage: offload.py IFNAME [IFNAME...]
"""
import ctypes
import fcntl
import socket
import struct
import sys

SIOCETHTOOL = 0x8946
# linux/ethtool.h legacy "set" commands; each takes struct ethtool_value { u32 cmd; u32 data; }.
SETTINGS = (
    ("tx-checksumming", 0x00000017),   # ETHTOOL_STXCSUM
    ("scatter-gather", 0x00000019),    # ETHTOOL_SSG
    ("tcp-segmentation", 0x0000001F),  # ETHTOOL_STSO
    ("generic-segmentation", 0x00000024),  # ETHTOOL_SGSO
    ("generic-receive", 0x0000002C),   # ETHTOOL_SGRO
)


def set_off(sock, ifname, cmd):
    value = ctypes.create_string_buffer(struct.pack("II", cmd, 0), 8)
    ifreq = struct.pack("16sP", ifname.encode(), ctypes.addressof(value))
    fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rc = 0
    for ifname in sys.argv[1:]:
        for name, cmd in SETTINGS:
            try:
                set_off(sock, ifname, cmd)
            except OSError as e:
                # GRO/SG may be fixed on some devices; a failure there is not fatal, but say so.
                print(f"offload.py: {ifname}: cannot turn off {name}: {e}", file=sys.stderr)
                if name in ("tx-checksumming", "tcp-segmentation"):
                    rc = 1
    sys.exit(rc)


if __name__ == "__main__":
    main()
