// The pcap writer: byte layout of the libpcap format, recording both directions of a link, and a
// capture of IPv4 and IPv6 TCP packets read back by tshark with checksum validation on.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { openPcapFile } from "../../src/tools/pcap-file.js";
import { LINKTYPE_RAW, PcapWriter, recordLink } from "../../src/tools/pcap.js";
import { createMemoryLinkPair } from "../../src/net/memory-link.js";
import { checksumRef, pseudoHeaderSumV4Ref, pseudoHeaderSumV6Ref } from "../fixtures/checksum-reference.js";
import { tsharkMissing, tsharkRead } from "../fixtures/tshark.js";

const dir = mkdtempSync(join(tmpdir(), "tcpwasm-pcap-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function parseAddress(text: string): Uint8Array {
  if (!text.includes(":")) return Uint8Array.from(text.split(".").map(Number));
  const [head, tail] = text.split("::");
  const groups = (s: string | undefined) => (s ? s.split(":").map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

interface TcpPacketSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  /** TCP flag bits: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10. */
  flags: number;
  payload?: Uint8Array;
}

/**
 * A valid IPv4 or IPv6 TCP packet (by the address family of `src`), every checksum computed with the
 * reference; SYNs carry an MSS option. Independent of the engine's own encoder on purpose.
 */
function tcpPacket(spec: TcpPacketSpec): Uint8Array {
  const src = parseAddress(spec.src);
  const dst = parseAddress(spec.dst);
  const v6 = src.length === 16;
  const options = spec.flags & 0x02 ? Uint8Array.of(2, 4, 0x05, 0xb4) : new Uint8Array(0);
  const payload = spec.payload ?? new Uint8Array(0);
  const tcpLen = 20 + options.length + payload.length;
  const ipLen = v6 ? 40 : 20;
  const p = new Uint8Array(ipLen + tcpLen);
  const dv = new DataView(p.buffer);
  if (v6) {
    dv.setUint32(0, 0x60000000);
    dv.setUint16(4, tcpLen);
    p[6] = 6;
    p[7] = 64;
    p.set(src, 8);
    p.set(dst, 24);
  } else {
    p[0] = 0x45;
    dv.setUint16(2, p.length);
    dv.setUint16(4, 0x1234);
    dv.setUint16(6, 0x4000);
    p[8] = 64;
    p[9] = 6;
    p.set(src, 12);
    p.set(dst, 16);
    dv.setUint16(10, checksumRef(p.subarray(0, 20)));
  }
  const t = ipLen;
  dv.setUint16(t, spec.sport);
  dv.setUint16(t + 2, spec.dport);
  dv.setUint32(t + 4, spec.seq >>> 0);
  dv.setUint32(t + 8, spec.ack >>> 0);
  p[t + 12] = ((20 + options.length) / 4) << 4;
  p[t + 13] = spec.flags;
  dv.setUint16(t + 14, 64240);
  p.set(options, t + 20);
  p.set(payload, t + 20 + options.length);
  const pseudo = v6 ? pseudoHeaderSumV6Ref(src, dst, 6, tcpLen) : pseudoHeaderSumV4Ref(src, dst, 6, tcpLen);
  dv.setUint16(t + 16, checksumRef(p.subarray(t), pseudo));
  return p;
}

describe("pcap writer", () => {
  it("writes the libpcap global header: magic, version 2.4, snaplen, LINKTYPE_RAW", () => {
    const chunks: Uint8Array[] = [];
    new PcapWriter((c) => chunks.push(c));
    expect(chunks).toHaveLength(1);
    expect(Buffer.from(chunks[0]).toString("hex")).toBe(
      "d4c3b2a1" + "0200" + "0400" + "00000000" + "00000000" + "ffff0000" + "65000000",
    );
    expect(LINKTYPE_RAW).toBe(101);
  });

  it("writes one record per packet with microsecond timestamps, truncating at snaplen", () => {
    const chunks: Uint8Array[] = [];
    const w = new PcapWriter((c) => chunks.push(c), { snaplen: 64 });
    const packet = Uint8Array.from({ length: 100 }, (_, i) => i);
    w.write(packet, 1_700_000_000_123.4567);
    w.write(packet.subarray(0, 20), 1_700_000_001_000);
    expect(w.packets).toBe(2);
    const r1 = new DataView(chunks[1].buffer);
    expect([r1.getUint32(0, true), r1.getUint32(4, true), r1.getUint32(8, true), r1.getUint32(12, true)]).toEqual([
      1_700_000_000, 123_456, 64, 100,
    ]);
    expect(chunks[1].subarray(16)).toEqual(packet.subarray(0, 64));
    const r2 = new DataView(chunks[2].buffer);
    expect([r2.getUint32(0, true), r2.getUint32(4, true), r2.getUint32(8, true), r2.getUint32(12, true)]).toEqual([
      1_700_000_001, 0, 20, 20,
    ]);
    expect(() => new PcapWriter(() => {}, { snaplen: 0 })).toThrowError(expect.objectContaining({ code: "ERR_OUT_OF_RANGE" }));
  });

  it("records both directions of a link and passes packets through untouched", () => {
    const clock = { t: 0 };
    const [a, b] = createMemoryLinkPair({ clock: "manual", now: () => clock.t, delay: 10 });
    const records: Uint8Array[] = [];
    const recorded = recordLink(a, (c) => records.push(c), { now: () => 1e12 + clock.t });
    expect(recorded.mtu).toBe(a.mtu);
    const atA: Uint8Array[] = [];
    const atB: Uint8Array[] = [];
    recorded.onReceive((ps) => atA.push(...ps));
    b.onReceive((ps) => atB.push(...ps));
    const out = Uint8Array.of(0x45, 1, 2, 3);
    const back = Uint8Array.of(0x60, 4, 5);
    recorded.send([out]);
    clock.t = 10;
    b.deliverDue(10);
    b.send([back]);
    clock.t = 20;
    a.deliverDue(20);
    expect(atB).toEqual([out]);
    expect(atA).toEqual([back]);
    expect(records.slice(1).map((r) => Array.from(r.subarray(16)))).toEqual([Array.from(out), Array.from(back)]);
    expect(records.slice(1).map((r) => new DataView(r.buffer).getUint32(4, true))).toEqual([0, 20_000]);
    recorded.close();
    b.send([back]);
    expect(a.nextDeliveryTime()).toBe(Infinity); // closing the recorder closed the link
  });

  it("pcap.ts and the memory link bundle for the browser without any Node built-in", async () => {
    const result = await build({
      stdin: {
        contents: 'export * from "./src/tools/pcap.ts"; export * from "./src/net/memory-link.ts"; export * from "./src/net/link.ts";',
        resolveDir: join(import.meta.dirname, "../.."),
        loader: "ts",
      },
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      logLevel: "silent",
    });
    expect(result.errors).toEqual([]);
    expect(result.outputFiles[0].text).not.toMatch(/from\s+["']node:/);
  });
});

const noTshark = tsharkMissing();
if (noTshark) console.warn(`pcap read-back by tshark SKIPPED: ${noTshark}`);

describe.skipIf(noTshark !== null)("pcap read back by tshark", () => {
  it("shows every packet of a recorded IPv4 + IPv6 exchange with its addresses, ports, times and good checksums", () => {
    const path = join(dir, "exchange.pcap");
    const file = openPcapFile(path);
    const EPOCH = 1_700_000_000_000;
    const clock = { t: 0 };
    const [a, b] = createMemoryLinkPair({ clock: "manual", now: () => clock.t, delay: 10 });
    const link = recordLink(a, file.sink, { now: () => EPOCH + clock.t });
    let atA = 0;
    link.onReceive((ps) => (atA += ps.length));
    // b answers every SYN with a SYN-ACK, as a listener would.
    b.onReceive((ps) => {
      for (const p of ps) {
        const v6 = p[0] >> 4 === 6;
        const t = v6 ? 40 : 20;
        const dv = new DataView(p.buffer, p.byteOffset);
        if (p[t + 13] !== 0x02) continue;
        const addr = (at: number, len: number) =>
          v6
            ? Array.from({ length: 8 }, (_, i) => dv.getUint16(at + 2 * i).toString(16)).join(":")
            : Array.from(p.subarray(at, at + len)).join(".");
        b.send([
          tcpPacket({
            src: v6 ? addr(24, 16) : addr(16, 4),
            dst: v6 ? addr(8, 16) : addr(12, 4),
            sport: dv.getUint16(t + 2),
            dport: dv.getUint16(t),
            seq: 5000,
            ack: dv.getUint32(t + 4) + 1,
            flags: 0x12,
          }),
        ]);
      }
    });
    const step = (ms: number) => {
      clock.t += ms;
      b.deliverDue(clock.t);
      a.deliverDue(clock.t);
    };
    link.send([tcpPacket({ src: "10.77.0.2", dst: "10.77.0.1", sport: 40000, dport: 80, seq: 1000, ack: 0, flags: 0x02 })]);
    step(10);
    step(10);
    link.send([
      tcpPacket({ src: "10.77.0.2", dst: "10.77.0.1", sport: 40000, dport: 80, seq: 1001, ack: 5001, flags: 0x10 }),
      tcpPacket({
        src: "10.77.0.2", dst: "10.77.0.1", sport: 40000, dport: 80, seq: 1001, ack: 5001, flags: 0x18,
        payload: new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
      }),
      tcpPacket({ src: "fd77::2", dst: "fd77::1", sport: 40001, dport: 443, seq: 77, ack: 0, flags: 0x02 }),
    ]);
    step(10);
    step(10);
    file.close();
    expect(atA).toBe(2);

    const tshark = (...args: string[]) => tsharkRead(path, ...args);
    const rows = tshark(
      "-T", "fields", "-E", "separator=|",
      "-e", "frame.time_epoch", "-e", "frame.protocols", "-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst",
      "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.flags", "-e", "tcp.len", "-e", "ip.checksum.status", "-e", "tcp.checksum.status",
    )
      .trim()
      .split("\n")
      .map((line) => line.split("|"));
    expect(rows.map((r) => [Number(r[0]) * 1000 - EPOCH, ...r.slice(1, 8)])).toEqual([
      [0, "raw:ip:tcp", "10.77.0.2", "10.77.0.1", "", "", "40000", "80"],
      [20, "raw:ip:tcp", "10.77.0.1", "10.77.0.2", "", "", "80", "40000"],
      [20, "raw:ip:tcp", "10.77.0.2", "10.77.0.1", "", "", "40000", "80"],
      [20, "raw:ip:tcp:http", "10.77.0.2", "10.77.0.1", "", "", "40000", "80"],
      [20, "raw:ipv6:tcp", "", "", "fd77::2", "fd77::1", "40001", "443"],
      [40, "raw:ipv6:tcp", "", "", "fd77::1", "fd77::2", "443", "40001"],
    ]);
    expect(rows.map((r) => [r[8], r[9]])).toEqual([
      ["0x0002", "0"], ["0x0012", "0"], ["0x0010", "0"], ["0x0018", "27"], ["0x0002", "0"], ["0x0012", "0"],
    ]);
    // 1 is "good" for both checksums; IPv6 has no header checksum.
    expect(rows.map((r) => [r[10], r[11]])).toEqual([
      ["1", "1"], ["1", "1"], ["1", "1"], ["1", "1"], ["", "1"], ["", "1"],
    ]);
    // Nothing malformed, no checksum errors, no expert error at all.
    expect(tshark("-Y", "_ws.malformed || _ws.expert.severity == error || tcp.checksum.status == 0").trim()).toBe("");
  });

  it("keeps the whole capture a valid file after truncating long packets to snaplen", () => {
    const path = join(dir, "snap.pcap");
    const file = openPcapFile(path);
    const w = new PcapWriter(file.sink, { snaplen: 60, now: () => 1_700_000_000_000 });
    const payload = new Uint8Array(1400).fill(0x61);
    w.write(tcpPacket({ src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, seq: 1, ack: 1, flags: 0x10, payload }));
    file.close();
    expect(readFileSync(path).length).toBe(24 + 16 + 60);
    const out = execFileSync("tshark", ["-r", path, "-T", "fields", "-e", "frame.len", "-e", "frame.cap_len", "-e", "ip.src"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(out.trim()).toBe("1440\t60\t10.0.0.1");
  });
});
