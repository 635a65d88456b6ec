// The wire computation the browser test runs on both sides: in chromium against the built bundle
// (the harness serves this file to the page, bundled with the Prng it imports) and in Node against
// src/. The package is passed in rather than imported, so in the page every tcpwasm call goes through
// the dist/ file under test; only the type import below names src/, and it is erased.
import type * as Tcpwasm from "../../src/index.js";
import type { Flavor, PacketFields, ParsedPacket, ParseError } from "../../src/index.js";
import { Prng } from "../../src/core/prng.js";

export type WireApi = Pick<typeof Tcpwasm, "loadEngine" | "loadWire" | "simdSupported">;

export interface WireWorkloadInput {
  seed: number;
  /** Bytes of pseudo-random data to checksum (1 MiB in the test). */
  size: number;
}

/** A parsed packet as JSON: the payload view becomes hex. */
type ParsedJson = Omit<ParsedPacket, "payload"> & { payload: string };

export interface WireWorkloadResult {
  simdSupported: boolean;
  /** The build loadEngine() picks on its own. */
  autoFlavor: Flavor;
  /** Per build: the checksum of all the bytes, and of an odd-length slice at an odd offset. */
  checksums: Record<Flavor, { whole: number; oddSlice: number }>;
  packets: Array<{ hex: string; parsed: ParsedJson | ParseError; afterBitFlip: ParsedJson | ParseError }>;
}

export const FLAVORS: Flavor[] = ["simd", "scalar", "debug"];

/** The packets encoded, parsed and corrupted; `payloadLength` bytes of the random data are the payload. */
export const PACKETS: Array<Omit<PacketFields, "payload"> & { payloadLength: number }> = [
  {
    src: "10.77.0.1",
    dst: "10.77.0.2",
    srcPort: 49152,
    dstPort: 80,
    seq: 0xfffffff0,
    flags: { syn: true },
    window: 64240,
    ipId: 0x1234,
    options: { mss: 1460, sackPermitted: true, timestamps: { value: 123456789, echo: 0 }, wscale: 7 },
    payloadLength: 0,
  },
  {
    src: "fd77::1",
    dst: "fd77::2",
    srcPort: 443,
    dstPort: 50000,
    seq: 1000,
    ack: 2000,
    flags: { ack: true, psh: true },
    window: 501,
    flowLabel: 0xabcde,
    options: { timestamps: { value: 7, echo: 9 }, sack: [[3000, 4000]] },
    payloadLength: 1000,
  },
];

export async function wireWorkload(api: WireApi, input: WireWorkloadInput): Promise<WireWorkloadResult> {
  const bytes = new Prng(input.seed).fill(new Uint8Array(input.size));
  const checksums = {} as WireWorkloadResult["checksums"];
  for (const flavor of FLAVORS) {
    const wire = await api.loadWire({ flavor });
    checksums[flavor] = { whole: wire.checksum(bytes), oddSlice: wire.checksum(bytes.subarray(3, 3 + 65_535)) };
  }
  const wire = await api.loadWire();
  const packets = PACKETS.map(({ payloadLength, ...fields }) => {
    const packet = wire.encodePacket({ ...fields, payload: bytes.subarray(0, payloadLength) });
    const flipped = packet.slice();
    flipped[flipped.length - 1]! ^= 0x01; // the last byte: payload, or a TCP option when there is none
    return {
      hex: toHex(packet),
      parsed: toJson(wire.parsePacket(packet)),
      afterBitFlip: toJson(wire.parsePacket(flipped)),
    };
  });
  return { simdSupported: api.simdSupported(), autoFlavor: (await api.loadEngine()).flavor, checksums, packets };
}

function toJson(result: ParsedPacket | ParseError): ParsedJson | ParseError {
  return "error" in result ? result : { ...result, payload: toHex(result.payload) };
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
