// UDP in gateway mode: the catch-all socket (OpenUdpOptions.catchAll, assembly/engine/udp.ts) and the
// flow forwarder (serveUdpForwarder) behind createNodeGateway, to a node:dgram echo server on the
// loopback; answers come back from the address and port the guest sent to. Real clock (node:dgram).
import { afterEach, describe, expect, it } from "vitest";
import * as dgram from "node:dgram";
import { createStack, type Stack, type UdpMessage } from "../../src/tcp/stack.js";
import { createNodeGateway, dgramNode } from "../../src/gateway/node-gateway.js";
import type { Gateway } from "../../src/gateway/gateway.js";
import { VirtualNet } from "../fixtures/stack-pair.js";

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

function waitFor<T>(get: () => T | undefined, ms = 10_000): Promise<T> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const v = get();
      if (v !== undefined) resolve(v);
      else if (Date.now() - start > ms) reject(new Error("timed out"));
      else setTimeout(tick, 2);
    };
    tick();
  });
}

async function setup(udp?: false): Promise<{ guest: Stack; gw: Gateway; port: number }> {
  const echo = dgram.createSocket("udp4");
  echo.on("message", (msg, r) => echo.send(Buffer.concat([Buffer.from("echo:"), msg]), r.port, r.address));
  await new Promise<void>((resolve) => echo.bind(0, "127.0.0.1", resolve));
  const port = echo.address().port;
  const net = new VirtualNet("real");
  const [guestEnd, gatewayEnd] = net.linkPair({ framing: "ethernet" });
  const gw = await createNodeGateway({
    link: gatewayEnd,
    dhcp: false,
    deny: ["203.0.113.0/24:*"],
    ...(udp === false
      ? { udp: false as const }
      : { udp: (info, reply) => (info.localAddress.startsWith("203.") ? "drop" : dgramNode({ ...info, localAddress: "127.0.0.1" }, reply)) }),
  });
  const guest = await createStack({ addresses: ["10.0.2.15/24"] });
  guest.attach(guestEnd, { gateway: "10.0.2.2" });
  cleanup.push(() => {
    guest.close();
    gw.close();
    echo.close();
  });
  return { guest, gw, port };
}

describe("gateway: UDP flows", () => {
  it("a datagram to any address reaches the far side; the answer comes back from that address and port", async () => {
    const { guest, gw, port } = await setup();
    const got: UdpMessage[] = [];
    const sock = guest.openUdp({}, (m) => got.push(m));
    sock.send(new TextEncoder().encode("one"), "198.51.100.9", port);
    const m = await waitFor(() => got[0]);
    expect(new TextDecoder().decode(m.data)).toBe("echo:one");
    expect([m.remoteAddress, m.remotePort]).toEqual(["198.51.100.9", port]);
    // The same flow again, and a second flow from another guest port.
    sock.send(new TextEncoder().encode("two"), "198.51.100.9", port);
    const other: UdpMessage[] = [];
    guest.openUdp({}, (x) => other.push(x)).send(new TextEncoder().encode("three"), "198.51.100.9", port);
    await waitFor(() => (got.length === 2 && other.length === 1 ? true : undefined));
    expect(gw.udp!.counters).toMatchObject({ flows: 2, datagramsUp: 3, datagramsDown: 3 });
    expect(gw.udp!.flows).toBe(2);
  });

  it("a dropped flow gets nothing back; with no UDP policy a connected guest socket hears ICMP port unreachable (ECONNREFUSED)", async () => {
    const { guest, gw, port } = await setup();
    const got: UdpMessage[] = [];
    guest.openUdp({}, (m) => got.push(m)).send(new Uint8Array(4), "203.0.113.5", port);
    await waitFor(() => (gw.udp!.counters.dropped === 1 ? true : undefined));
    expect(got).toEqual([]);

    const plain = await setup(false);
    const sock = plain.guest.openUdp({ remoteAddress: "198.51.100.9", remotePort: plain.port }, () => {});
    const error = new Promise<string>((resolve) => sock.onError((e) => resolve(e.code)));
    sock.send(new Uint8Array(4));
    expect(await error).toBe("ECONNREFUSED");
  });
});
