import { describe, expect, it } from "vitest";
import { renderLadder, renderLadders } from "../../src/tools/ladder.js";
import { TcpFlag, type TraceEvent, type SegmentTrace } from "../../src/core/trace.js";

const { SYN, ACK, FIN, PSH, RST } = TcpFlag;
const J = 1_000_000; // client ISN
const K = 4_000_000_000; // server ISN, near the wrap

function seg(endpoint: string, time: number, flags: number, seq: number, ack: number, length = 0): SegmentTrace[] {
  const base = { kind: "segment" as const, flags, seq: seq >>> 0, ack: ack >>> 0, window: 65535, length };
  const peer = endpoint === "client" ? "server" : "client";
  return [
    { ...base, time, endpoint, direction: "out" },
    { ...base, time: time + 0.5, endpoint: peer, direction: "in" },
  ];
}
const state = (endpoint: string, time: number, from: string, to: string) =>
  ({ kind: "state", time, endpoint, from, to }) as TraceEvent;

function classic(): TraceEvent[] {
  return [
    state("server", 0, "CLOSED", "LISTEN"),
    state("client", 1, "CLOSED", "SYN-SENT"),
    ...seg("client", 1, SYN, J, 0),
    state("server", 1.5, "LISTEN", "SYN-RECEIVED"),
    ...seg("server", 1.5, SYN | ACK, K, J + 1),
    state("client", 2, "SYN-SENT", "ESTABLISHED"),
    ...seg("client", 2, ACK, J + 1, K + 1),
    state("server", 2.5, "SYN-RECEIVED", "ESTABLISHED"),
    ...seg("client", 3, PSH | ACK, J + 1, K + 1, 100),
    ...seg("server", 3.5, ACK, K + 1, J + 101),
    state("client", 4, "ESTABLISHED", "FIN-WAIT-1"),
    ...seg("client", 4, FIN | ACK, J + 101, K + 1),
    state("server", 4.5, "ESTABLISHED", "CLOSE-WAIT"),
    ...seg("server", 4.5, ACK, K + 1, J + 102),
    state("client", 5, "FIN-WAIT-1", "FIN-WAIT-2"),
    state("server", 6, "CLOSE-WAIT", "LAST-ACK"),
    ...seg("server", 6, FIN | ACK, K + 1, J + 102),
    state("client", 6.5, "FIN-WAIT-2", "TIME-WAIT"),
    ...seg("client", 6.5, ACK, J + 102, K + 2),
    state("server", 7, "LAST-ACK", "CLOSED"),
    state("client", 60006.5, "TIME-WAIT", "CLOSED"),
  ];
}

