// The `tcpwasm` command's network flags in-process (src/tools/cli-network.ts): what a valid set of flags
// plans, the line that describes it, and the lookup through Node's dns.promises that --dns answers with
// (serveDns bounds how many run at once: test/services).
// The command-line errors themselves are checked end to end in cli.test.ts.
import { lookup } from "node:dns/promises";
import { describe, expect, it } from "vitest";
import { describeNetwork, lookupThroughNode, planNetwork } from "../../src/tools/cli-network.js";
import { UsageError } from "../../src/tools/cli-usage.js";

const udp = { "udp-bind": "127.0.0.1:7000", "udp-peer": "127.0.0.1:7001" };

describe("planNetwork", () => {
  it("a guest's network: the DHCP server's subnet is --ip's, --dns-name addresses gather per name", () => {
    const plan = planNetwork({
      ...udp, ip: "10.0.2.2/24", ip6: "fd00:2::2/64", tap: true, mac: "02:AB:00:00:00:02", dhcp: "10.0.2.15-10.0.2.100", dns: true,
      "dns-name": ["www.test=10.0.2.2", "WWW.test.=fd00:2::2", "gw.test=10.0.2.2"],
    });
    expect(plan).toEqual({
      addresses: ["10.0.2.2/24", "fd00:2::2/64"], v4: "10.0.2.2", v6: "fd00:2::2", udpBind: "127.0.0.1:7000", udpPeer: "127.0.0.1:7001",
      pcap: undefined, tap: true, mac: "02:ab:00:00:00:02",
      dhcp: { pool: "10.0.2.15-10.0.2.100", serverAddress: "10.0.2.2", subnet: "10.0.2.0/24" },
      dns: { names: { "www.test": ["10.0.2.2", "fd00:2::2"], "gw.test": ["10.0.2.2"] } },
    });
    expect(describeNetwork(plan, "02:ab:00:00:00:02")).toBe("UDP 127.0.0.1:7000 <-> 127.0.0.1:7001, TAP as 02:ab:00:00:00:02, DHCP 10.0.2.15-10.0.2.100, DNS");
  });

  it("a pool given as a prefix may be narrower than the subnet, and the subnet is --ip's network", () => {
    const plan = planNetwork({ ...udp, ip: "10.0.2.130/25", tap: true, dhcp: "10.0.2.192/27" });
    expect(plan.dhcp).toEqual({ pool: "10.0.2.192/27", serverAddress: "10.0.2.130", subnet: "10.0.2.128/25" });
    expect(plan.dns).toBeUndefined();
    expect(() => planNetwork({ ...udp, ip: "10.0.2.130/25", tap: true, dhcp: "10.0.2.64/27" })).toThrow(UsageError);
  });

  it("without --tap, --dhcp or --dns: a raw-IP link, as before", () => {
    const plan = planNetwork({ ...udp, ip6: "fd77::2/64" });
    expect(plan).toMatchObject({ addresses: ["fd77::2/64"], v4: undefined, v6: "fd77::2", tap: false, mac: undefined, dhcp: undefined, dns: undefined });
    expect(describeNetwork(plan, undefined)).toBe("UDP 127.0.0.1:7000 <-> 127.0.0.1:7001");
  });
});

describe("lookupThroughNode", () => {
  it("answers what Node's lookup finds (this machine's /etc/hosts for localhost)", async () => {
    const expected = (await lookup("localhost", { family: 4, all: true })).map((a) => a.address);
    expect(await lookupThroughNode("localhost", "A")).toEqual(expected);
  });
});
