#!/usr/bin/env python3
"""Capture golden TCP/IP packets from the running Linux kernel.

Run as root from the repository root:

    python3 test/golden/capture.py            # writes test/golden/linux-packets.json

What it does: creates a network namespace `tcpw-gold-<pid>`, and inside it a TUN device (10.77.0.1/24,
fd77::1/64) that socat relays to a UDP socket on the namespace's loopback: every packet the kernel
routes to 10.77.0.0/24 or fd77::/64 arrives here as one datagram, and every datagram sent back enters
the kernel as a packet (see ../shared/TCP.md). This script plays the remote host 10.77.0.2 / fd77::2 by
writing raw IP packets it builds itself, and records what the kernel sends: its SYN, SYN+ACK (also with
ECN), the ACK that completes the handshake, a small and a full-sized data segment, a duplicate ACK carrying a SACK block, a FIN,
and a RST for a closed port and for an aborted connection, over IPv4 and IPv6.

The expected header fields stored next to each packet come from tshark reading a pcap of the captured
bytes, never from tcpwasm's own parser. The namespace, socat and temporary files are removed at the end,
also on failure or Ctrl-C.

Standard library only (no scapy), so any python3 >= 3.8 works.
"""

import argparse
import datetime
import errno
import json
import os
import platform
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

TUN_NAME = "tw0"
ENGINE_PORT = 7000  # our UDP end, inside the namespace
RELAY_PORT = 7001  # socat's UDP end, inside the namespace
KERNEL_V4, PEER_V4 = "10.77.0.1", "10.77.0.2"
KERNEL_V6, PEER_V6 = "fd77::1", "fd77::2"

FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80

# tshark fields stored as the expected decoding of each packet; -E occurrence=a keeps every occurrence
# (option kinds in order, several SACK blocks) joined by commas.
TSHARK_FIELDS_COMMON = [
    "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.hdr_len", "tcp.flags",
    "tcp.window_size_value", "tcp.urgent_pointer", "tcp.checksum", "tcp.checksum.status", "tcp.len",
    "tcp.option_kind", "tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.timestamp.tsval",
    "tcp.options.timestamp.tsecr", "tcp.options.sack_le", "tcp.options.sack_re",
]
TSHARK_FIELDS_V4 = [
    "ip.version", "ip.hdr_len", "ip.dsfield", "ip.len", "ip.id", "ip.flags.df", "ip.flags.mf",
    "ip.frag_offset", "ip.ttl", "ip.proto", "ip.checksum", "ip.checksum.status", "ip.src", "ip.dst",
]
TSHARK_FIELDS_V6 = ["ipv6.version", "ipv6.tclass", "ipv6.flow", "ipv6.plen", "ipv6.nxt", "ipv6.hlim",
                    "ipv6.src", "ipv6.dst"]


# ---------------------------------------------------------------------------------------------------
# Building and reading raw packets (RFC 791, RFC 8200, RFC 9293)

def internet_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcp_options(mss=None, sack_permitted=False, ts=None, wscale=None, sack_blocks=()):
    """Options laid out the way Linux lays them out, padded to 32 bits."""
    out = b""
    if mss is not None:
        out += struct.pack("!BBH", 2, 4, mss)
    if sack_permitted and ts is not None:
        out += struct.pack("!BBBBII", 4, 2, 8, 10, ts[0], ts[1])
    elif ts is not None:
        out += struct.pack("!BBBBII", 1, 1, 8, 10, ts[0], ts[1])
    elif sack_permitted:
        out += struct.pack("!BBBB", 1, 1, 4, 2)
    if wscale is not None:
        out += struct.pack("!BBBB", 1, 3, 3, wscale)
    if sack_blocks:
        out += struct.pack("!BBBB", 1, 1, 5, 2 + 8 * len(sack_blocks))
        for left, right in sack_blocks:
            out += struct.pack("!II", left, right)
    return out


