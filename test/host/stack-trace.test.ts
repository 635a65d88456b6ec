// What a trace says about each segment, through the stack on the StackPair's virtual clock: an
// outgoing segment sent again is marked (a loss repaired: "repair"; the tail loss probe of RFC 8985
// 7.3: "probe"), a first transmission is not, and every event of a connection names its endpoints,
// so a ladder can tell connections apart. No assertion depends on how long anything takes.
import { describe, expect, it } from "vitest";
import type { StackConnection } from "../../src/tcp/stack.js";
import type { SegmentTrace, TraceEvent } from "../../src/core/trace.js";
import { TcpFlag } from "../../src/core/trace.js";
import { StackPair } from "../fixtures/stack-pair.js";

const ADDRESSES = { a: ["10.0.0.1/24"], b: ["10.0.0.2/24"] };

/** Drops the client's packets for which `drop` says so (a TCP payload is anything past 40 bytes here). */
function dropFromClient(p: StackPair, drop: (packet: Uint8Array, index: number) => boolean): void {
  const send = p.la.send.bind(p.la);
  let index = 0;
  p.la.send = (packets: Uint8Array[]) => send(packets.filter((pkt) => !drop(pkt, index++)));
}

const payloadLen = (pkt: Uint8Array) => ((pkt[2]! << 8) | pkt[3]!) - (pkt[0]! & 15) * 4 - (pkt[32]! >> 4) * 4;

async function transfer(p: StackPair, bytes: number): Promise<void> {
  let got = 0;
  const done = new Promise<void>((resolve) => {
    p.b.openListener({ port: 9 }, (conn) => {
      conn.onData = (c) => {
        got += c.length;
        if (got === bytes) resolve();
      };
    });
  });
  const conn: StackConnection = p.a.openConnection({ remote: "10.0.0.2", remotePort: 9 });
  conn.write(new Uint8Array(bytes));
  await p.wait(done, "the bytes arrive");
}

const clientOut = (events: TraceEvent[]) => events.filter((e): e is SegmentTrace => e.kind === "segment" && e.endpoint === "client" && e.direction === "out");

describe("stack trace: retransmissions and endpoints", () => {
  it("marks the segment that repairs a lost one as a repair, and nothing else", async () => {
    // MSS-sized packets (no segmentation offload): the third data segment is a packet of its own.
    const p = await StackPair.create({ trace: true, addresses: ADDRESSES, link: { offloadMtu: 0 } });
    let data = 0;
    dropFromClient(p, (pkt) => payloadLen(pkt) > 0 && ++data === 3); // the third data segment, once
    await transfer(p, 10 * 1448);
    const out = clientOut(p.traces);
    const marked = out.filter((s) => s.retransmission);
    expect(marked.map((s) => s.retransmission)).toEqual(["repair"]);
    const firstSends = out.filter((s) => s.length > 0 && !s.retransmission);
    expect(marked[0]!.seq).toBe(firstSends[2]!.seq);
    expect(p.a.counters().retransmits).toBe(1);
    p.close();
  });

  it("marks the tail loss probe as a probe when the tail of a flight is lost", async () => {
    // 20 ms each way: the probe timeout (two round trips) comes before the RTO (RFC 8985 7.2).
    const p = await StackPair.create({ trace: true, addresses: ADDRESSES, link: { delay: 20 } });
    let data = 0;
    dropFromClient(p, (pkt) => payloadLen(pkt) > 0 && (++data === 9 || data === 10)); // the last two of ten, once
    await transfer(p, 10 * 1448);
    const out = clientOut(p.traces);
    const firstSends = out.filter((s) => s.length > 0 && !s.retransmission);
    const marked = out.filter((s) => s.retransmission);
    // The probe is the last segment again; its SACK shows the hole, which recovery repairs.
    expect(marked[0]).toMatchObject({ retransmission: "probe", seq: firstSends[9]!.seq, length: 1448 });
    expect(marked.slice(1).map((s) => [s.retransmission, s.seq])).toEqual([["repair", firstSends[8]!.seq]]);
    p.close();
  });

  it("names each connection's endpoints on its segments and states", async () => {
    const p = await StackPair.create({ trace: true, addresses: ADDRESSES });
    await transfer(p, 100);
    const conn = p.traces.filter((e) => !(e.kind === "state" && (e.to === "LISTEN" || e.from === "LISTEN" && e.to === "CLOSED")));
    const client = conn.filter((e) => e.endpoint === "client");
    const server = conn.filter((e) => e.endpoint === "server");
    const port = (client[0]!.local ?? "").split(":")[1];
    expect(client.every((e) => e.local === `10.0.0.1:${port}` && e.remote === "10.0.0.2:9")).toBe(true);
    // The SYN is taken by the listener, before any connection exists: it alone names no endpoints.
    const untagged = server.filter((e) => e.local === undefined);
    expect(untagged.map((e) => (e.kind === "segment" ? `${e.direction} ${e.flags}` : e.to))).toEqual([`in ${TcpFlag.SYN}`]);
    expect(server.filter((e) => e.local !== undefined).every((e) => e.local === "10.0.0.2:9" && e.remote === `10.0.0.1:${port}`)).toBe(true);
    expect(client.some((e) => e.kind === "segment" && e.flags & TcpFlag.SYN)).toBe(true);
    p.close();
  });
});
