// Loopback (RFC 1122 3.2.1.3 and 3.3.4.2, RFC 4291 2.5.3): a stack reaches its own addresses and
// 127.0.0.0/8 and ::1 without any link, as a host does over its lo interface; loopback addresses never
// leave it and are never taken from a link. One stack on the virtual clock (test/fixtures/stack-pair.ts).
import { describe, expect, it } from "vitest";
import type { Stack, StackConnection } from "../../src/tcp/stack.js";
import { VirtualNet } from "../fixtures/stack-pair.js";
import { collect, connected, data, echoRequest, sha, writeAll } from "../fixtures/stack-util.js";
import { parseIpv4 } from "../../src/core/address.js";

/** The error a connection closes with. */
function closedWith(conn: StackConnection): Promise<string | undefined> {
  return new Promise((resolve) => (conn.onClose = (err) => resolve(err?.code)));
}

/** Echo `bytes` through a listener on `port` of `stack` from a connection to `remote`. */
async function roundTrip(net: VirtualNet, stack: Stack, remote: string, port: number, bytes: Uint8Array, address?: string): Promise<{ client: StackConnection; server: StackConnection; back: string }> {
  const serverP = new Promise<StackConnection>((resolve) => {
    const l = stack.openListener({ port, address }, (conn) => {
      l.close();
      resolve(conn);
    });
  });
  const client = stack.openConnection({ remote, remotePort: port });
  await net.wait(connected(client), `connect to ${remote}`);
  const server = await net.wait(serverP, "accept");
  const atServer = collect(server);
  const atClient = collect(client);
  await net.wait(writeAll(client, bytes, true), "client write");
  await net.wait(atServer.ended, "server reads to FIN");
  expect(sha(atServer.chunks)).toBe(sha([bytes]));
  await net.wait(writeAll(server, bytes, true), "server write");
  await net.wait(atClient.ended, "client reads to FIN");
  return { client, server, back: sha(atClient.chunks) };
}

describe("loopback", () => {
  for (const [remote, local] of [["127.0.0.1", "127.0.0.1"], ["127.8.9.10", "127.0.0.1"], ["::1", "::1"], ["10.0.0.1", "10.0.0.1"], ["fd00::1", "fd00::1"]] as const) {
    it(`a stack with no link connects to ${remote} and moves 1 MiB each way intact (from ${local})`, async () => {
      const net = new VirtualNet();
      const stack = await net.stack({ addresses: ["10.0.0.1/24", "fd00::1/64"], name: "host" });
      const bytes = data(1 << 20, 7);
      const { client, back } = await roundTrip(net, stack, remote, 80, bytes);
      expect(back).toBe(sha([bytes]));
      expect(client.localAddress).toBe(local);
      expect(client.remoteAddress).toBe(remote);
      const c = stack.counters();
      expect(c.loopback).toBeGreaterThan(0);
      expect(c.noRoute).toBe(0);
      net.close();
    });
  }

  it("loopback takes large segments (MSS from a 65,535-byte path), and a closed port answers with RST (ECONNREFUSED)", async () => {
    const net = new VirtualNet();
    const stack = await net.stack({ addresses: ["10.0.0.1/24"], name: "host" });
    stack.openListener({ port: 80 }, () => {});
    const client = stack.openConnection({ remote: "127.0.0.1", remotePort: 80 });
    await net.wait(connected(client), "connect");
    // 65,535 less the IPv4 and TCP headers and the 12 bytes of the timestamp option (RFC 7323 3).
    expect(stack.engine.status(client.id).sendMss).toBe(65535 - 40 - 12);
    client.abort();
    const refused = stack.openConnection({ remote: "127.0.0.1", remotePort: 81 });
    expect(await net.wait(closedWith(refused), "refusal")).toBe("ECONNREFUSED");
    net.close();
  });

  it("an IPv4-only stack still reaches ::1 (loopback needs no configured address)", async () => {
    const net = new VirtualNet();
    const stack = await net.stack({ addresses: ["10.0.0.1/24"], name: "host" });
    const refused = stack.openConnection({ remote: "::1", remotePort: 9 });
    // No IPv6 listener: the stack's own RST refuses it, which proves the SYN came back in.
    expect(await net.wait(closedWith(refused), "refusal")).toBe("ECONNREFUSED");
    net.close();
  });

  it("with a link attached, packets to itself still never reach the link; a link's packets to 127.0.0.1 or from it are dropped", async () => {
    const net = new VirtualNet();
    const [a, b] = net.linkPair();
    const stack = await net.stack({ addresses: ["10.0.0.1/24"], name: "host" });
    stack.attach(a);
    const seen: Uint8Array[] = [];
    b.onReceive((packets) => seen.push(...packets));
    await roundTrip(net, stack, "10.0.0.1", 80, data(64 * 1024, 5));
    await net.advance(10);
    expect(seen.length).toBe(0);
    // From the link: an echo request to 127.0.0.1, and one to our address from 127.0.0.1.
    const toLoopback = echoRequest(parseIpv4("10.0.0.9")!, parseIpv4("127.0.0.1")!);
    const fromLoopback = echoRequest(parseIpv4("127.0.0.1")!, parseIpv4("10.0.0.1")!);
    const before = stack.counters();
    b.send([toLoopback, fromLoopback]);
    await net.advance(10);
    const after = stack.counters();
    expect(after.notForUs - before.notForUs + after.linkDropped - before.linkDropped).toBe(2);
    expect(after.icmpEchoReplies).toBe(before.icmpEchoReplies);
    expect(seen.length).toBe(0);
    net.close();
  });

  it("a listener bound to 127.0.0.1 takes loopback connections; binding another stack-foreign address is refused", async () => {
    const net = new VirtualNet();
    const stack = await net.stack({ addresses: ["10.0.0.1/24"], name: "host" });
    const bytes = data(4096, 9);
    const { back } = await roundTrip(net, stack, "127.0.0.1", 8080, bytes, "127.0.0.1");
    expect(back).toBe(sha([bytes]));
    expect(() => stack.openListener({ port: 8081, address: "10.0.0.77" }, () => {})).toThrow(expect.objectContaining({ code: "EADDRNOTAVAIL" }));
    net.close();
  });
});
