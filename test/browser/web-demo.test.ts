// The browser demo as a learner meets it: `tcpwasm demo --web` (dist/cli.js, a child process) serves
// the page on the loopback; Debian's headless chromium opens the URL it prints, sets bytes and loss,
// presses Run, and checks what the page draws: an SVG arrow for each segment, each side's states in
// the ladder and lit in the state diagram, the plots, and a pcap download whose bytes parse as pcap.
// Screenshots go to a temporary directory named in the test log.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { canRunChromium, CHROMIUM, CHROMIUM_FLAGS, ROOT } from "../fixtures/browser/harness.js";

const probe = await canRunChromium();
if (!probe.ok) console.warn(`web demo tests SKIPPED: ${probe.reason}`);

const CLI = join(ROOT, "dist/cli.js");
let server: ChildProcess | undefined;
let url = "";
let context: BrowserContext | undefined;
let profile = "";
const shots = mkdtempSync(join(tmpdir(), "tcpwasm-web-demo-shots-"));
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!probe.ok) return;
  if (!existsSync(join(ROOT, "dist/demo/index.html"))) throw new Error("the web demo test serves dist/: run `npm run build` first");
  console.log(`web demo screenshots: ${shots}`);
  server = spawn(process.execPath, [CLI, "demo", "--web"], { stdio: ["ignore", "pipe", "pipe"] });
  url = await new Promise<string>((resolve, reject) => {
    let out = "";
    server!.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /open (http:\/\/127\.0\.0\.1:\d+\/) in a browser/.exec(out);
      if (m) resolve(m[1]!);
    });
    server!.on("exit", (code) => reject(new Error(`demo --web exited with ${code} before printing its URL: ${out}`)));
  });
  const { chromium } = await import("playwright-core");
  profile = mkdtempSync(join(tmpdir(), "tcpwasm-chromium-"));
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1440, height: 1000 } });
}, 150_000);

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  if (server && server.exitCode === null) server.kill("SIGINT");
});

async function open(): Promise<Page> {
  const page = await context!.newPage();
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && pageErrors.push(m.text()));
  await page.goto(url);
  await page.waitForSelector("body[data-run=ready]", { timeout: 45_000 });
  return page;
}

/** The states written beside one side of the ladder, in order. */
const ladderStates = (page: Page, side: string) => page.$$eval(`#ladder text.state.${side}`, (ts) => ts.map((t) => t.textContent));

/** Parses a pcap file (LINKTYPE_RAW): the records' IPv4 packets. */
function parsePcap(b: Buffer): { linkType: number; packets: Buffer[] } {
  expect(b.readUInt32LE(0)).toBe(0xa1b2c3d4);
  expect([b.readUInt16LE(4), b.readUInt16LE(6)]).toEqual([2, 4]);
  const linkType = b.readUInt32LE(20);
  const packets: Buffer[] = [];
  let at = 24;
  while (at < b.length) {
    const incl = b.readUInt32LE(at + 8);
    packets.push(b.subarray(at + 16, at + 16 + incl));
    at += 16 + incl;
  }
  expect(at).toBe(b.length);
  return { linkType, packets };
}

