// The one "raw engine" figure a face's bulk row is divided by (Node only: it runs bench/engine.bench.ts's
// bulk, which hashes with node:crypto and copies packets with test/fixtures/pair.ts).
//
// Three raw-engine figures used to stand beside the faces, and they differed by 3x for reasons that
// had nothing to do with the faces:
// - engine.bench.ts bulk (MTU 1500, ~27 Gbit/s quiet): the host writes the send ring and consumes the
//   receive ring in place, each packet is copied once from the sender's TX region into the
//   receiver's RX region, no segmentation offload;
// - bench/lib/raw-engine.ts rawBulk (~8 Gbit/s): 64 KiB Engine.send copies in, every TX batch copied
//   out into a fresh buffer (Engine.output keep), copied into the RX region (Engine.input), every
//   read copied out into a fresh buffer (Engine.recv): two more passes than the engine needs, both
//   into newly allocated memory, which is what costs most, and no offload either;
// - quick.bench.ts: engine.bench.ts's bulk on a quarter of the bytes with no warm-up (15-24 Gbit/s:
//   the connection's start and V8's first tiers weigh more in a shorter run).
// None of them had the capabilities of the link the faces' rows run over: createMemoryLinkPair()
// declares segmentation offload (Link.offloadMtu 65535), so the stacks send 64 KiB segments, while
// every raw figure sent 1460-byte ones.
//
// rawEngineBulk is engine.bench.ts's bulk, given the MTU and the offload of the very link a face row
// runs over (read from a pair made the same way), so "/ raw engine" always means: the same engine
// build (SIMD release), the same MTU and segment sizes, checksums computed and verified, and nothing
// between the engines but one copy per packet.
import { createMemoryLinkPair } from "../../src/net/memory-link.js";
import { DEFAULT_MTU } from "../../src/net/link.js";
import { bulk } from "../engine.bench.js";
import { microtaskLinkPair } from "./raw-engine.js";

export type FaceLink = "microtask" | "memory";

/** The MTU and segmentation offload (0: none) of the link `stacks(link)` (face-rows.ts) attaches. */
export function linkCapabilities(link: FaceLink): { mtu: number; offloadMtu: number } {
  const [end] = link === "memory" ? createMemoryLinkPair() : microtaskLinkPair();
  const mtu = end.mtu || DEFAULT_MTU;
  const offloadMtu = end.offloadMtu ?? 0;
  end.close();
  return { mtu, offloadMtu };
}

/** Gbit/s of `bytes` one way between two raw engines with `link`'s MTU and offload (engine.bench.ts bulk). */
export async function rawEngineBulk(bytes: number, link: FaceLink): Promise<number> {
  const { mtu, offloadMtu } = linkCapabilities(link);
  return (await bulk(mtu, bytes, false, offloadMtu)).gbps;
}

/** How the baseline of `link`'s rows is set up, for a bench's prose. */
export function rawEngineText(link: FaceLink): string {
  const { mtu, offloadMtu } = linkCapabilities(link);
  return `MTU ${mtu}, ${offloadMtu ? `segmentation offload ${offloadMtu} (Link.offloadMtu, as the link declares)` : "no segmentation offload"}`;
}
