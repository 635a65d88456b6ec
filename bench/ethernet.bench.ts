// What Ethernet framing costs bulk TCP (issue target: >= 0.95x the raw-IP link in the same run): two
// stacks (src/tcp/stack.ts, SIMD release build) over the memory link (src/net/memory-link.ts, no
// faults), once with raw IP packets and once with Ethernet II frames (ARP resolves the peer first;
// every packet then gets its header in the core's TX headroom and is parsed as a frame on the way
// in). Baseline: the raw-IP memory link, same process, runs interleaved. Also the neighbour cache's
// cost per entry (cells and hash index, Engine.neighbours) and the WebAssembly memory of a stack with
// one Ethernet link next to one with a raw-IP link.
import { createStack, type Stack } from "../src/index.js";
import { createMemoryLinkPair } from "../src/net/memory-link.js";
import { stackApiBulk } from "./lib/face-rows.js";
import { interleaved, median } from "./lib/sample.js";

const BULK_MIB = 128;
const RUNS = 5;

async function stacks(framing: "ip" | "ethernet"): Promise<[Stack, Stack]> {
  const [la, lb] = createMemoryLinkPair({ framing });
  const a = await createStack({ addresses: ["10.0.0.1/24"], flavor: "simd" });
  const b = await createStack({ addresses: ["10.0.0.2/24"], flavor: "simd" });
  a.attach(la);
  b.attach(lb);
  return [a, b];
}

/** Gbit/s of `bytes` one way, from the first write (after the handshake) to the last byte read. */
async function bulk(framing: "ip" | "ethernet", bytes: number): Promise<number> {
  const [a, b] = await stacks(framing);
  const gbps = await stackApiBulk(a, b, bytes);
  const counters = [a.counters(), b.counters()];
  a.close();
  b.close();
  if (framing === "ethernet" && counters.some((k) => k.framesDropped + k.neighbourPendingDropped !== 0)) throw new Error("bench: frames dropped");
  return gbps;
}

export default async () => {
  const bytes = BULK_MIB << 20;
  await bulk("ip", 16 << 20);
  await bulk("ethernet", 16 << 20);
  const runs = await interleaved(RUNS, { ip: () => bulk("ip", bytes), ethernet: () => bulk("ethernet", bytes) });
  const ip = median(runs.ip);
  const eth = median(runs.ethernet);
  const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)} - ${Math.max(...xs).toFixed(2)}`;

  const [ea] = await stacks("ethernet");
  const [ia] = await stacks("ip");
  const n = ea.engine.neighbours();
  const mib = (s: Stack) => (s.engine.memory.u8.buffer.byteLength / (1 << 20)).toFixed(2);
  const memory = [mib(ea), mib(ia)];
  ea.close();
  ia.close();

  const markdown = `Baseline: the same two stacks over the raw-IP memory link, in the same run (runs interleaved,
${RUNS} each, ${BULK_MIB} MiB one way in 64 KiB writes, no faults, MTU 1500).

| bulk, stack to stack over the memory link | Gbit/s (median) | min - max | / raw IP |
|---|---:|---:|---:|
| raw IP packets | ${ip.toFixed(2)} | ${range(runs.ip)} | 1.00x |
| Ethernet II frames (ARP, headers in the TX headroom) | ${eth.toFixed(2)} | ${range(runs.ethernet)} | ${(eth / ip).toFixed(2)}x |

Neighbour cache (ARP and IPv6 neighbour discovery, assembly/engine/neighbour.ts): ${n.capacity} entries
allocated with the first Ethernet link, ${n.bytesPerEntry} bytes per entry (its cell and its share of
the hash index); the pending-packet pool is 32 slots of one MTU each beside it. WebAssembly memory of a
stack with one Ethernet link: ${memory[0]} MiB; with one raw-IP link: ${memory[1]} MiB.

Issue 11 targets: Ethernet >= 0.95x the raw-IP link; <= 64 bytes per idle cache entry.`;
  return { title: "Ethernet links: bulk TCP over frames vs raw IP (bench/ethernet.bench.ts)", markdown };
};