describe.skipIf(!probe.ok)("tcpwasm demo --web in chromium", () => {
  it("draws the textbook exchange: each segment an arrow, each state in the ladder and lit in the diagram as entered, and offers the capture", async () => {
    const page = await open();
    await page.fill("#bytes", "3000");
    await page.fill("#loss", "0");
    await page.fill("#delay", "20");
    await page.fill("#pause", "500");
    // Every change of what the diagram lights, as "client state/server state", recorded in the page.
    await page.evaluate(() => {
      const w = window as unknown as { lit: string[] };
      w.lit = [];
      const now = () => {
        const lit = (side: string) => document.querySelector(`#states rect.lit-${side}`)?.getAttribute("data-state");
        const pair = `${lit("client")}/${lit("server")}`;
        if (w.lit.at(-1) !== pair) w.lit.push(pair);
      };
      new MutationObserver(now).observe(document.querySelector("#states")!, { subtree: true, attributes: true, attributeFilter: ["class"] });
    });
    await page.click("#run");
    // While it runs, the diagram lights each side's state: FIN-WAIT-2 and CLOSE-WAIT last the pause.
    await page.waitForSelector('#states rect.lit-client[data-state="FIN-WAIT-2"]', { timeout: 45_000 });
    await page.screenshot({ path: join(shots, "1-fin-wait-2.png"), fullPage: true });
    await page.waitForSelector("body[data-run=done]", { timeout: 30_000 });
    await page.screenshot({ path: join(shots, "2-done.png"), fullPage: true });
    // Each side's state, lit as entered (from the reset at Run), in the order of the textbook's exchange.
    const lit = await page.evaluate(() => (window as unknown as { lit: string[] }).lit);
    const side = (i: number) => lit.map((p) => p.split("/")[i]).filter((x, j, all) => j === 0 || x !== all[j - 1]);
    expect(side(0)).toEqual(["CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]);
    expect(side(1)).toEqual(["CLOSED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]);
    // The moments the textbook draws: both ESTABLISHED; the half-closed pair FIN-WAIT-2 / CLOSE-WAIT.
    expect(lit).toContain("ESTABLISHED/ESTABLISHED");
    expect(lit).toContain("FIN-WAIT-2/CLOSE-WAIT");
    expect(await page.textContent("#status")).toMatch(/done: 3000 of 3000 bytes arrived/);

    const segs = await page.$$eval("#ladder g.segment", (gs) => gs.map((g) => `${g.getAttribute("data-from")} ${g.getAttribute("data-flags")} ${g.getAttribute("data-len")} ${g.getAttribute("class")}`));
    // The handshake, three data segments (1448 + 1448 + 104: the MSS less the timestamps option) and
    // their ACKs, then the FIN, its ACK on its own, the server's FIN, the last ACK: every one an arrow
    // that arrived.
    expect(segs.slice(0, 3)).toEqual(["client SYN 0 segment", "server SYN,ACK 0 segment", "client ACK 0 segment"]);
    expect(segs.slice(-4)).toEqual(["client FIN,ACK 0 segment", "server ACK 0 segment", "server FIN,ACK 0 segment", "client ACK 0 segment"]);
    const data = segs.filter((x) => / (\d+) segment$/.exec(x)![1] !== "0" && x.startsWith("client"));
    expect(data.length).toBe(3); // 3000 bytes: 1448 + 1448 + 104
    expect(await page.$$eval("#ladder g.segment line[marker-end]", (l) => l.length)).toBe(segs.length);
    expect(await page.$$eval("#ladder g.segment text.label", (t) => t.slice(0, 3).map((x) => x.textContent))).toEqual(["SYN seq=0", "SYN,ACK seq=0 ack=1", "ACK seq=1 ack=1"]);

    expect(await ladderStates(page, "client")).toEqual(["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]);
    expect(await ladderStates(page, "server")).toEqual(["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]);
    expect(await page.$$eval("#states rect.lit-client", (r) => r.map((x) => x.getAttribute("data-state")))).toEqual(["CLOSED"]);
    expect(await page.$$eval("#states g.edge.taken-client", (g) => g.map((x) => `${x.getAttribute("data-from")}>${x.getAttribute("data-to")}`))).toEqual(["TIME-WAIT>CLOSED"]);
    expect(await page.$$eval("#states g.edge.taken-server", (g) => g.map((x) => `${x.getAttribute("data-from")}>${x.getAttribute("data-to")}`))).toEqual(["LAST-ACK>CLOSED"]);

    // The download: the client side's packets, a pcap file of raw IPv4 packets, one per segment drawn.
    const href = await page.getAttribute("#pcap", "href");
    expect(href).toMatch(/^blob:/);
    const bytes = Buffer.from(await page.evaluate(async (u) => Array.from(new Uint8Array(await (await fetch(u)).arrayBuffer())), href!));
    writeFileSync(join(shots, "textbook.pcap"), bytes);
    const { linkType, packets } = parsePcap(bytes);
    expect(linkType).toBe(101);
    expect(packets.length).toBe(segs.length);
    for (const p of packets) expect([p[0]! >> 4, p[9]]).toEqual([4, 6]); // IPv4, TCP
    const first = packets[0]!;
    expect([...first.subarray(12, 16)].join(".")).toBe("10.0.0.1");
    expect(first[20 + 13]! & 0x12).toBe(0x02); // SYN without ACK
    await page.close();
    expect(pageErrors).toEqual([]);
  }, 150_000);

  it("draws losses as crosses and labels the repairs of a lossy transfer; the states follow RFC 9293's diagram; the plots fill", async () => {
    const page = await open();
    await page.fill("#bytes", "60000");
    await page.fill("#loss", "10");
    await page.fill("#delay", "10");
    await page.fill("#pause", "100");
    await page.fill("#seed", "4");
    await page.click("#run");
    await page.waitForSelector("body[data-run=done]", { timeout: 40_000 });
    await page.screenshot({ path: join(shots, "3-lossy.png"), fullPage: true });
    expect(await page.textContent("#status")).toMatch(/done: 60000 of 60000 bytes arrived/);
    const segs = await page.$$eval("#ladder g.segment", (gs) => gs.map((g) => g.getAttribute("class")!));
    expect(segs.filter((c) => c.includes("in-flight"))).toEqual([]);
    const lost = segs.filter((c) => c.includes("lost")).length;
    expect(lost).toBeGreaterThan(0);
    expect(await page.$$eval("#ladder g.segment.lost path.cross", (p) => p.length)).toBe(lost);
    expect(segs.filter((c) => /repair|probe/.test(c)).length).toBeGreaterThan(0);
    expect(await page.$$eval("#ladder g.segment.repair text.label, #ladder g.segment.probe text.label", (t) => t.every((x) => /^(RTX|TLP) /.test(x.textContent!)))).toBe(true);
    // Whatever the losses did, each side moved only along the diagram's edges, ending CLOSED.
    const edges = new Set(await page.$$eval("#states g.edge", (g) => g.map((x) => `${x.getAttribute("data-from")}>${x.getAttribute("data-to")}`)));
    for (const [side, first] of [["client", "CLOSED"], ["server", "CLOSED"]] as const) {
      const states = [first, ...(await ladderStates(page, side))];
      for (let i = 1; i < states.length; i++) expect(edges.has(`${states[i - 1]}>${states[i]}`), `${side}: ${states.join(" ")}`).toBe(true);
      expect(states.at(-1)).toBe("CLOSED");
    }
    for (const plot of ["cwnd", "rtt", "rtx"]) expect(Number(await page.getAttribute(`#plot-${plot}`, "data-points"))).toBeGreaterThan(3);
    await page.close();
    expect(pageErrors).toEqual([]);
  }, 150_000);

  it("shows a simultaneous open and a simultaneous close: both sides through SYN-RECEIVED and CLOSING", async () => {
    const page = await open();
    await page.fill("#bytes", "2000");
    await page.fill("#delay", "15");
    await page.fill("#pause", "100");
    await page.check("#simopen");
    await page.selectOption("#closer", "both");
    await page.click("#run");
    await page.waitForSelector('#states rect.lit-client.lit-server[data-state="CLOSING"], #states rect.lit-client.lit-server[data-state="TIME-WAIT"]', { timeout: 45_000 });
    await page.screenshot({ path: join(shots, "4-simultaneous-close.png"), fullPage: true });
    await page.waitForSelector("body[data-run=done]", { timeout: 30_000 });
    await page.screenshot({ path: join(shots, "5-simultaneous-done.png"), fullPage: true });
    const both = ["SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"];
    expect(await ladderStates(page, "client")).toEqual(both);
    expect(await ladderStates(page, "server")).toEqual(both);
    const segs = await page.$$eval("#ladder g.segment", (gs) => gs.map((g) => `${g.getAttribute("data-from")} ${g.getAttribute("data-flags")}`));
    expect(segs.slice(0, 2).sort()).toEqual(["client SYN", "server SYN"]);
    await page.close();
    expect(pageErrors).toEqual([]);
  }, 150_000);

  it("stops on SIGINT with status 0", async () => {
    const code = await new Promise<number | null>((resolve) => {
      server!.once("exit", (c) => resolve(c));
      server!.kill("SIGINT");
    });
    expect(code).toBe(0);
  });
});