def build_packet(family, src, dst, sport, dport, seq, ack, flags, window=64240, options=b"", payload=b""):
    assert len(options) % 4 == 0
    offset = (20 + len(options)) // 4
    header = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, offset << 4,
                         flags, window, 0, 0) + options
    segment = header + payload
    if family == 4:
        pseudo = socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst) + \
            struct.pack("!BBH", 0, 6, len(segment))
    else:
        pseudo = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + \
            struct.pack("!IxxxB", len(segment), 6)
    csum = internet_checksum(pseudo + segment)
    segment = segment[:16] + struct.pack("!H", csum) + segment[18:]
    if family == 4:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(segment), 0x1234, 0x4000, 64, 6, 0,
                         socket.inet_pton(socket.AF_INET, src), socket.inet_pton(socket.AF_INET, dst))
        ip = ip[:10] + struct.pack("!H", internet_checksum(ip)) + ip[12:]
    else:
        ip = struct.pack("!IHBB16s16s", 0x60000000, len(segment), 6, 64,
                         socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst))
    return ip + segment


class Segment:
    """The few TCP fields this script needs to answer the kernel; tshark does the real decoding."""

    def __init__(self, raw: bytes):
        self.raw = raw
        version = raw[0] >> 4
        if version == 4 and len(raw) >= 20 and raw[9] == 6:
            tcp = raw[(raw[0] & 0x0F) * 4:]
        elif version == 6 and len(raw) >= 40 and raw[6] == 6:
            tcp = raw[40:]
        else:
            raise ValueError("not TCP")
        self.sport, self.dport, self.seq, self.ack, off, self.flags, self.window = \
            struct.unpack("!HHIIBBH", tcp[:16])
        header_len = (off >> 4) * 4
        self.payload = tcp[header_len:]
        self.tsval = None
        options, i = tcp[20:header_len], 0
        while i < len(options):
            kind = options[i]
            if kind == 0:
                break
            if kind == 1:
                i += 1
                continue
            length = options[i + 1]
            if kind == 8 and length == 10:
                self.tsval = struct.unpack("!I", options[i + 2:i + 6])[0]
            i += max(length, 2)


# ---------------------------------------------------------------------------------------------------
# The remote peer, inside the namespace

