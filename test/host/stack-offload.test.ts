// Segmentation offload through the stack (Link.offloadMtu, src/net/link.ts; assembly/engine/offload.ts):
// a link that says it takes packets above its MTU gets TCP packets of whole segments up to that size,
// a link that does not never sees a packet above its MTU, even beside one that does on the same
// stack; a capture of the large packets reads back in tshark with good checksums; bad values are
// refused at attach. Stacks and links run on a virtual clock (test/fixtures/stack-pair.ts); data is
// SHA-256 checked; no assertion depends on time.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Stack } from "../../src/tcp/stack.js";
import type { Link, PacketHandler } from "../../src/net/link.js";
import { recordLink } from "../../src/tools/pcap.js";
import { openPcapFile } from "../../src/tools/pcap-file.js";
import { accepted, collect, connected, data, sha, writeAll } from "../fixtures/stack-util.js";
import { VirtualNet } from "../fixtures/stack-pair.js";
import { thrownCode } from "../fixtures/thrown.js";
import { tsharkMissing, tsharkRead } from "../fixtures/tshark.js";

const MiB = 1 << 20;
const dir = mkdtempSync(join(tmpdir(), "tcpwasm-offload-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A link of MTU `mtu` (offload MTU `offloadMtu` when given) that records the largest packet it is handed. */
class Measured implements Link {
  largest = 0;
  packets = 0;
  constructor(private readonly inner: Link, readonly mtu: number, readonly offloadMtu?: number) {}
  send(packets: Uint8Array[]): void {
    for (const p of packets) this.largest = Math.max(this.largest, p.length);
    this.packets += packets.length;
    this.inner.send(packets);
  }
  onReceive(handler: PacketHandler): void {
    this.inner.onReceive(handler);
  }
  close(): void {
    this.inner.close();
  }
}

/** `bytes` from `a` to `b` on `port` (b listens), SHA-256 checked; returns the client's STATUS MSS fields. */
async function send(net: VirtualNet, a: Stack, b: Stack, remote: string, port: number, bytes: number) {
  const payload = data(bytes, port);
  const server = accepted(b, port);
  const client = a.openConnection({ remote, remotePort: port });
  await net.wait(connected(client), "connect");
  const { localMss, peerMss, sendMss } = client.status();
  const writing = writeAll(client, payload, true);
  const s = await net.wait(server, "accept");
  const got = collect(s);
  await net.wait(got.ended, "data and FIN");
  await net.wait(writing, "written");
  expect(sha(got.chunks)).toBe(sha([payload]));
  s.end();
  return { localMss, peerMss, sendMss };
}

describe("Link.offloadMtu through the stack", () => {
  it("a link with offload MTU 65535 at MTU 1500 carries packets of up to 65535 bytes; the MSS stays the MTU's", async () => {
    const net = new VirtualNet();
    const [la, lb] = net.linkPair({ mtu: 65535 });
    const ma = new Measured(la, 1500, 65535);
    const mb = new Measured(lb, 1500, 65535);
    const a = await net.stack({ addresses: ["10.0.0.1/24", "fd00::1/64"] });
    const b = await net.stack({ addresses: ["10.0.0.2/24", "fd00::2/64"] });
    a.attach(ma);
    b.attach(mb);
    expect(await send(net, a, b, "10.0.0.2", 7001, 4 * MiB)).toEqual({ localMss: 1460, peerMss: 1460, sendMss: 1448 });
    // 45 segments of 1448 and 52 bytes of headers (IPv4, TCP, timestamps).
    expect(ma.largest).toBe(45 * 1448 + 52);
    expect(await send(net, a, b, "fd00::2", 7002, MiB)).toEqual({ localMss: 1440, peerMss: 1440, sendMss: 1428 });
    expect(ma.largest).toBe(45 * 1448 + 52);
    a.close();
    b.close();
  });

  it("a link without it never sees a packet above its MTU, beside one with it on the same stack", async () => {
    const net = new VirtualNet();
    const [fastA, fastB] = net.linkPair({ mtu: 65535 });
    const [plainA, plainB] = net.linkPair({ mtu: 1500 });
    const a = await net.stack({ addresses: ["10.0.0.1/24", "10.1.0.1/24"] });
    const b = await net.stack({ addresses: ["10.0.0.2/24", "10.1.0.2/24"] });
    const fast = new Measured(fastA, 1500, 65535);
    const plain = new Measured(plainA, 1500);
    const plainBack = new Measured(plainB, 1500);
    a.attach(fast, { routes: ["10.0.0.0/24"] });
    a.attach(plain, { routes: ["10.1.0.0/24"] });
    b.attach(new Measured(fastB, 1500, 65535), { routes: ["10.0.0.0/24"] });
    b.attach(plainBack, { routes: ["10.1.0.0/24"] });
    await send(net, a, b, "10.1.0.2", 7003, 2 * MiB);
    await send(net, b, a, "10.1.0.1", 7004, 2 * MiB);
    await send(net, a, b, "10.0.0.2", 7005, 2 * MiB);
    expect([plain.largest, plainBack.largest]).toEqual([1500, 1500]);
    expect(plainA.stats.tooBig + plainB.stats.tooBig).toBe(0);
    expect(fast.largest).toBeGreaterThan(1500);
    a.close();
    b.close();
  });

  it("refuses an offload MTU below the link's MTU, above 65535, not an integer or not a number", async () => {
    const net = new VirtualNet();
    const [l] = net.linkPair();
    const s = await net.stack({ addresses: ["10.0.0.1/24"] });
    for (const [offloadMtu, code] of [[1400, "ERR_OUT_OF_RANGE"], [65536, "ERR_OUT_OF_RANGE"], [9000.5, "ERR_OUT_OF_RANGE"], ["9000", "ERR_INVALID_ARG_TYPE"]] as const) {
      const link = { send: l.send.bind(l), onReceive: l.onReceive.bind(l), close: l.close.bind(l), mtu: 1500, offloadMtu } as unknown as Link;
      expect(thrownCode(() => s.attach(link))).toBe(code);
    }
    // Without a link MTU the stack's config mtu is the floor.
    const withoutMtu = { send: l.send.bind(l), onReceive: l.onReceive.bind(l), close: l.close.bind(l), offloadMtu: 1499 } as Link;
    expect(thrownCode(() => s.attach(withoutMtu))).toBe("ERR_OUT_OF_RANGE");
    s.close();
  });
});

const noTshark = tsharkMissing();
if (noTshark) console.warn(`offload capture read-back by tshark SKIPPED: ${noTshark}`);

describe.skipIf(noTshark !== null)("a capture of large segments", () => {
  it("reads back in tshark: TCP lengths above the MSS, good checksums, nothing malformed", async () => {
    const path = join(dir, "offload.pcap");
    const file = openPcapFile(path);
    const net = new VirtualNet();
    const [la, lb] = net.linkPair({ mtu: 65535 });
    const a = await net.stack({ addresses: ["10.0.0.1/24"] });
    const b = await net.stack({ addresses: ["10.0.0.2/24"] });
    a.attach(recordLink(new Measured(la, 1500, 65535), file.sink));
    b.attach(new Measured(lb, 1500, 65535));
    await send(net, a, b, "10.0.0.2", 7006, MiB);
    a.close();
    b.close();
    file.close();
    const tshark = (...args: string[]) => tsharkRead(path, ...args);
    const lengths = tshark("-Y", "ip.src == 10.0.0.1 && tcp.len > 0", "-T", "fields", "-e", "tcp.len").trim().split("\n").map(Number);
    expect(lengths.reduce((n, x) => n + x, 0)).toBe(MiB);
    expect(Math.max(...lengths)).toBe(45 * 1448);
    expect(tshark("-Y", "_ws.malformed || _ws.expert.severity == error || tcp.checksum.status == 0 || ip.checksum.status == 0").trim()).toBe("");
  });
});
