// Between guests, and from the host into the guests' network. Two Linux kernels, each in its own
// namespace behind a TAP device, are joined by createBridge; a tcpwasm gateway on a third bridge port
// gives both their addresses (DHCP, SLAAC) and lets nothing out. Guest B downloads 16 MiB from
// python3's http.server in guest A over IPv4 and IPv6 through the bridge alone; curl on the host
// downloads the same through forwardPort, a node:net listener on 127.0.0.1 / ::1 spliced by the
// gateway's stack to guest A. SHA-256 intact everywhere.
//
//   guest A (tap0, ns 1) --UdpLink--+
//   guest B (tap0, ns 2) --UdpLink--+-- createBridge -- bridge.port() -- createNodeGateway 10.0.2.2
//                                                                          ^ forwardPort <- curl on 127.0.0.1

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBridge, createNodeGateway, forwardPort, type Bridge, type Gateway, type PortForward } from "../../src/node.js";
import { createGuest, curlIn, curlOnHost, servePythonIn, type Guest } from "../fixtures/e2e/guests.js";
import { MIB, payload, sha256 } from "../fixtures/e2e/servers.js";
import { udhcpc, type Lease } from "../fixtures/interop/guest.js";
import { canRunNetns } from "../fixtures/interop/netns.js";
import { kernelAddresses } from "../fixtures/interop/tap.js";

const probe = canRunNetns(["udhcpc", "curl"]);
if (!probe.ok) console.warn(`bridge and port-forwarding tests SKIPPED: ${probe.reason}`);

const SIZE = 16 * MIB;
const PORT = 8080;

async function globalV6(guest: Guest): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const v6 = (await kernelAddresses(guest.ns, guest.t.tap)).v6.filter((a) => a.startsWith("fd00:2:"));
    if (v6.length) return v6[0]!;
    if (Date.now() > deadline) throw new Error(`${guest.ns.name} formed no address in fd00:2::/64`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(!probe.ok)("two kernel guests on a bridge, and port forwarding from the host", () => {
  let a: Guest;
  let b: Guest;
  let bridge: Bridge;
  let gateway: Gateway | undefined;
  let leases: [Lease, Lease];
  let v6a: string;
  const forwards: PortForward[] = [];
  let hostDir: string;
  const body = payload(0xb1d, SIZE);

  beforeAll(async () => {
    hostDir = mkdtempSync(join(tmpdir(), "tcpw-e2e-host-"));
    a = await createGuest({ mac: "02:00:00:77:00:0a" });
    b = await createGuest({ mac: "02:00:00:77:00:0b" });
    bridge = createBridge();
    bridge.add(a.link);
    bridge.add(b.link);
    gateway = await createNodeGateway({
      link: bridge.port(),
      address: ["10.0.2.2/24", "fd00:2::2/64"],
      mac: "02:00:00:77:00:02",
      // The guests' network only: no destination outside it is dialled, no name is looked up.
      allow: [],
      dns: { lookup: async () => null },
    });
    await Promise.all([a.t.up(), b.t.up()]);
    leases = await Promise.all([udhcpc(a.ns, a.t.tap, a.dir), udhcpc(b.ns, b.t.tap, b.dir)]);
    v6a = await globalV6(a);
    await globalV6(b);
    // python's "::" is dual-stack: guest A serves on both families.
    await servePythonIn(a.ns, a.dir, body, "::", PORT);
  });
  afterAll(async () => {
    for (const f of forwards) await f.close();
    gateway?.close();
    bridge?.close();
    await a?.destroy();
    await b?.destroy();
    if (hostDir) rmSync(hostDir, { recursive: true, force: true });
  });

  it("the guests got distinct addresses from the gateway on the bridge", () => {
    expect(leases[0].ip).toMatch(/^10\.0\.2\.\d+$/);
    expect(leases[1].ip).toMatch(/^10\.0\.2\.\d+$/);
    expect(leases[0].ip).not.toBe(leases[1].ip);
  });

  it("guest B downloads 16 MiB from guest A through the bridge, IPv4 and IPv6, SHA-256 intact", { timeout: 120_000 }, async () => {
    const sha = sha256(body);
    const got4 = await curlIn(b.ns, b.dir, `http://${leases[0].ip}:${PORT}/body.bin`, [], 60_000);
    const got6 = await curlIn(b.ns, b.dir, `http://[${v6a}]:${PORT}/body.bin`, [], 60_000);
    expect(got4).toMatchObject({ status: 200, bytes: SIZE, sha, exit: 0 });
    expect(got6).toMatchObject({ status: 200, bytes: SIZE, sha, exit: 0 });
    // Guest to guest: the gateway's stack carried none of it (it only ever saw DHCP, NDP and floods).
    expect(gateway!.forwarder.counters.requested).toBe(0);
  });

  it("curl on the host reaches guest A's server through forwardPort on 127.0.0.1 and ::1, 16 MiB, SHA-256 intact", { timeout: 120_000 }, async () => {
    const sha = sha256(body);
    const f4 = await forwardPort(gateway!.stack, { host: "127.0.0.1", port: 0, to: { address: leases[0].ip, port: PORT } });
    forwards.push(f4);
    const f6 = await forwardPort(gateway!.stack, { host: "::1", port: 0, to: { address: v6a, port: PORT } });
    forwards.push(f6);
    const got4 = await curlOnHost(hostDir, `http://127.0.0.1:${f4.port}/body.bin`, [], 60_000);
    const got6 = await curlOnHost(hostDir, `http://[::1]:${f6.port}/body.bin`, [], 60_000);
    expect(got4).toMatchObject({ status: 200, bytes: SIZE, sha, exit: 0 });
    expect(got6).toMatchObject({ status: 200, bytes: SIZE, sha, exit: 0 });
    expect([f4.connections, f6.connections]).toEqual([1, 1]);
  });

  it("a forward to a port nobody listens on resets the host's connection", async () => {
    const f = await forwardPort(gateway!.stack, { port: 0, to: { address: leases[0].ip, port: PORT + 1 } });
    forwards.push(f);
    const got = await curlOnHost(hostDir, `http://127.0.0.1:${f.port}/`, [], 10_000);
    expect(got.status).toBe(0);
    // 52: empty reply, 56: connection reset, 7: the reset came before curl read its non-blocking
    // connect's result (SO_ERROR is then ECONNRESET: "failed to connect"), as fast as the loopback
    // is; not 28, a timeout (the guest's RST is an answer).
    expect([7, 52, 56]).toContain(got.exit);
  });
});
