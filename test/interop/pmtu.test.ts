// Path MTU Discovery against the Linux kernel (RFC 1191, RFC 8201): the kernel of the scene's
// namespace is a router between the stack's TUN (MTU 1500) and a veth of MTU 1280 into a second
// namespace, where a node:net server listens. That server's route advertises the full MSS (advmss), so
// the stack sends 1500-byte packets, which the router cannot forward: it answers each with ICMP
// "fragmentation needed" or ICMPv6 "packet too big", and the transfer completes only if the stack
// believes them and sends smaller segments.
//
//   stack 10.77.0.2 -- tw0 (1500) -- kernel router -- tm0 (1280) ~veth~ tm1 (1280) -- kernel server 10.78.0.2
//         fd77::2                   10.77.0.1 / fd77::1  10.78.0.1 / fd78::1           fd78::2

import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunNetns, Netns } from "../fixtures/interop/netns.js";
import { KernelAgent } from "../fixtures/interop/peers.js";
import { connected, createScene, FAMILIES, Observed, writeRandom, type Scene } from "../fixtures/interop/scene.js";

const probe = canRunNetns();
if (!probe.ok) console.warn(`interop pmtu tests SKIPPED: ${probe.reason}`);

const MIB = 2 ** 20;
const NARROW_MTU = 1280;
const FAR = { 4: "10.78.0.2", 6: "fd78::2" } as const;

for (const f of FAMILIES) {
  describe.skipIf(!probe.ok)(`PMTUD through the kernel as a router, ${f.name}`, () => {
    let s: Scene;
    let far: Netns;
    let agent: KernelAgent | undefined;
    beforeAll(async () => {
      s = await createScene({ pcap: false });
      far = await Netns.create();
      const router = s.t.ns;
      // The veth's ends go straight into the two namespaces; deleting a namespace deletes its end.
      execFileSync("ip", ["link", "add", "tm0", "netns", router.name, "type", "veth", "peer", "name", "tm1", "netns", far.name]);
      await router.run("sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
      await router.run("sysctl", ["-qw", "net.ipv6.conf.all.forwarding=1"]);
      await router.run("ip", ["link", "set", "tm0", "mtu", String(NARROW_MTU), "up"]);
      await router.run("ip", ["addr", "add", "10.78.0.1/24", "dev", "tm0"]);
      await router.run("ip", ["-6", "addr", "add", "fd78::1/64", "dev", "tm0", "nodad"]);
      await far.run("ip", ["link", "set", "tm1", "mtu", String(NARROW_MTU), "up"]);
      await far.run("ip", ["addr", "add", "10.78.0.2/24", "dev", "tm1"]);
      await far.run("ip", ["-6", "addr", "add", "fd78::2/64", "dev", "tm1", "nodad"]);
      // advmss: the server advertises an Ethernet-sized MSS although its own link is narrower, as a
      // host behind a tunnel or a PPPoE hop does.
      await far.run("ip", ["route", "add", "10.77.0.0/24", "via", "10.78.0.1", "advmss", "1460"]);
      await far.run("ip", ["-6", "route", "add", "fd77::/64", "via", "fd78::1", "advmss", "1440"]);
    });
    afterAll(async () => {
      agent?.stop();
      await s?.destroy();
      await far?.destroy();
    });

    it(`sends 8 MiB to a kernel server behind a ${NARROW_MTU}-byte hop: the ICMP errors shrink the segments and every byte arrives`, async () => {
      agent = await KernelAgent.start(far);
      agent.send("listen", { host: FAR[f.family], port: 7010 });
      await agent.next("listening");
      const conn = s.stack.openConnection({ remote: FAR[f.family], remotePort: 7010 });
      const seen = new Observed(conn);
      await connected(conn);
      const headers = f.family === 6 ? 60 : 40;
      // Our SYN offered the TUN link's MSS, and the server's SYN,ACK its advmss: 1500-byte packets.
      expect(conn.status()).toMatchObject({ localMss: 1500 - headers, peerMss: 1500 - headers });
      const sent = await writeRandom(conn, 8 * MIB, { ms: 120_000 });
      const status = conn.status();
      const kernelEnd = await agent.next("end", 120_000);
      expect(kernelEnd).toMatchObject({ received: 8 * MIB, sha: sent });
      // Timestamps (which Linux offers) take 12 bytes of each segment.
      expect(status.sendMss).toBe(NARROW_MTU - headers - 12);
      expect(status.localMss).toBe(1500 - headers);
      const c = s.stack.counters();
      expect(c.icmpTooBig).toBeGreaterThanOrEqual(1);
      agent.send("end");
      expect(await seen.untilEnd(30_000)).toMatchObject({ bytes: 0, ended: true });
      expect(await seen.untilClose()).toBeUndefined();
    });
  });
}
