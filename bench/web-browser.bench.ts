// The Web face where it is meant to run: Debian's headless chromium (playwright-core, the test
// harness in test/fixtures/browser/harness.ts), with the raw-engine baseline and the stack API measured in
// the same page and run (bench/lib/browser-rows.ts). Same workloads as bench/sockets.bench.ts: bulk
// one way in 64 KiB writes, and churn (connect, 1 KiB each way, both close) on warm rows sampled in
// turn. Without chromium the section says why and measures nothing.
import { join } from "node:path";
import { ROOT, canRunChromium, runInPage } from "../test/fixtures/browser/harness.js";
import type { BrowserRowsInput, BrowserRowsResult } from "./lib/browser-rows.js";
import { WRITE } from "./lib/raw-engine.js";
import { churnRow, churnSamplingText, median, tableRow } from "./lib/sample.js";
import { CHURN } from "./sockets.bench.js";

const BULK_MIB = 64;
const RUNS = 5;

export default async () => {
  const title = "Web face in chromium against the raw engine (bench/web-browser.bench.ts)";
  const probe = await canRunChromium();
  if (!probe.ok) return { title, markdown: `Not measured: ${probe.reason}.\n` };
  const input: BrowserRowsInput = { bulkBytes: BULK_MIB << 20, runs: RUNS, churn: CHURN };
  const r = await runInPage<BrowserRowsResult>(`export { default } from "/rows.js";`, {
    input,
    modules: { "/rows.js": join(ROOT, "bench/lib/browser-rows.ts") },
    timeoutMs: 600_000,
  });
  const rawMicros = 1e6 / median(r.churn.raw);
  const markdown = `In ${r.userAgent.match(/(HeadlessChrome|Chrome)\/[\d.]+/)?.[0] ?? "chromium"}, one page: the raw engine API (bench/lib/raw-engine.ts), the stack API
and the Web face (bench/lib/face-rows.ts), SIMD release build from the browser bundle's sources,
two stacks over a link that delivers each batch in a microtask. Here no process.nextTick exists: the
output drain waits a few rounds of the microtask queue after the last call (src/tcp/stack.ts
MicrotaskRounds). Target (issue 4): a face costs <= 25%, i.e. >= 0.75x.

Bulk: ${BULK_MIB} MiB one way in ${WRITE / 1024} KiB writes on every row, median of ${RUNS} interleaved runs.

| bulk | Gbit/s (median) | min - max | / raw engine |
|---|---:|---:|---:|
${tableRow("raw engine API", r.bulk.raw, [r.bulk.raw])}
${tableRow("stack API (StackConnection)", r.bulk.stack, [r.bulk.raw])}
${tableRow("Web face (TcpSocket streams)", r.bulk.web, [r.bulk.raw])}

Churn: ${churnSamplingText(CHURN)}

| churn | connections/s (median) | min - max | / raw engine | µs per connection |
|---|---:|---:|---:|---:|
${churnRow("raw engine API", r.churn.raw, r.churn.raw)}
${churnRow("stack API (StackConnection)", r.churn.stack, r.churn.raw)}
${churnRow("Web face (TcpSocket streams)", r.churn.web, r.churn.raw)}

Constructing one socket's two Web Streams here: ${r.streamPairMicros.toFixed(2)} µs
(${((2 * r.streamPairMicros) / rawMicros).toFixed(2)}x a raw-engine connection for the two sockets of a connection).
`;
  return { title, markdown };
};
