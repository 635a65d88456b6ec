// What bench/web-browser.bench.ts runs inside a chromium page (bundled for the browser by the test
// harness): the same raw-engine baseline, stack API and Web face rows as bench/sockets.bench.ts, in the
// runtime the Web face is written for, where Web Streams are native.
import { rawBulk, rawChurnRow } from "./raw-engine.js";
import { interleaved, sampleChurn, type ChurnSampling } from "./sample.js";
import { stackBulk, stackChurnRow, streamPairMicros, webBulk, webChurnRow } from "./face-rows.js";

export interface BrowserRowsInput {
  bulkBytes: number;
  runs: number;
  churn: ChurnSampling;
}

export interface BrowserRowsResult {
  userAgent: string;
  bulk: { raw: number[]; stack: number[]; web: number[] };
  churn: { raw: number[]; stack: number[]; web: number[] };
  streamPairMicros: number;
}

export default async function run(input: BrowserRowsInput): Promise<BrowserRowsResult> {
  await rawBulk(8 << 20);
  await stackBulk(8 << 20);
  await webBulk(8 << 20, "microtask");
  const bulk = await interleaved(input.runs, {
    raw: () => rawBulk(input.bulkBytes),
    stack: () => stackBulk(input.bulkBytes),
    web: () => webBulk(input.bulkBytes, "microtask"),
  });
  const churn = await sampleChurn({ raw: rawChurnRow, stack: stackChurnRow, web: webChurnRow }, input.churn);
  return { userAgent: navigator.userAgent, bulk, churn, streamPairMicros: streamPairMicros() };
}
