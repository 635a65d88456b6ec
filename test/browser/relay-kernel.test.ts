// The Linux kernel fetches from a page: a page's stack joins a namespace's network through the
// WebSocket link and `tcpwasm relay` in packet mode, and curl inside the namespace downloads 16 MiB
// from an HTTP server running in the page, over IPv4 and IPv6, SHA-256 intact. Once with raw IP
// packets to a TUN device, once with Ethernet frames to a TAP device.
//
//   namespace: curl -> kernel 10.77.0.1 / fd77::1 -> tw0 (TUN) or tap0 (TAP) -> socat -> UDP 127.0.0.1:7000
//              tcpwasm relay --udp-peer 127.0.0.1:7001 --udp-bind 127.0.0.1:7000, listening on 127.0.0.1
//   root namespace: a loopback door (netns-door.ts) -> the relay's port
//   chromium page: the README recipe's stack and link (its setup), at 10.77.0.2 / fd77::2, on
//                  ws://127.0.0.1:<door>/packet
//
// The relay runs inside the namespace because its UDP peer (socat's end of the TUN) lives on the
// namespace's loopback; the page reaches it through the door, so nothing is added outside the
// namespace. Needs root and chromium.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunChromium, runInPage } from "../fixtures/browser/harness.js";
import { curlIn, type Fetched } from "../fixtures/e2e/guests.js";
import { openNetnsDoor, type NetnsDoor } from "../fixtures/e2e/netns-door.js";
import { browserRecipe, PAGE_HTTP } from "../fixtures/e2e/recipe.js";
import { startRelay, type RelayProcess } from "../fixtures/e2e/relay.js";
import { MIB, payload, sha256 } from "../fixtures/e2e/servers.js";
import { bundleCli, type CliBundle } from "../fixtures/interop/cli.js";
import { canRunNetns, Netns } from "../fixtures/interop/netns.js";
import { createTapNetns } from "../fixtures/interop/tap.js";

const chromium = await canRunChromium();
const netns = canRunNetns(["curl"]);
const probe = !chromium.ok ? chromium : netns;
if (!probe.ok) console.warn(`browser relay-to-kernel tests SKIPPED: ${probe.reason}`);

const SIZE = 16 * MIB;
const SEED = 0x6b;
const TOKEN = "e2e-kernel-2f81";

// Raw IP packets to a TUN device, and Ethernet frames to a TAP device (the page is then a host on the
// namespace's LAN: the kernel finds it with ARP and neighbour discovery).
for (const framing of ["ip", "ethernet"] as const) describe.skipIf(!probe.ok)(`the kernel in a namespace fetches from a page through tcpwasm relay's packet mode (${framing === "ip" ? "TUN" : "TAP"})`, () => {
  let cli: CliBundle;
  let ns: Netns;
  let dir: string;
  let relay: RelayProcess | undefined;
  let door: NetnsDoor | undefined;

  beforeAll(async () => {
    cli = await bundleCli();
    dir = mkdtempSync(join(tmpdir(), "tcpw-e2e-kernel-"));
    // socat: TUN tw0 or TAP tap0 <-> UDP, bound at 127.0.0.1:7001, sending to 127.0.0.1:7000 (the relay's end).
    if (framing === "ip") {
      ns = await Netns.create();
      await ns.startTunRelay({ relayPort: 7001, enginePort: 7000 });
    } else {
      const t = await createTapNetns({ handOver: false, relayPort: 7001, enginePort: 7000, v4: "10.77.0.1/24", v6: "fd77::1/64", routerSolicitations: false });
      ns = t.ns;
      await t.up();
    }
  });
  afterAll(async () => {
    await door?.close();
    await relay?.stop();
    await ns?.destroy();
    cli?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("curl in the namespace gets 16 MiB from the page's HTTP server over IPv4 and IPv6, SHA-256 intact", { timeout: 240_000 }, async () => {
    const fetched: Fetched[] = [];
    const page = browserRecipe({
      addresses: ["10.77.0.2/24", "fd77::2/64"],
      // The recipe's stack and link; the page serves instead of making the recipe's request.
      setupOnly: true,
      ...(framing === "ethernet" && { framing }),
      after: `
        const { payload, serveHttp } = await import("/page-http.js");
        const listener = stack.listen({ port: 80 });
        await listener.opened;
        const served = serveHttp(listener, payload(input.seed, input.size), 2);
        await globalThis.kernelFetches();
        const requests = await served;
        await listener.close();
        return { requests };
      `,
    });
    const r = await runInPage<{ requests: string[] }>(page, {
      modules: { "/page-http.js": PAGE_HTTP },
      timeoutMs: 180_000,
      beforeNavigate: async (origin) => {
        relay = await startRelay(
          cli,
          ["--listen", "127.0.0.1:0", "--token", TOKEN, "--origin", origin, "--udp-peer", "127.0.0.1:7001", "--udp-bind", "127.0.0.1:7000", "--framing", framing],
          { ns },
        );
        door = await openNetnsDoor(ns, relay.port);
        return { relay: `ws://127.0.0.1:${door.port}/packet?token=${TOKEN}`, seed: SEED, size: SIZE };
      },
      expose: {
        // Called by the page once its server listens: the kernel's curl, one family after the other.
        kernelFetches: async () => {
          fetched.push(await curlIn(ns, dir, "http://10.77.0.2/body.bin", [], 90_000));
          fetched.push(await curlIn(ns, dir, "http://[fd77::2]/body.bin", [], 90_000));
        },
      },
    });
    const sha = sha256(payload(SEED, SIZE));
    expect(fetched.map(({ status, bytes, sha, exit }) => ({ status, bytes, sha, exit }))).toEqual([
      { status: 200, bytes: SIZE, sha, exit: 0 },
      { status: 200, bytes: SIZE, sha, exit: 0 },
    ]);
    expect(r.requests).toEqual(["GET /body.bin HTTP/1.1", "GET /body.bin HTTP/1.1"]);
    const log = relay!.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(log.filter((e) => e.event === "open" && e.mode === "packet")).toHaveLength(1);
  });
});
