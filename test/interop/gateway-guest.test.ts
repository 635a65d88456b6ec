// A guest browses through a tcpwasm gateway: the Linux kernel in a namespace, behind a TAP device, gets
// its IPv4 address by DHCP and its IPv6 address by SLAAC from createNodeGateway, resolves a name with
// the gateway's DNS, and curl downloads 16 MiB from node:http servers on this machine's 127.0.0.1 and
// ::1, spliced by the gateway to node:net, SHA-256 intact. A destination outside the gateway's
// allow-list is refused without anything being dialled.
//
//   namespace: curl -> kernel (DHCP 10.0.2.x, SLAAC fd00:2::/64) -> tap0 -> socat -> UDP
//   this process: UdpLink (Ethernet) -> createNodeGateway 10.0.2.2 / fd00:2::2
//       (hostLoopback: the gateway's own address stands for 127.0.0.1 / ::1) -> node:net -> node:http

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeGateway, type Gateway } from "../../src/node.js";
import { createGuest, curlWith, type Guest } from "../fixtures/e2e/guests.js";
import { MIB, payload, startNodeHttpServer, type LoopbackServer } from "../fixtures/e2e/servers.js";
import { inGuest, udhcpc, type Lease } from "../fixtures/interop/guest.js";
import { canRunNetns } from "../fixtures/interop/netns.js";
import { kernelAddresses } from "../fixtures/interop/tap.js";

const probe = canRunNetns(["udhcpc", "curl"]);
if (!probe.ok) console.warn(`gateway guest tests SKIPPED: ${probe.reason}`);

const SIZE = 16 * MIB;
const GATEWAY_V4 = "10.0.2.2";
const GATEWAY_V6 = "fd00:2::2";

// 1500 as most links; 9000 as a jumbo-frame link: the gateway hands the link's MTU out as DHCP option
// 26 and the 16 MiB cross in packets of up to 9000 octets end to end.
for (const mtu of [1500, 9000]) describe.skipIf(!probe.ok)(`a kernel guest browses through createNodeGateway spliced to node:net (MTU ${mtu})`, () => {
  let guest: Guest;
  let gateway: Gateway | undefined;
  let lease: Lease;
  const servers: LoopbackServer[] = [];
  const body = payload(0x9a7e, SIZE);

  beforeAll(async () => {
    guest = await createGuest({ mtu });
    servers.push(await startNodeHttpServer("127.0.0.1", body), await startNodeHttpServer("::1", body));
    const [v4, v6] = servers as [LoopbackServer, LoopbackServer];
    gateway = await createNodeGateway({
      link: guest.link,
      address: [`${GATEWAY_V4}/24`, `${GATEWAY_V6}/64`],
      mac: "02:00:00:77:00:02",
      hostLoopback: { v4: "127.0.0.1", v6: "::1" },
      // Only the two servers: nothing else on this machine or beyond it is the guest's to reach.
      allow: [`127.0.0.1:${v4.port}`, `[::1]:${v6.port}`],
      // One name of its own; every other name is unknown (nothing is asked of the machine's resolver).
      dns: { lookup: async () => null, names: { "host.test": [GATEWAY_V4, GATEWAY_V6] } },
    });
    await guest.t.up();
    lease = await udhcpc(guest.ns, guest.t.tap, guest.dir);
    // SLAAC from the gateway's router advertisements.
    const deadline = Date.now() + 15_000;
    while ((await kernelAddresses(guest.ns, guest.t.tap)).v6.length === 0) {
      if (Date.now() > deadline) throw new Error("the guest formed no global IPv6 address from the gateway's advertisements");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
  afterAll(async () => {
    gateway?.close();
    await guest?.destroy();
    for (const s of servers) await s.close();
  });

  const run = (command: string, args: string[], options: Parameters<typeof inGuest>[5]) => inGuest(guest.ns, guest.dir, lease.dns, command, args, options);

  it("DHCP names the gateway as router and DNS server and the link's MTU; SLAAC gives an address in its prefix", async () => {
    expect(lease.ip).toMatch(/^10\.0\.2\.\d+$/);
    expect(lease.router).toBe(GATEWAY_V4);
    expect(lease.dns).toBe(GATEWAY_V4);
    // RFC 2132 5.1, option 26: the link's MTU, sent when it is not Ethernet's 1500 (RFC 894).
    expect(lease.mtu).toBe(mtu === 1500 ? "" : String(mtu));
    const { v6 } = await kernelAddresses(guest.ns, guest.t.tap);
    expect(v6.some((a) => a.startsWith("fd00:2:"))).toBe(true);
  });

  it("curl fetches 16 MiB by name from node:http on 127.0.0.1 (IPv4) and ::1 (IPv6), SHA-256 intact", { timeout: 120_000 }, async () => {
    const [v4, v6] = servers as [LoopbackServer, LoopbackServer];
    const got4 = await curlWith(run, guest.dir, `http://host.test:${v4.port}/body.bin`, ["-4"], 60_000);
    const got6 = await curlWith(run, guest.dir, `http://host.test:${v6.port}/body.bin`, ["-6"], 60_000);
    expect(got4).toMatchObject({ status: 200, bytes: SIZE, sha: v4.sha, exit: 0 });
    expect(got6).toMatchObject({ status: 200, bytes: SIZE, sha: v6.sha, exit: 0 });
    expect(v4.requests).toEqual(["GET /body.bin"]);
    expect(v6.requests).toEqual(["GET /body.bin"]);
    // Full-sized segments at this MTU: the 32 MiB took no more frames than packets of mtu - 60 octets
    // of data (IPv6 and TCP headers with timestamps) would, plus the rest of the conversation.
    expect(guest.link.stats.tooBig).toBe(0);
    expect(guest.link.stats.sent).toBeLessThan((2 * SIZE) / (mtu - 60) + 2000);
  });

  it("a port outside the allow-list is refused at once and nothing is dialled", async () => {
    const [v4, v6] = servers as [LoopbackServer, LoopbackServer];
    // The IPv6 server's port over IPv4 is not on the list (127.0.0.1 and that port are not a pair).
    const refused = await curlWith(run, guest.dir, `http://host.test:${v6.port}/body.bin`, ["-4"], 10_000);
    expect(refused.status).toBe(0);
    expect(refused.exit).not.toBe(0);
    expect(refused.exit).not.toBe(28); // curl's timeout: a refusal is an answer, not silence
    expect(v4.requests).toHaveLength(1);
    expect(v6.requests).toHaveLength(1);
  });
});
