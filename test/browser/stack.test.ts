// Two stacks in a browser page, with no bundler: Debian's headless chromium loads
// dist/tcpwasm.browser.js from a plain <script type="module">, runs two stacks over an in-memory link
// and moves 1 MiB each way through the Web face's streams; crypto.subtle hashes both directions.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canRunChromium, runInPage } from "../fixtures/browser/harness.js";

const probe = await canRunChromium();
if (!probe.ok) console.warn(`browser stack tests SKIPPED: ${probe.reason}`);

const SIZE = 1 << 20;

// The same generator in the page and here (one source text): xorshift32, one byte per step.
const FILL = `function fill(seed, n) {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}`;
const fill = new Function(`${FILL}; return fill;`)() as (seed: number, n: number) => Uint8Array;

const PAGE = `import { createStack, createMemoryLinkPair } from "/dist/tcpwasm.browser.js";
${FILL}
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
async function readAll(readable) {
  const parts = [];
  let n = 0;
  const reader = readable.getReader();
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    parts.push(r.value);
    n += r.value.length;
  }
  const all = new Uint8Array(n);
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return { bytes: n, sha: hex(await crypto.subtle.digest("SHA-256", all)) };
}
async function writeAll(writable, data) {
  const w = writable.getWriter();
  for (let at = 0; at < data.length; at += 32768) await w.write(data.subarray(at, at + 32768));
  await w.close();
}
export default async ({ size }) => {
  const [la, lb] = createMemoryLinkPair();
  const a = await createStack({ addresses: ["10.0.0.1/24"], name: "client" });
  const b = await createStack({ addresses: ["10.0.0.2/24"], name: "server" });
  a.attach(la);
  b.attach(lb);
  const up = fill(1, size);
  const down = fill(2, size);
  const listener = b.listen({ port: 443 });
  const served = (async () => {
    const s = await listener.accept();
    const { readable, writable } = await s.opened;
    const [got] = await Promise.all([readAll(readable), writeAll(writable, down)]);
    await s.closed;
    return got;
  })();
  const socket = a.connect({ hostname: "10.0.0.2", port: 443 });
  const { readable, writable } = await socket.opened;
  const [clientGot] = await Promise.all([readAll(readable), writeAll(writable, up)]);
  await socket.closed;
  const serverGot = await served;
  await listener.close();
  const flavor = a.engine.flavor;
  a.close();
  b.close();
  return { flavor, clientGot, serverGot };
};
`;

describe.skipIf(!probe.ok)("two stacks in Debian's headless chromium", () => {
  it("move 1 MiB each way through Web streams with matching SHA-256", async () => {
    const r = await runInPage<{
      flavor: string;
      clientGot: { bytes: number; sha: string };
      serverGot: { bytes: number; sha: string };
    }>(PAGE, { input: { size: SIZE }, timeoutMs: 60_000 });
    const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
    expect(r.flavor).toBe("simd");
    expect(r.serverGot).toEqual({ bytes: SIZE, sha: sha(fill(1, SIZE)) });
    expect(r.clientGot).toEqual({ bytes: SIZE, sha: sha(fill(2, SIZE)) });
  });
});

// A request, a reply and both closes in the page: with no process.nextTick the output drain waits a
// few rounds of the microtask queue, so a writer's write() and close() leave in one segment and the
// reply rides in the ACK of the request, as in Node (test/faces/socket-web.test.ts).
const SEGMENTS_PAGE = `import { createStack, createMemoryLinkPair, flagNames } from "/dist/tcpwasm.browser.js";
export default async () => {
  const traces = [];
  const trace = (e) => traces.push(e);
  const [la, lb] = createMemoryLinkPair();
  const a = await createStack({ addresses: ["10.0.0.1/24"], name: "client", trace });
  const b = await createStack({ addresses: ["10.0.0.2/24"], name: "server", trace });
  a.attach(la);
  b.attach(lb);
  const listener = b.listen({ port: 7 });
  const served = (async () => {
    const s = await listener.accept();
    const { readable, writable } = await s.opened;
    for await (const _ of readable) {}
    const w = writable.getWriter();
    await w.write(new Uint8Array(300));
    await w.close();
  })();
  const socket = a.connect({ hostname: "10.0.0.2", port: 7 });
  const { readable, writable } = await socket.opened;
  const w = writable.getWriter();
  await w.write(new Uint8Array(100));
  await w.close();
  let back = 0;
  for await (const chunk of readable) back += chunk.length;
  await socket.closed;
  await served;
  while (!traces.some((e) => e.kind === "state" && e.endpoint === "server" && e.to === "CLOSED")) await new Promise((r) => setTimeout(r, 2));
  const sent = (endpoint) => traces.filter((e) => e.kind === "segment" && e.direction === "out" && e.endpoint === endpoint)
    .map((e) => flagNames(e.flags) + " " + e.length);
  await listener.close();
  a.close();
  b.close();
  return { back, client: sent("client"), server: sent("server") };
};
`;

describe.skipIf(!probe.ok)("segments in Debian's headless chromium", () => {
  it("a request, a reply and both closes take five segments, as in Node", async () => {
    const r = await runInPage<{ back: number; client: string[]; server: string[] }>(SEGMENTS_PAGE, { timeoutMs: 30_000 });
    expect(r.back).toBe(300);
    expect(r.client).toEqual(["SYN 0", "FIN,PSH,ACK 100", "ACK 0"]);
    expect(r.server).toEqual(["SYN,ACK 0", "FIN,PSH,ACK 300"]);
  });
});
