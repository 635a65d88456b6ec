// curl on the host reaches a server running in a page, through `tcpwasm relay --publish`: chromium
// runs the README's "A server in the page" block as written (a stack on the WebSocket link that
// claims published ports, and its listener answering "hello from a tab"); the relay is the CLI in a
// child process on 127.0.0.1 with a token and an Origin allow-list, giving the page a stack of its own
// at 10.0.0.1 and publishing two ports of this machine into the page's tunnel. curl fetches the
// README's answer twice, then (after the README's loop) 16 MiB from an HTTP server the page starts on
// a second port, SHA-256 intact; the relay logs each inbound connection. Once the page is gone the
// published ports are closed again.
//
//   curl -> 127.0.0.1:P1 / P2 (relay) -> relay's stack 10.0.0.1 --WebSocket /packet--> page 10.0.0.2:80 / :8080

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunChromium, runInPage } from "../fixtures/browser/harness.js";
import { PAGE_HTTP } from "../fixtures/e2e/recipe.js";
import { pageFromRecipe, readmeRecipe } from "../fixtures/e2e/readme.js";
import { startRelay, type RelayProcess } from "../fixtures/e2e/relay.js";
import { freePort, MIB, payload, sha256 } from "../fixtures/e2e/servers.js";
import { bundleCli, type CliBundle } from "../fixtures/interop/cli.js";

const probe = await canRunChromium();
if (!probe.ok) console.warn(`browser relay inbound tests SKIPPED: ${probe.reason}`);

const SIZE = 16 * MIB;
const SEED = 0x1b;
const TOKEN = "e2e-inbound-73c2";
interface Curl {
  exit: number | null;
  bytes: number;
  sha: string;
  text: string;
  stderr: string;
}

/** `curl -sS URL` on the host: exit code, body size and digest (and the body as text when short). */
function curl(url: string): Promise<Curl> {
  return new Promise((resolve) => {
    const c = spawn("curl", ["-sS", "--max-time", "90", url], { stdio: ["ignore", "pipe", "pipe"] });
    const h = createHash("sha256");
    const head: Buffer[] = [];
    let bytes = 0;
    let stderr = "";
    c.stdout.on("data", (d: Buffer) => {
      h.update(d);
      if (bytes < 1024) head.push(d);
      bytes += d.length;
    });
    c.stderr.on("data", (d: Buffer) => (stderr += d));
    c.on("exit", (exit) => resolve({ exit, bytes, sha: h.digest("hex"), text: bytes < 1024 ? Buffer.concat(head).toString() : "", stderr }));
  });
}

describe.skipIf(!probe.ok)("curl on the host reaches a server in a page through tcpwasm relay --publish", () => {
  let cli: CliBundle;
  let relay: RelayProcess | undefined;

  beforeAll(async () => {
    cli = await bundleCli();
  });
  afterAll(async () => {
    await relay?.stop();
    cli?.dispose();
  });

  it("the README's page answers curl; a page server sends 16 MiB to curl, SHA-256 intact; the ports close when the page goes", { timeout: 240_000 }, async () => {
    const hello = await freePort();
    const bulk = await freePort();
    const recipe = readmeRecipe("A server in the page");
    const seen: Curl[] = [];
    const page = pageFromRecipe(recipe, {
      replace: [
        ['"tcpwasm"', '"/dist/tcpwasm.browser.js"'],
        [/"ws:\/\/127\.0\.0\.1:8080\/packet\?token=SECRET&publish=3000"/, "input.relay"],
        // The README's server runs until the page closes; here its loop ends once curl is done with it.
        ["for await (const socket of listener)", "for await (const socket of servedUntilFetched(listener))"],
      ],
      prelude: `
        async function* servedUntilFetched(listener) {
          await listener.opened;
          const fetched = globalThis.helloFetches().finally(() => listener.close());
          for await (const socket of listener) yield socket;
          await fetched;
        }
      `,
      after: `
        const { payload, serveHttp } = await import("/page-http.js");
        const big = stack.listen({ port: 8080 });
        await big.opened;
        const served = serveHttp(big, payload(input.seed, input.size), 1);
        await globalThis.bulkFetch();
        const requests = await served;
        await big.close();
        return { requests, stats: link.stats };
      `,
    });
    const r = await runInPage<{ requests: string[]; stats: Record<string, number> }>(page, {
      modules: { "/page-http.js": PAGE_HTTP },
      timeoutMs: 180_000,
      beforeNavigate: async (origin) => {
        relay = await startRelay(cli, [
          "--listen", "127.0.0.1:0",
          "--token", TOKEN,
          "--origin", origin,
          "--stack", "10.0.0.1/24",
          "--publish", `${hello}=10.0.0.2:80`,
          "--publish", `127.0.0.1:${bulk}=10.0.0.2:8080`,
        ]);
        return { relay: `ws://127.0.0.1:${relay.port}/packet?token=${TOKEN}&publish=${hello},${bulk}`, seed: SEED, size: SIZE };
      },
      expose: {
        helloFetches: async () => {
          seen.push(await curl(`http://127.0.0.1:${hello}/`), await curl(`http://127.0.0.1:${hello}/again`));
        },
        bulkFetch: async () => {
          seen.push(await curl(`http://127.0.0.1:${bulk}/body.bin`));
        },
      },
    });
    expect(seen.slice(0, 2).map(({ exit, text, stderr }) => ({ exit, text, stderr }))).toEqual([
      { exit: 0, text: "hello from a tab\n", stderr: "" },
      { exit: 0, text: "hello from a tab\n", stderr: "" },
    ]);
    expect({ exit: seen[2]!.exit, bytes: seen[2]!.bytes, sha: seen[2]!.sha, stderr: seen[2]!.stderr }).toEqual({ exit: 0, bytes: SIZE, sha: sha256(payload(SEED, SIZE)), stderr: "" });
    expect(r.requests).toEqual(["GET /body.bin HTTP/1.1"]);
    const log = () => relay!.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(log().find((e) => e.event === "open" && e.mode === "packet")).toMatchObject({ publish: `127.0.0.1:${hello}=10.0.0.2:80 127.0.0.1:${bulk}=10.0.0.2:8080` });
    const inbound = log().filter((e) => e.event === "open" && e.mode === "inbound");
    expect(inbound.map((e) => [e.publish, e.host, e.port])).toEqual([
      [`127.0.0.1:${hello}`, "10.0.0.2", 80],
      [`127.0.0.1:${hello}`, "10.0.0.2", 80],
      [`127.0.0.1:${bulk}`, "10.0.0.2", 8080],
    ]);
    // The page is gone (runInPage closed the browser): its claim with it, so nothing listens there now.
    await relay!.waitForLine(/"event":"close","mode":"packet"/, 30_000);
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port: hello });
      s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      s.on("connect", () => resolve("connected"));
    });
    expect(refused).toBe("ECONNREFUSED");
    expect(log().filter((e) => e.event === "close" && e.mode === "inbound" && (e.up as number) > SIZE)).toHaveLength(1);
  });
});
