// One rule for an address given without a prefix, the same in createStack and the `tcpwasm` command
// (test/host/cli.test.ts checks the command's side): "10.0.0.1" is that one address, /32 (or /128 for
// IPv6), a subnet holding nothing else. On an Ethernet link with a gateway (inside another of the
// stack's prefixes) every other destination is then off-link and goes to the gateway; with
// "10.0.0.1/24" a neighbour in the /24 is reached directly.
import { describe, expect, it } from "vitest";
import { StackPair } from "../fixtures/stack-pair.js";
import { createStack } from "../../src/tcp/stack.js";

const etherType = (f: Uint8Array) => (f[12]! << 8) | f[13]!;
/** The target protocol address of each ARP request among `frames` (RFC 826). */
const arpTargets = (frames: Uint8Array[]) =>
  frames.filter((f) => etherType(f) === 0x0806 && f[21] === 1).map((f) => f.subarray(38, 42).join("."));

/**
 * Who the client asks ARP for when it connects to 10.0.0.2, with `address` as its own next to
 * 192.168.0.1/24, where its gateway 192.168.0.254 is (a gateway must be on the link).
 */
async function arpFor(address: string): Promise<string[]> {
  const p = await StackPair.create({
    flavor: "auto",
    config: { rtoInitialMs: 200, rtoMinMs: 100, mslMs: 50 },
    link: { framing: "ethernet" },
    addresses: { a: [address, "192.168.0.1/24"], b: ["10.0.0.2/24"] },
    attach: { a: { mac: "02:00:00:00:00:0a", gateway: ["192.168.0.254"] }, b: { mac: "02:00:00:00:00:0b" } },
  });
  const frames: Uint8Array[] = [];
  const send = p.la.send.bind(p.la);
  p.la.send = (batch: Uint8Array[]) => {
    for (const f of batch) frames.push(f.slice());
    send(batch);
  };
  try {
    const conn = p.a.openConnection({ remote: "10.0.0.2", remotePort: 80 });
    await p.advance(50);
    conn.abort();
    // Not the announcements of its own addresses (RFC 5227: sender = target).
    return arpTargets(frames).filter((t) => t !== address.split("/")[0] && t !== "192.168.0.1");
  } finally {
    p.close();
  }
}

describe("an address without a prefix", () => {
  it("is its /32 or /128: stack.addresses shows the length taken", async () => {
    const stack = await createStack({ addresses: ["10.0.0.1", "fd00::1", "10.1.0.1/16"] });
    expect(stack.addresses).toEqual(["10.0.0.1/32", "fd00::1/128", "10.1.0.1/16"]);
    stack.close();
  });

  it("holds no neighbour: with a gateway, 10.0.0.2 is reached through it; with /24, directly", async () => {
    expect(await arpFor("10.0.0.1")).toEqual(["192.168.0.254"]);
    expect(await arpFor("10.0.0.1/32")).toEqual(["192.168.0.254"]);
    expect(await arpFor("10.0.0.1/24")).toEqual(["10.0.0.2"]);
  });

  it("a bad length is still refused, naming the rule", async () => {
    await expect(createStack({ addresses: ["10.0.0.1/33"] })).rejects.toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
    await expect(createStack({ addresses: ["10.0.0"] })).rejects.toThrow(/alone \(its \/32 or \/128\)/);
  });
});