describe("ladder diagram", () => {
  it("draws the classic handshake and four-way close with relative and absolute numbers", () => {
    const text = renderLadder(classic(), { left: "client", right: "server", width: 60 });
    const lines = text.trimEnd().split("\n");
    const arrows = lines.filter((l) => l.includes("|"));
    expect(arrows).toHaveLength(9);
    // SYN seq=J: left to right, relative 0, absolute J.
    expect(arrows[0]).toMatch(/\|-+ SYN seq=0 win=65535 \[1000000\] -+>\|$/);
    // SYN+ACK seq=K ack=J+1: right to left, relative 0 and 1, absolute K and J+1 (K near 2^32).
    expect(arrows[1]).toMatch(/\|<-+ SYN,ACK seq=0 ack=1 win=65535 \[4000000000\/1000001\] -+\|$/);
    expect(arrows[2]).toMatch(/\|-+ ACK seq=1 ack=1 win=65535 -+>\|/);
    expect(arrows[3]).toContain("PSH,ACK seq=1 ack=1 len=100");
    expect(arrows[4]).toMatch(/<-+ ACK seq=1 ack=101 /);
    expect(arrows[5]).toMatch(/FIN,ACK seq=101 ack=1 .*>\|$/);
    expect(arrows[6]).toMatch(/<-+ ACK seq=1 ack=102 /);
    expect(arrows[7]).toMatch(/<-+ FIN,ACK seq=1 ack=102 /);
    expect(arrows[8]).toMatch(/-+ ACK seq=102 ack=2 .*>\|$/);
    // Every arrow spans exactly the space between the bars.
    const spans = new Set(arrows.map((l) => l.lastIndexOf("|") - l.indexOf("|")));
    expect([...spans]).toEqual([60]);
    // States in order under their columns: client's at the left bar, server's at the right bar.
    const leftBar = arrows[0].indexOf("|");
    const rightBar = arrows[0].lastIndexOf("|");
    const statesAt = (col: number) =>
      lines.slice(2).filter((l) => !l.includes("|") && l.length > col && l[col] !== " " && l[col - 1] === " ").map((l) => l.slice(col).split(" ")[0]);
    expect(statesAt(leftBar)).toEqual(["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]);
    expect(statesAt(rightBar)).toEqual(["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]);
    // The last line is the end of TIME-WAIT, 2 MSL later.
    expect(lines[lines.length - 1]).toMatch(/^ +60\.00[67] CLOSED$/);
  });

  it("marks a segment the receiver never saw as lost", () => {
    const events = classic();
    // Drop the server's record of receiving the data segment.
    const i = events.findIndex((e) => e.kind === "segment" && e.direction === "in" && e.length === 100);
    events.splice(i, 1);
    const text = renderLadder(events, { left: "client", right: "server" });
    const data = text.split("\n").find((l) => l.includes("len=100"))!;
    expect(data).toMatch(/ x  \|$/);
    const ok = text.split("\n").find((l) => l.includes("SYN seq=0"))!;
    expect(ok).toMatch(/->\|$/);
  });

  it("folds a long transfer into a summary line with counts and bytes", () => {
    const events: TraceEvent[] = classic().slice(0, 8);
    let t = 3;
    for (let i = 0; i < 100; i++) {
      events.push(...seg("client", t, ACK, J + 1 + i * 1000, K + 1, 1000));
      if (i % 2 === 1) events.push(...seg("server", t + 0.25, ACK, K + 1, J + 1 + (i + 1) * 1000));
      t += 1;
    }
    events.push(...seg("client", t, FIN | ACK, J + 100_001, K + 1));
    const text = renderLadder(events, { left: "client", right: "server", foldAfter: 6 });
    const arrows = text.split("\n").filter((l) => l.includes("|"));
    // SYN and SYN+ACK, 6 kept from the run of 150 bulk segments, FIN.
    expect(arrows).toHaveLength(9);
    const fold = text.split("\n").find((l) => l.includes("folded"))!;
    expect(fold).toContain("144 segments folded");
    // 150 bulk segments: 100 data + 50 ACKs; head keeps 3 (2 data, 1 ACK), tail keeps 3 (2 data, 1 ACK).
    expect(fold).toContain("client -> server: 96 data segments (93.8 KiB)");
    expect(fold).toContain("server -> client: 48 ACKs");
    expect(text).toContain("FIN,ACK seq=100001");
  });

  it("keeps the header on the arrow and moves options that do not fit to the line below", () => {
    const options = { mss: 1460, wscale: 7, sackPermitted: true, timestamps: { value: 123456789, echo: 0 } };
    const events: TraceEvent[] = [
      ...seg("client", 0, SYN, J, 0).map((s) => ({ ...s, options })),
      ...seg("server", 1, SYN | ACK, K, J + 1).map((s) => ({ ...s, options })),
    ];
    const lines = renderLadder(events, { left: "client", right: "server", width: 60 }).trimEnd().split("\n");
    expect(lines[2]).toMatch(/^ +0\.000 \|-* SYN seq=0 win=65535 \[1000000\] -*>\|$/);
    expect(lines[3].trim()).toBe("<mss 1460, ws 7, sackOK, ts 123456789/0>");
    expect(lines[3].indexOf("<")).toBe(10); // under the left end of a left-to-right arrow
    expect(lines[4]).toMatch(/^ +0\.001 \|<-* SYN,ACK seq=0 ack=1 win=65535 \[4000000000\/1000001\] -*\|$/);
    expect(lines[5].trimEnd().length).toBe(lines[4].lastIndexOf("|")); // right-aligned under a right-to-left arrow
  });

  it("puts a label too long even without options on its own line above a bare arrow", () => {
    const events: TraceEvent[] = [...seg("server", 1, SYN | ACK, K, J + 1)];
    const lines = renderLadder(events, { left: "client", right: "server", width: 30 }).trimEnd().split("\n");
    expect(lines[2].trim()).toBe("SYN,ACK seq=0 ack=1000001 win=65535 [4000000000/1000001]"); // no SYN seen from the client: ack stays absolute
    expect(lines[3]).toMatch(/\|<-{28}\|$/);
  });
});

describe("ladder for learners", () => {
  const opts = (wscale: number) => ({ mss: 1460, wscale, sackPermitted: true });
  function scaledHandshake(): TraceEvent[] {
    return [
      ...seg("client", 0, SYN, J, 0).map((s) => ({ ...s, options: opts(7) })),
      ...seg("server", 1, SYN | ACK, K, J + 1).map((s) => ({ ...s, options: opts(3) })),
      ...seg("client", 2, ACK, J + 1, K + 1).map((s) => ({ ...s, window: 512 })),
      ...seg("server", 3, ACK, K + 1, J + 1).map((s) => ({ ...s, window: 512 })),
    ];
  }

  it("shows win= scaled by the sender's window scale once both SYNs offered it, the SYNs' raw", () => {
    const text = renderLadder(scaledHandshake(), { left: "client", right: "server", legend: true });
    const arrows = text.split("\n").filter((l) => l.includes("|"));
    expect(arrows[0]).toContain("SYN seq=0 win=65535 ");
    expect(arrows[1]).toContain("SYN,ACK seq=0 ack=1 win=65535 ");
    expect(arrows[2]).toContain("ACK seq=1 ack=1 win=65536 "); // 512 << 7
    expect(arrows[3]).toContain("ACK seq=1 ack=1 win=4096 "); // 512 << 3
    expect(text).toMatch(/win= +the receive window in bytes: the 16-bit window field times the sender's window scale factor \(client 128, server 8; RFC 7323 2\.2\)/);
    expect(text).toMatch(/\[s\/a\] +the absolute seq \(and ack\) as on the wire, shown on SYN, FIN and RST segments/);
    // Without the peer's offer, nothing is scaled (RFC 7323 2.2).
    const one = scaledHandshake();
    for (const e of one) if (e.kind === "segment" && e.endpoint === "server" && e.flags & SYN) e.options = { mss: 1460 };
    expect(renderLadder(one, { left: "client", right: "server" })).toContain("ACK seq=1 ack=1 win=512 ");
  });

  it("labels a tail-loss probe and a repair, draws them where they were sent, and explains them", () => {
    const events: TraceEvent[] = [
      ...classic().slice(0, 10),
      ...seg("client", 3, PSH | ACK, J + 1, K + 1, 100),
      // The server's ACK is sent at 3.5 and arrives at 30; the probe leaves at 20, in between.
      { kind: "segment", time: 3.5, endpoint: "server", direction: "out", flags: ACK, seq: K + 1, ack: J + 101, window: 65535, length: 0 },
      { kind: "segment", time: 20, endpoint: "client", direction: "out", flags: PSH | ACK, seq: J + 1, ack: K + 1, window: 65535, length: 100, retransmission: "probe" },
      { kind: "segment", time: 30, endpoint: "client", direction: "in", flags: ACK, seq: K + 1, ack: J + 101, window: 65535, length: 0 },
      { kind: "segment", time: 30.5, endpoint: "server", direction: "in", flags: PSH | ACK, seq: J + 1, ack: K + 1, window: 65535, length: 100 },
      ...seg("client", 40, PSH | ACK, J + 1, K + 1, 100).map((s) => (s.direction === "out" ? { ...s, retransmission: "repair" as const } : s)),
    ];
    const text = renderLadder(events, { left: "client", right: "server", legend: true });
    const arrows = text.split("\n").filter((l) => l.includes("|"));
    expect(arrows.slice(3).map((l) => l.replace(/-+/g, "-").replace(/^ +/, ""))).toEqual([
      "0.003 |- PSH,ACK seq=1 ack=1 len=100 win=65535 ->|",
      "0.004 |<- ACK seq=1 ack=101 win=65535 -|",
      "0.020 |- TLP PSH,ACK seq=1 ack=1 len=100 win=65535 ->|",
      "0.040 |- RTX PSH,ACK seq=1 ack=1 len=100 win=65535 ->|",
    ]);
    expect(text).toMatch(/TLP +a tail-loss probe \(RFC 8985 7\.3\)/);
    expect(text).toMatch(/RTX +data sent again to repair a loss/);
    // Only the notation used: no loss, no folding here.
    expect(text).not.toMatch(/^ +x +sent but lost/m);
    expect(text).not.toMatch(/^ +\.\.\. +a run/m);
  });

  it("fits every line into `columns`, wrapping long labels and the legend", () => {
    const events = classic().map((e) => (e.kind === "segment" && e.flags & SYN ? { ...e, options: { mss: 1460, wscale: 7, sackPermitted: true, timestamps: { value: 4000000000, echo: 4000000001 } } } : e));
    for (const columns of [60, 80, 100]) {
      const text = renderLadder(events, { left: "client", right: "server", leftTitle: "client 10.0.0.1:49152", rightTitle: "server 10.0.0.2:9", columns, legend: true });
      const lines = text.trimEnd().split("\n");
      expect(lines.filter((l) => l.length > columns)).toEqual([]);
      expect(lines[0]!.trimEnd().endsWith("server 10.0.0.2:9")).toBe(true);
      // The arrows span from the time column to the state column's start.
      const arrow = lines.find((l) => l.includes("SYN seq=0"))!;
      expect(arrow.lastIndexOf("|") - arrow.indexOf("|")).toBe(columns - 9 - 12);
    }
  });

  it("draws one ladder per connection, each with its own relative sequence numbers", () => {
    const tag = (events: TraceEvent[], cport: number): TraceEvent[] =>
      events.map((e) =>
        e.endpoint === "client" ? { ...e, local: `10.0.0.1:${cport}`, remote: "10.0.0.2:9" } : { ...e, local: "10.0.0.2:9", remote: `10.0.0.1:${cport}` },
      );
    const first = tag(classic().slice(1, 10), 49152);
    const J2 = 7_000_000;
    const K2 = 9_000_000;
    const second = tag(
      [...seg("client", 3, SYN, J2, 0), ...seg("server", 3.2, SYN | ACK, K2, J2 + 1), ...seg("client", 3.4, ACK, J2 + 1, K2 + 1)],
      49153,
    );
    // Interleaved in time: the second connection opens while the first is under way.
    const text = renderLadders([...first, ...second], { left: "client", right: "server" });
    const parts = text.split(/^connection \d of 2: /m).slice(1);
    expect(parts).toHaveLength(2);
    expect(parts[0]).toMatch(/^10\.0\.0\.1:49152 <-> 10\.0\.0\.2:9\n/);
    expect(parts[1]).toMatch(/^10\.0\.0\.1:49153 <-> 10\.0\.0\.2:9\n/);
    for (const [i, part] of parts.entries()) {
      expect(part).toContain(`client 10.0.0.1:${49152 + i}`);
      const arrows = part.split("\n").filter((l) => l.includes("|"));
      expect(arrows.map((l) => /(SYN|SYN,ACK|ACK) seq=(\d+)(?: ack=(\d+))?/.exec(l)!.slice(1).join(" "))).toEqual(["SYN 0 ", "SYN,ACK 0 1", "ACK 1 1"]);
    }
    expect(parts[1]).toContain(`[${J2}]`);
  });
});