class Peer:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", ENGINE_PORT))
        self.captured = []
        self.ts = 1_000_000  # our own timestamp clock, advanced per packet

    def send(self, packet: bytes):
        self.sock.sendto(packet, ("127.0.0.1", RELAY_PORT))

    def expect(self, what, predicate, timeout=3.0):
        """The next TCP segment from the kernel satisfying predicate; other packets (MLD, router
        solicitations, retransmissions we do not care about) are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("kernel did not send " + what)
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                continue
            raw, _ = self.sock.recvfrom(65536)
            try:
                seg = Segment(raw)
            except ValueError:
                continue
            if predicate(seg):
                return seg

    def keep(self, name, family, description, seg):
        self.captured.append({"name": name, "family": family, "description": description,
                              "hex": seg.raw.hex()})

    def tsopt(self, echo):
        self.ts += 7
        return (self.ts, echo or 0)


def addrs(family):
    return (KERNEL_V4, PEER_V4) if family == 4 else (KERNEL_V6, PEER_V6)


def sock_family(family):
    return socket.AF_INET if family == 4 else socket.AF_INET6


def mss_for(family):
    return 1460 if family == 4 else 1440


def kernel_connects(peer, family, port, local_port):
    """Kernel connect() to the peer; we answer its SYN with our SYN+ACK. Returns the connected kernel
    socket and the state we need to continue the conversation."""
    kernel, remote = addrs(family)
    s = socket.socket(sock_family(family), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((kernel, local_port))
    s.setblocking(False)
    err = s.connect_ex((remote, port))
    assert err in (errno.EINPROGRESS, 0), os.strerror(err)
    syn = peer.expect("SYN", lambda g: g.dport == port and g.sport == local_port and g.flags == SYN)
    iss = 0x5EED0000 + port
    synack = build_packet(family, remote, kernel, port, local_port, iss, syn.seq + 1, SYN | ACK, 65535,
                          tcp_options(mss=mss_for(family), sack_permitted=True,
                                      ts=peer.tsopt(syn.tsval), wscale=7))
    peer.send(synack)
    ack = peer.expect("handshake ACK", lambda g: g.dport == port and g.flags == ACK and g.ack == iss + 1)
    _, writable, _ = select.select([], [s], [], 3)
    assert writable and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0, "connect failed"
    s.setblocking(True)
    return s, syn, ack, iss + 1


def capture_family(peer, family):
    v = "v%d" % family
    kernel, remote = addrs(family)
    ip_name = "IPv4" if family == 4 else "IPv6"

    # 1. Active open: the kernel's SYN, our SYN+ACK, its ACK, a data segment, its FIN.
    s, syn, ack, snd = kernel_connects(peer, family, 8080, 40001)
    peer.keep(v + "-syn", family, "Kernel connect() over %s: SYN with MSS, SACK-permitted, timestamps and "
              "window scale" % ip_name, syn)
    peer.keep(v + "-ack", family, "Kernel ACK completing its active open over %s (timestamps only)"
              % ip_name, ack)
    message = b"golden bytes from the Linux kernel\n"
    s.send(message)
    data = peer.expect("data", lambda g: g.sport == 40001 and g.payload == message)
    peer.keep(v + "-data", family, "Kernel data segment over %s: PSH+ACK, %d payload bytes, timestamps"
              % (ip_name, len(message)), data)
    rcv = data.seq + len(message)
    peer.send(build_packet(family, remote, kernel, 8080, 40001, snd, rcv, ACK, 512,
                           tcp_options(ts=peer.tsopt(data.tsval))))
    # A full-sized segment: MSS minus the 12 bytes of timestamps option (RFC 7323 section 3).
    full = mss_for(family) - 12
    block = bytes((i * 7 + 3) & 0xFF for i in range(full))
    s.send(block)
    data = peer.expect("full-sized data", lambda g: g.sport == 40001 and g.payload == block)
    peer.keep(v + "-data-full", family, "Kernel full-sized data segment over %s: %d payload bytes (MSS %d "
              "minus timestamps)" % (ip_name, full, mss_for(family)), data)
    rcv = data.seq + full
    peer.send(build_packet(family, remote, kernel, 8080, 40001, snd, rcv, ACK, 512,
                           tcp_options(ts=peer.tsopt(data.tsval))))
    s.shutdown(socket.SHUT_WR)
    fin = peer.expect("FIN", lambda g: g.sport == 40001 and g.flags & FIN)
    peer.keep(v + "-fin", family, "Kernel FIN+ACK after shutdown(SHUT_WR) over %s" % ip_name, fin)
    peer.send(build_packet(family, remote, kernel, 8080, 40001, snd, rcv + 1, FIN | ACK, 512,
                           tcp_options(ts=peer.tsopt(fin.tsval))))
    peer.expect("last ACK", lambda g: g.sport == 40001 and g.flags == ACK and g.ack == snd + 1)
    s.close()

    # 2. Abort: SO_LINGER with a zero timeout makes close() send a RST.
    s, _, _, _ = kernel_connects(peer, family, 8080, 40002)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    rst = peer.expect("abort RST", lambda g: g.sport == 40002 and g.flags & RST)
    peer.keep(v + "-rst-abort", family, "Kernel RST+ACK from close() with SO_LINGER 0 on an established "
              "connection over %s" % ip_name, rst)

    # 3. Passive open: our SYN to a kernel listener, its SYN+ACK; then out-of-order data for a SACK.
    listener = socket.socket(sock_family(family), socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((kernel, 8081))
    listener.listen(4)
    iss = 0x0DDBA115
    peer.send(build_packet(family, remote, kernel, 50001, 8081, iss, 0, SYN, 64800,
                           tcp_options(mss=mss_for(family), sack_permitted=True, ts=peer.tsopt(0), wscale=7)))
    synack = peer.expect("SYN+ACK", lambda g: g.sport == 8081 and g.flags == SYN | ACK)
    peer.keep(v + "-synack", family, "Kernel listener's SYN+ACK over %s: MSS, SACK-permitted, timestamps, "
              "window scale" % ip_name, synack)
    snd, rcv = iss + 1, synack.seq + 1
    peer.send(build_packet(family, remote, kernel, 50001, 8081, snd, rcv, ACK, 507,
                           tcp_options(ts=peer.tsopt(synack.tsval))))
    conn, _ = listener.accept()
    hole = bytes(range(100))
    peer.send(build_packet(family, remote, kernel, 50001, 8081, snd + len(hole), rcv, PSH | ACK, 507,
                           tcp_options(ts=peer.tsopt(synack.tsval)), b"\xAB" * 200))
    sack = peer.expect("SACK", lambda g: g.sport == 8081 and g.ack == snd and g.flags == ACK)
    peer.keep(v + "-ack-sack", family, "Kernel duplicate ACK with one SACK block after out-of-order data "
              "over %s" % ip_name, sack)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
    peer.expect("RST after SACK", lambda g: g.sport == 8081 and g.flags & RST)

    # 4. SYN with ECE+CWR (RFC 3168 6.1.1): the kernel, with net.ipv4.tcp_ecn=2, agrees with ECE.
    peer.send(build_packet(family, remote, kernel, 50002, 8081, iss, 0, SYN | ECE | CWR, 64800,
                           tcp_options(mss=mss_for(family), sack_permitted=True, ts=peer.tsopt(0), wscale=7)))
    synack_ecn = peer.expect("ECN SYN+ACK", lambda g: g.sport == 8081 and g.dport == 50002 and g.flags & SYN)
    peer.keep(v + "-synack-ecn", family, "Kernel listener's SYN+ACK+ECE answering an ECN-setup SYN over %s"
              % ip_name, synack_ecn)
    peer.send(build_packet(family, remote, kernel, 50002, 8081, iss + 1, 0, RST, 0))
    listener.close()

    # 5. A SYN to a port where nothing listens.
    peer.send(build_packet(family, remote, kernel, 50003, 9, 0x12345678, 0, SYN, 64800,
                           tcp_options(mss=mss_for(family))))
    refused = peer.expect("RST for closed port", lambda g: g.sport == 9 and g.flags & RST)
    peer.keep(v + "-rst-closed", family, "Kernel RST+ACK answering a SYN to a closed port over %s" % ip_name,
              refused)


def wait_for_tun(timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["ip", "-o", "link", "show", TUN_NAME], capture_output=True, text=True).stdout
        if ",UP" in out or "<UP" in out:
            return
        time.sleep(0.05)
    raise RuntimeError("socat did not bring %s up" % TUN_NAME)


def inside(out_path):
    """Runs inside the namespace (re-executed by main through `ip netns exec`)."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # Keep the link quiet: no router solicitations on the TUN.
    subprocess.run(["sysctl", "-qw", "net.ipv6.conf.default.router_solicitations=0"], check=True)
    peer = Peer()
    socat = subprocess.Popen(
        ["socat", "-b", "65536",
         "TUN:%s/24,tun-type=tun,iff-no-pi,up,tun-name=%s" % (KERNEL_V4, TUN_NAME),
         "UDP-DATAGRAM:127.0.0.1:%d,bind=127.0.0.1:%d" % (ENGINE_PORT, RELAY_PORT)])
    try:
        wait_for_tun()
        subprocess.run(["ip", "-6", "addr", "add", KERNEL_V6 + "/64", "dev", TUN_NAME, "nodad"], check=True)
        time.sleep(0.2)  # let the IPv6 address and its route settle
        settings = {}
        for key in ("tcp_timestamps", "tcp_sack", "tcp_window_scaling", "tcp_ecn"):
            with open("/proc/sys/net/ipv4/" + key) as f:
                settings["net.ipv4." + key] = f.read().strip()
        capture_family(peer, 4)
        capture_family(peer, 6)
        with open(out_path, "w") as f:
            json.dump({"sysctl": settings, "packets": peer.captured}, f)
    finally:
        socat.terminate()
        try:
            socat.wait(5)
        except subprocess.TimeoutExpired:
            socat.kill()
            socat.wait()


