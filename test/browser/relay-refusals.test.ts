// What a real browser meets at a relay that is not its own: chromium sends its page's Origin, which
// the relay's --origin list does not hold, and a page of the right origin that has the wrong token is
// refused too. Each WebSocket link's `opened` rejects, nothing reaches the relay's stack, and the
// relay logs both refusals with the page's origin and the reason; a link with the right token and
// origin then opens on the same relay. (The Node-side cases, with headers a browser cannot forge,
// are in test/interop/relay-security.test.ts.)

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunChromium, runInPage } from "../fixtures/browser/harness.js";
import { startRelay, type RelayProcess } from "../fixtures/e2e/relay.js";
import { bundleCli, type CliBundle } from "../fixtures/interop/cli.js";

const probe = await canRunChromium();
if (!probe.ok) console.warn(`browser relay refusal tests SKIPPED: ${probe.reason}`);

const TOKEN = "e2e-refusals-0c3e";

const PAGE = `import { createWebSocketLink } from "/dist/tcpwasm.browser.js";
async function attempt(url) {
  const link = createWebSocketLink(url);
  try {
    await link.opened;
    // Kept open until the relay has set the client up and logged it.
    await globalThis.relayLoggedOpen();
    return "opened";
  } catch (error) {
    return error.code;
  } finally {
    link.close();
  }
}
export default async (input) => ({
  wrongOrigin: await attempt(input.elsewhere),
  wrongToken: await attempt(input.wrongToken),
  right: await attempt(input.right),
});
`;

describe.skipIf(!probe.ok)("a relay refuses a browser from another origin and one without its token", () => {
  let cli: CliBundle;
  const relays: RelayProcess[] = [];

  beforeAll(async () => {
    cli = await bundleCli();
  });
  afterAll(async () => {
    for (const r of relays) await r.stop();
    cli?.dispose();
  });

  it("Origin not listed and wrong token: refused at the handshake and logged; the right page opens", { timeout: 120_000 }, async () => {
    let pageOrigin = "";
    let ours: RelayProcess | undefined;
    const r = await runInPage<{ wrongOrigin: string; wrongToken: string; right: string }>(PAGE, {
      timeoutMs: 60_000,
      // Chromium logs a refused handshake itself ("WebSocket connection to ... failed").
      expectedConsoleErrors: /^WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/packet\?token=[^']*' failed/,
      beforeNavigate: async (origin) => {
        pageOrigin = origin;
        const args = ["--listen", "127.0.0.1:0", "--token", TOKEN, "--stack", "10.0.0.1/24"];
        const elsewhere = await startRelay(cli, [...args, "--origin", "https://app.example"]);
        relays.push(elsewhere);
        ours = await startRelay(cli, [...args, "--origin", origin]);
        relays.push(ours);
        return {
          elsewhere: `ws://127.0.0.1:${elsewhere.port}/packet?token=${TOKEN}`,
          wrongToken: `ws://127.0.0.1:${ours.port}/packet?token=not-${TOKEN}`,
          right: `ws://127.0.0.1:${ours.port}/packet?token=${TOKEN}`,
        };
      },
      expose: { relayLoggedOpen: () => ours!.waitForLine(/"event":"open"/, 20_000) },
    });
    // A handshake refused with an HTTP status: the browser's WebSocket fails before it opens.
    expect(r).toEqual({ wrongOrigin: "ECONNREFUSED", wrongToken: "ECONNREFUSED", right: "opened" });
    const entries = (relay: RelayProcess) => relay.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    const [elsewhere] = relays as [RelayProcess, RelayProcess];
    expect(entries(elsewhere).filter((e) => e.event !== "listening")).toMatchObject([
      { event: "refused", mode: "packet", client: "127.0.0.1", origin: pageOrigin, reason: `origin ${pageOrigin} not allowed` },
    ]);
    const seen = entries(ours!).filter((e) => e.event !== "listening");
    expect(seen[0]).toMatchObject({ event: "refused", mode: "packet", origin: pageOrigin, reason: "wrong token" });
    expect(seen[1]).toMatchObject({ event: "open", mode: "packet", origin: pageOrigin });
    expect(seen.filter((e) => e.event === "refused")).toHaveLength(1);
  });
});
