// A guest in a page browses through the page's gateway, spliced to the relay's stream mode: the shape
// of an emulator in a tab (v86, container2wasm). A tcpwasm stack stands in for the emulator's NIC on an
// Ethernet memory link; createGateway on the other end hands each of its TCP connections to
// dialWebSocketStream, so every connection is its own WebSocket to `tcpwasm relay` (the real command,
// a child process on 127.0.0.1 with a token, an Origin allow-list and an allow-list of destinations),
// which opens it with node:net. The guest fetches 16 MiB from node:http on 127.0.0.1 and on ::1, over
// IPv4 and IPv6 on its Ethernet link, SHA-256 intact; a destination the relay refuses reaches the guest
// as a refused connection, and the relay logs it.
//
//   page: guest stack 10.0.2.15 / fd00:2::15 --Ethernet--> createGateway 10.0.2.2 / fd00:2::2
//         (hostLoopback: the gateway's address is the relay's 127.0.0.1 / ::1)
//         --dialWebSocketStream, ws://relay/?host=&port=&halfclose=1--> relay --node:net--> node:http

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunChromium, runInPage } from "../fixtures/browser/harness.js";
import { PAGE_HTTP } from "../fixtures/e2e/recipe.js";
import { startRelay, type RelayProcess } from "../fixtures/e2e/relay.js";
import { MIB, payload, startNodeHttpServer, type LoopbackServer } from "../fixtures/e2e/servers.js";
import { bundleCli, type CliBundle } from "../fixtures/interop/cli.js";

const probe = await canRunChromium();
if (!probe.ok) console.warn(`browser gateway tests SKIPPED: ${probe.reason}`);

const SIZE = 16 * MIB;
const TOKEN = "e2e-gw-stream-44d0";

const PAGE = `import { createStack, createMemoryLinkPair, createGateway, dialWebSocketStream } from "/dist/tcpwasm.browser.js";
import { httpGet } from "/page-http.js";
export default async (input) => {
  const [nic, wire] = createMemoryLinkPair({ framing: "ethernet" });
  const guest = await createStack({ addresses: ["10.0.2.15/24", "fd00:2::15/64"], name: "guest" });
  guest.attach(nic, { mac: "02:00:00:00:00:0f" });
  const gateway = await createGateway({
    link: wire,
    address: ["10.0.2.2/24", "fd00:2::2/64"],
    dhcp: false,
    dns: false,
    hostLoopback: { v4: "127.0.0.1", v6: "::1" },
    connect: (info) => dialWebSocketStream(input.relay, info.localAddress, info.localPort),
  });
  const results = [];
  for (const f of input.fetches) {
    results.push({ name: f.name, ...(await httpGet(guest.connect({ hostname: f.address, port: f.port }), f.address, "/body.bin")) });
  }
  // Refused by the relay before its WebSocket opens: the gateway refuses the guest's SYN.
  let refused;
  const denied = guest.connect({ hostname: "10.0.2.2", port: input.deniedPort });
  try {
    const { readable } = await denied.opened;
    let bytes = 0;
    for await (const chunk of readable) bytes += chunk.length;
    refused = "ended after " + bytes + " bytes";
  } catch (error) {
    refused = error.code;
  }
  const counters = { ...gateway.forwarder.counters };
  gateway.close();
  guest.close();
  return { results, refused, counters };
};
`;

describe.skipIf(!probe.ok)("a guest in the page browses through the page's gateway and the relay's stream mode", () => {
  let cli: CliBundle;
  let relay: RelayProcess | undefined;
  const servers: LoopbackServer[] = [];
  const body = payload(0x57e, SIZE);

  beforeAll(async () => {
    cli = await bundleCli();
    servers.push(await startNodeHttpServer("127.0.0.1", body), await startNodeHttpServer("::1", body));
  });
  afterAll(async () => {
    await relay?.stop();
    for (const s of servers) await s.close();
    cli?.dispose();
  });

  it("16 MiB from node:http on 127.0.0.1 and ::1, one WebSocket per connection, SHA-256 intact; a refused destination is refused to the guest", { timeout: 240_000 }, async () => {
    const [v4, v6] = servers as [LoopbackServer, LoopbackServer];
    // A port the relay does not allow: nothing listens there either, and nothing may be dialled.
    const deniedPort = v4.port === 65000 ? 65001 : 65000;
    const fetches = [
      { name: "node:http 127.0.0.1 via IPv4", address: "10.0.2.2", port: v4.port },
      { name: "node:http ::1 via IPv6", address: "fd00:2::2", port: v6.port },
    ];
    const r = await runInPage<{
      results: { name: string; status: number; length: number; bytes: number; sha: string }[];
      refused: string;
      counters: Record<string, number>;
    }>(PAGE, {
      modules: { "/page-http.js": PAGE_HTTP },
      timeoutMs: 180_000,
      // Chromium logs the relay's refusal of that one handshake itself.
      expectedConsoleErrors: new RegExp(`^WebSocket connection to '[^']*&port=${deniedPort}&halfclose=1' failed`),
      beforeNavigate: async (origin) => {
        relay = await startRelay(cli, [
          "--listen", "127.0.0.1:0",
          "--token", TOKEN,
          "--origin", origin,
          "--allow", `127.0.0.1:${v4.port}`,
          "--allow", `[::1]:${v6.port}`,
        ]);
        return { relay: `ws://127.0.0.1:${relay.port}/?token=${TOKEN}`, fetches, deniedPort };
      },
    });
    expect(r.results).toEqual(fetches.map((f, i) => ({ name: f.name, status: 200, length: SIZE, bytes: SIZE, sha: servers[i]!.sha })));
    expect(v4.requests).toEqual(["GET /body.bin"]);
    expect(v6.requests).toEqual(["GET /body.bin"]);
    expect(r.refused).toBe("ECONNREFUSED");
    expect(r.counters).toMatchObject({ requested: 3, spliced: 2, refused: 1 });
    const log = relay!.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(log.filter((e) => e.event === "open" && e.mode === "stream").map((e) => `${e.address as string}:${e.port as number}`)).toEqual([
      `127.0.0.1:${v4.port}`,
      `::1:${v6.port}`,
    ]);
    expect(log.some((e) => e.event === "refused" && e.mode === "stream" && e.port === deniedPort), relay!.lines.join("\n")).toBe(true);
  });
});