# ---------------------------------------------------------------------------------------------------
# Outside: namespace lifecycle, tshark decoding, the JSON file

def write_pcap(path, packets):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW
        for i, raw in enumerate(packets):
            f.write(struct.pack("<IIII", 1_700_000_000 + i, 0, len(raw), len(raw)))
            f.write(raw)


def tshark_decode(pcap, fields):
    cmd = ["tshark", "-n", "-r", pcap, "-o", "tcp.relative_sequence_numbers:FALSE",
           "-o", "tcp.analyze_sequence_numbers:FALSE", "-o", "tcp.check_checksum:TRUE",
           "-o", "ip.check_checksum:TRUE", "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
           "-E", "aggregator=,"]
    for field in fields:
        cmd += ["-e", field]
    lines = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    return [{k: v for k, v in zip(fields, line.split("\t")) if v != ""} for line in lines]


def tool_version(cmd):
    return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0].strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "linux-packets.json"))
    parser.add_argument("--inside", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.inside)
        return
    if os.geteuid() != 0:
        sys.exit("capture.py needs root (network namespaces and TUN devices)")
    for tool in ("ip", "socat", "tshark"):
        if not shutil.which(tool):
            sys.exit("capture.py needs %s on PATH" % tool)

    ns = "tcpw-gold-%d" % os.getpid()
    workdir = tempfile.mkdtemp(prefix="tcpw-gold-")
    created = False
    child = None

    def interrupted(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, interrupted)
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        created = True
        raw_path = os.path.join(workdir, "raw.json")
        child = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__),
                                  "--inside", raw_path])
        if child.wait(120) != 0:
            sys.exit("capture inside the namespace failed")
        with open(raw_path) as f:
            raw = json.load(f)
        packets = raw["packets"]
        pcap = os.path.join(workdir, "golden.pcap")
        write_pcap(pcap, [bytes.fromhex(p["hex"]) for p in packets])
        fields = TSHARK_FIELDS_V4 + TSHARK_FIELDS_V6 + TSHARK_FIELDS_COMMON
        decoded = tshark_decode(pcap, fields)
        assert len(decoded) == len(packets), "tshark decoded %d of %d packets" % (len(decoded), len(packets))
        for packet, fields_seen in zip(packets, decoded):
            packet["tshark"] = fields_seen
            assert fields_seen.get("tcp.checksum.status") == "1", packet["name"] + ": tshark says bad TCP checksum"
            if packet["family"] == 4:
                assert fields_seen.get("ip.checksum.status") == "1", packet["name"] + ": bad IPv4 checksum"
        uname = platform.uname()
        document = {
            "description": "TCP segments sent by the Linux kernel through a TUN device, captured by "
                           "test/golden/capture.py; `tshark` holds tshark's decoding of each packet "
                           "(absolute sequence numbers; checksum status 1 = good).",
            "kernel": "%s %s %s" % (uname.system, uname.release, uname.machine),
            "captured": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": "python3 test/golden/capture.py (as root)",
            "tshark": tool_version(["tshark", "--version"]),
            "sysctl": raw["sysctl"],
            "packets": packets,
        }
        with open(args.out, "w") as f:
            json.dump(document, f, indent=2)
            f.write("\n")
        print("wrote %d packets from %s to %s" % (len(packets), document["kernel"], args.out))
    finally:
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()
        if created:
            # Anything still running in the namespace (socat if the child died hard) keeps it alive.
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            subprocess.run(["ip", "netns", "del", ns])
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
