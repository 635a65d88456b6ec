// node:http over tcpwasm's Node face against node:http over node:net on the kernel loopback, in the
// same run (issue 9): 50 concurrent clients, keep-alive on and off, every answer SHA-256-checked
// (bench/lib/http-load.ts, the load test/faces/node-http-load.test.ts runs too). req/s, p50 / p99 latency
// per request and the ratio to the loopback's req/s. Targets: >= 1.0x with keep-alive and without.
//
// Requests per client: 4,000 with keep-alive (200,000 in all: about 40 s over the loopback here). Without
// keep-alive the loopback answers about 2,400 req/s on this machine, so 4,000 each would take 80 s a
// row: 1,000 each (50,000, about 20 s). A row that has not finished after TIME_LIMIT_MS stops there and
// reports what was left unanswered (a stalled run's req/s is answered / elapsed).
import { loopbackTarget, runLoad, tcpwasmTarget, type HttpTarget, type LoadResult } from "./lib/http-load.js";

const CLIENTS = 50;
const REQUESTS = { keepAlive: 4000, close: 1000 };
const TIME_LIMIT_MS = 120_000;

interface Row {
  target: string;
  keepAlive: boolean;
  result: LoadResult;
  stats: Record<string, number>;
}

async function row(make: () => Promise<HttpTarget>, keepAlive: boolean): Promise<Row> {
  const target = await make();
  try {
    const requests = keepAlive ? REQUESTS.keepAlive : REQUESTS.close;
    const result = await runLoad(target, { clients: CLIENTS, requests, keepAlive, timeLimitMs: TIME_LIMIT_MS });
    console.error(`http: ${target.name}, keep-alive ${keepAlive ? "on" : "off"}: ${JSON.stringify(result)}`);
    return { target: target.name, keepAlive, result, stats: target.stats?.() ?? {} };
  } finally {
    await target.close();
  }
}

/** The figures of this bench on main before issue 9's fixes, kept for comparison. */
const BEFORE = `Before issue 9's fixes (main at 885103d, this machine, 2026-12-05, \`npm run bench -- http\`): keep-alive
on 4,885 req/s against the loopback's 4,765 (1.03x), p99 94 ms; keep-alive off 32 req/s against
2,683 (0.01x): 3,797 of 50,000 requests answered when the row stopped at 120 s, 50 of them after more
than 1 s (p99 63 s), the server having dropped 600 SYNs into TIME-WAIT as PAWS-stale (item 1).`;

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

function line(r: Row, baseline: Row): string {
  const x = r.result;
  const p99 = x.unanswered > 0 ? `${ms(x.p99Ms)} (${x.unanswered.toLocaleString("en")} unanswered)` : ms(x.p99Ms);
  return `| ${r.keepAlive ? "on" : "off"} | ${r.target} | ${x.requests.toLocaleString("en")} of ${(x.requests + x.unanswered).toLocaleString("en")} | ${x.seconds.toFixed(1)} | ${Math.round(x.requestsPerSecond).toLocaleString("en")} | ${ms(x.p50Ms)} | ${p99} | ${x.over1s} | ${(x.requestsPerSecond / baseline.result.requestsPerSecond).toFixed(2)}x |`;
}

export default async () => {
  const rows: Row[] = [];
  for (const keepAlive of [true, false]) {
    const loop = await row(loopbackTarget, keepAlive);
    const tcpwasm = await row(() => tcpwasmTarget(), keepAlive);
    rows.push(loop, tcpwasm);
  }
  const [kaLoop, kaTcp, closeLoop, closeTcp] = rows as [Row, Row, Row, Row];
  const counters = (r: Row) =>
    Object.entries(r.stats)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
  const markdown = `${CLIENTS} concurrent node:http clients, each making its requests one after another: GET of bodies of
7 sizes (0 B to 64 KiB) and every fourth a POST echoed back, each answer checked by SHA-256
(bench/lib/http-load.ts). Keep-alive on: an http.Agent({ keepAlive: true, maxSockets: 1 }) per client.
Off: a new connection per request (\`Connection: close\`: the server closes first and holds TIME-WAIT).
tcpwasm: two stacks (release build, default configuration: MSL 30 s) over the in-memory link,
http.Server fed from bindNet's createServer, clients dialling bindNet's connect. Baseline, same run: the same
http.Server on node:net over the kernel loopback (127.0.0.1); its server also closes first, so its
TIME-WAIT is on the server side and the clients' ephemeral ports do not run out. Requests per client:
${REQUESTS.keepAlive.toLocaleString("en")} with keep-alive, ${REQUESTS.close.toLocaleString("en")} without (the loopback answers about 2,400 req/s without keep-alive here:
4,000 each would take 80 s a row). A row stops after ${TIME_LIMIT_MS / 1000} s. Latency: from a request's start to its
last body byte. Issue 9 targets: >= 1.0x the loopback's req/s, with keep-alive and without.

| keep-alive | target | answered | s | req/s | p50 ms | p99 ms | > 1 s | / loopback |
|---|---|---:|---:|---:|---:|---:|---:|---:|
${line(kaLoop, kaLoop)}
${line(kaTcp, kaLoop)}
${line(closeLoop, closeLoop)}
${line(closeTcp, closeLoop)}

tcpwasm counters, keep-alive on: ${counters(kaTcp)}.
Keep-alive off: ${counters(closeTcp)}.

${BEFORE}
`;
  return { title: "node:http over the Node face against the kernel loopback (bench/http.bench.ts)", markdown };
};
