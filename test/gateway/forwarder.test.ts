// Gateway mode on one stack (src/tcp/held.ts, assembly/engine/forward.ts): a guest stack behind an
// Ethernet memory link reaches any address through the gateway stack, whose forwarder holds each SYN
// until it decides. On the virtual clock; the guest's own segments are traced.
import { describe, expect, it } from "vitest";
import { StackPair } from "../fixtures/stack-pair.js";
import { collect, connected, data, sha, writeAll } from "../fixtures/stack-util.js";
import type { HeldConnection } from "../../src/tcp/stack.js";
import type { StackConnection } from "../../src/tcp/connection.js";

const FAST = { rtoInitialMs: 200, rtoMinMs: 100, mslMs: 50 };

async function gatewayPair(anyDestination: boolean | { echo?: boolean } = true): Promise<StackPair> {
  return StackPair.create({
    config: FAST,
    trace: true,
    link: { framing: "ethernet" },
    addresses: { a: ["10.0.2.15/24", "fd00::15/64"], b: ["10.0.2.2/24", "fd00::2/64"] },
    attach: { a: { gateway: ["10.0.2.2", "fd00::2"] }, b: { anyDestination } },
  });
}

function closed(conn: StackConnection): Promise<string | undefined> {
  return new Promise((resolve) => {
    conn.onClose = (error) => resolve(error?.code);
  });
}

describe("gateway: the any-destination listener", () => {
  for (const [family, remote] of [["IPv4", "93.184.216.34"], ["IPv6", "2001:db8::80"]] as const) {
    it(`${family}: a SYN to any address is held, the SYN,ACK leaves only on accept(), data flows both ways`, async () => {
      const p = await gatewayPair();
      const helds: HeldConnection[] = [];
      p.b.openForwarder({}, (h) => helds.push(h));
      const conn = p.a.openConnection({ remote, remotePort: 443 });
      let established = false;
      conn.onConnect = () => (established = true);
      await p.runUntil(() => helds.length === 1, "held SYN");
      const h = helds[0]!;
      expect([h.localAddress, h.localPort, h.remoteAddress]).toEqual([remote, 443, family === "IPv4" ? "10.0.2.15" : "fd00::15"]);
      expect(h.remotePort).toBe(conn.localPort);
      // Held: three seconds pass (the guest retransmits its SYN) and no SYN,ACK is sent.
      await p.advance(3000);
      expect(established).toBe(false);
      expect(p.sent("server").filter((s) => s.startsWith("SYN"))).toEqual([]);
      expect(p.sent("client").filter((s) => s.startsWith("SYN")).length).toBeGreaterThan(1);
      const far = h.accept();
      await p.wait(connected(conn), "connect");
      const atGateway = collect(far);
      const atGuest = collect(conn);
      const up = data(200_000, 1);
      const down = data(300_000, 2);
      await p.wait(writeAll(conn, up, true), "up");
      await p.wait(atGateway.ended, "up end");
      await p.wait(writeAll(far, down, true), "down");
      await p.wait(atGuest.ended, "down end");
      expect(sha(atGateway.chunks)).toBe(sha([up]));
      expect(sha(atGuest.chunks)).toBe(sha([down]));
      expect(() => h.accept()).toThrow(expect.objectContaining({ code: "ERR_INVALID_STATE" }));
    });
  }

  it("refuse(): a RST the guest reports as ECONNREFUSED", async () => {
    const p = await gatewayPair();
    p.b.openForwarder({}, (h) => h.refuse());
    const conn = p.a.openConnection({ remote: "198.51.100.7", remotePort: 25 });
    expect(await p.wait(closed(conn), "refused")).toBe("ECONNREFUSED");
    expect(p.sent("server")).toEqual(["RST,ACK 0"]);
  });

  it("the forwarder's connection options apply to its connections (a 1 MiB receive buffer)", async () => {
    const p = await gatewayPair();
    const helds: HeldConnection[] = [];
    p.b.openForwarder({ recvBuffer: 1 << 20 }, (h) => helds.push(h));
    const conn = p.a.openConnection({ remote: "192.0.2.9", remotePort: 80 });
    await p.runUntil(() => helds.length === 1, "held SYN");
    const far = helds[0]!.accept();
    await p.wait(connected(conn), "connect");
    // The window scale offered in the SYN,ACK follows the buffer (RFC 7323 2.2): 2^20 needs a shift of 5.
    expect(far.status().rcvShift).toBe(5);
    expect(() => p.b.openForwarder({ recvBuffer: -1 }, () => {})).toThrow(expect.objectContaining({ code: "ERR_OUT_OF_RANGE" }));
  });
});
