// A page reaches the host's loopback through the WebSocket link and the real `tcpwasm relay`: chromium
// runs the README's browser-to-network recipe as written (a stack attached to createWebSocketLink,
// then its example request, answered by python3 through the relay's port 80), the relay is
// the CLI in a child process on 127.0.0.1 with a token, an Origin allow-list and an allow-list of
// destinations, and gives the page's packets a stack of its own whose forwarded ports splice to
// python3's http.server and a node:http server on 127.0.0.1 and ::1. The page fetches 16 MiB from each
// over IPv4 and over IPv6 inside the tunnel and hashes what arrived; the relay's log names each
// connection it opened and the bytes it carried.
//
//   chromium page: stack 10.0.0.2 / fd00::2 --WebSocket /packet--> relay: stack 10.0.0.1 / fd00::1
//       --forward 8001..8004--> node:net --> python3 / node:http on 127.0.0.1 and ::1

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunChromium, runInPage } from "../fixtures/browser/harness.js";
import { bundleCli, type CliBundle } from "../fixtures/interop/cli.js";
import { browserRecipe, PAGE_HTTP } from "../fixtures/e2e/recipe.js";
import { startRelay, type RelayProcess } from "../fixtures/e2e/relay.js";
import { MIB, payload, startNodeHttpServer, startPythonHttpServer, type LoopbackServer } from "../fixtures/e2e/servers.js";

const probe = await canRunChromium();
if (!probe.ok) console.warn(`browser relay tests SKIPPED: ${probe.reason}`);

const SIZE = 16 * MIB;
const TOKEN = "e2e-6b1d0c4f9a";

interface Fetch {
  name: string;
  address: string;
  port: number;
}

describe.skipIf(!probe.ok)("a page reaches loopback servers through the WebSocket link and tcpwasm relay", () => {
  let cli: CliBundle;
  const servers: LoopbackServer[] = [];
  const body = payload(0x5eed, SIZE);
  let relay: RelayProcess | undefined;

  beforeAll(async () => {
    cli = await bundleCli();
    servers.push(
      await startPythonHttpServer("127.0.0.1", body),
      await startPythonHttpServer("::1", body),
      await startNodeHttpServer("127.0.0.1", body),
      await startNodeHttpServer("::1", body),
    );
  });
  afterAll(async () => {
    await relay?.stop();
    for (const s of servers) await s.close();
    cli?.dispose();
  });

  it("python3 http.server and node:http, 16 MiB each over IPv4 and IPv6 in the tunnel, SHA-256 intact", { timeout: 240_000 }, async () => {
    const [py4, py6, node4, node6] = servers as [LoopbackServer, LoopbackServer, LoopbackServer, LoopbackServer];
    const endpoint = (s: LoopbackServer) => (s.host.includes(":") ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`);
    // Each server reached over both families inside the tunnel: forwards 8001..8004 on the relay's stack.
    const fetches: Fetch[] = [
      { name: "python3 127.0.0.1 via IPv4", address: "10.0.0.1", port: 8001 },
      { name: "python3 ::1 via IPv6", address: "fd00::1", port: 8002 },
      { name: "node:http 127.0.0.1 via IPv6", address: "fd00::1", port: 8003 },
      { name: "node:http ::1 via IPv4", address: "10.0.0.1", port: 8004 },
    ];
    const targets = [py4, py6, node4, node6];
    const page = browserRecipe({
      after: `
        const { httpGet } = await import("/page-http.js");
        const results = [];
        for (const f of input.fetches) {
          const s = stack.connect({ hostname: f.address, port: f.port });
          results.push({ name: f.name, ...(await httpGet(s, f.address, "/body.bin")) });
        }
        return { recipeSaw: text.split("\\r\\n")[0], results, stats: link.stats };
      `,
    });
    const r = await runInPage<{ recipeSaw: string; results: ({ name: string } & { status: number; length: number; bytes: number; sha: string })[]; stats: Record<string, number> }>(
      page,
      {
        modules: { "/page-http.js": PAGE_HTTP },
        timeoutMs: 150_000,
        beforeNavigate: async (origin) => {
          relay = await startRelay(cli, [
            "--listen", "127.0.0.1:0",
            "--token", TOKEN,
            "--origin", origin,
            ...targets.flatMap((s) => ["--allow", endpoint(s)]),
            "--stack", "10.0.0.1/24",
            "--stack", "fd00::1/64",
            // The recipe's own request: 10.0.0.1:80, forwarded to python3 on 127.0.0.1.
            "--forward", `80=${endpoint(py4)}`,
            ...targets.flatMap((s, i) => ["--forward", `${8001 + i}=${endpoint(s)}`]),
          ]);
          return { relay: `ws://127.0.0.1:${relay.port}/packet?token=${TOKEN}`, fetches };
        },
      },
    );
    // The page sends requests and ACKs only, far below its link's queue bound: nothing dropped there.
    expect(r.stats.dropped).toBe(0);
    // The recipe as written got its answer: python's directory listing for "GET /".
    expect(r.recipeSaw).toBe("HTTP/1.0 200 OK");
    for (const [i, got] of r.results.entries()) {
      expect(got, fetches[i]!.name).toEqual({ name: fetches[i]!.name, status: 200, length: SIZE, bytes: SIZE, sha: targets[i]!.sha });
      expect(targets[i]!.requests).toEqual(i === 0 ? ["GET /", "GET /body.bin"] : ["GET /body.bin"]);
    }
    // The relay logged each spliced connection, to the checked address, with every byte it carried.
    const log = relay!.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const s of targets) {
      expect(log.some((e) => e.event === "open" && e.mode === "packet" && e.port === s.port && e.address === s.host), relay!.lines.join("\n")).toBe(true);
      const closes = log.filter((e) => e.event === "close" && e.port === s.port);
      expect(closes.every((e) => e.reason === "closed"), relay!.lines.join("\n")).toBe(true);
      expect(closes.some((e) => (e.down as number) > SIZE)).toBe(true);
    }
  });
});
