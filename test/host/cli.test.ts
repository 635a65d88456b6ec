// The `tcpwasm` command, run as a child process from a fresh esbuild bundle of src/tools/cli.ts (the same
// bundling as dist/cli.js, without touching dist/): the demo's ladder and capture, usage errors, and
// serve + connect talking to each other over UDP on the loopback.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import dgram from "node:dgram";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as esbuild from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunNetns, Netns } from "../fixtures/interop/netns.js";

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
let dir: string;
let cli: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tcpwasm-cli-"));
  cli = join(dir, "cli.js");
  await esbuild.build({
    entryPoints: [new URL("../../src/tools/cli.ts", import.meta.url).pathname], outfile: cli, bundle: true, format: "esm",
    platform: "node", target: "es2022", logLevel: "warning",
    // As src/build/build.mjs does for dist/cli.js.
    define: { TCPWASM_VERSION: JSON.stringify(PACKAGE_VERSION) },
  });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], input?: string | Uint8Array): Promise<Run & { raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) => {
      const raw = Buffer.concat(out);
      resolve({ code, stdout: raw.toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), raw });
    });
    child.stdin.end(input);
  });
}

function statesUnder(ladder: string, column: number): string[] {
  return ladder
    .split("\n")
    .filter((l) => !l.includes("|") && /^ +\d+\.\d{3}/.test(l) && l.length > column && l[column] !== " " && l[column - 1] === " ")
    .map((l) => l.slice(column).split(" ")[0]!);
}

function which(tool: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("tcpwasm demo", () => {
  it("prints the ladder of a real handshake, transfer and four-way close, and a summary", async () => {
    const r = await run(["demo", "--bytes", "20000"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    const arrows = lines.filter((l) => /\|.*\|$/.test(l));
    const right = (re: RegExp) => arrows.some((l) => re.test(l) && l.endsWith(">|"));
    const left = (re: RegExp) => arrows.some((l) => re.test(l) && /\|<-/.test(l));
    expect(right(/ SYN seq=0 win=\d+ \[\d+\] /)).toBe(true);
    // Options that do not fit on the arrow go on the line below it: the SYNs offer everything.
    const synAt = lines.findIndex((l) => / SYN seq=0 /.test(l));
    expect(lines[synAt + 1]).toMatch(/^ +<mss 1460, ws \d+, sackOK, ts \d+\/0>$/);
    expect(left(/ SYN,ACK seq=0 ack=1 win=\d+ \[\d+\/\d+\] /)).toBe(true);
    const synAckAt = lines.findIndex((l) => / SYN,ACK seq=0 /.test(l));
    expect(lines[synAckAt + 1]).toMatch(/^ +<mss 1460, ws \d+, sackOK, ts \d+\/\d+>$/);
    expect(right(/ ACK seq=1 ack=1 win=/)).toBe(true);
    expect(right(/ len=1448 /)).toBe(true);
    expect(r.stdout).toMatch(/FIN,(PSH,)?ACK seq=18825 ack=1 /);
    expect(left(/ FIN,ACK seq=1 ack=20002 /)).toBe(true);
    expect(right(/ ACK seq=20002 ack=2 /)).toBe(true);
    const bar = arrows[0]!.indexOf("|");
    const rightBar = arrows[0]!.lastIndexOf("|");
    expect(statesUnder(r.stdout, bar)).toEqual(["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]);
    expect(statesUnder(r.stdout, rightBar)).toEqual(["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]);
    expect(r.stdout).toMatch(/bytes +20000 sent, 20000 received, SHA-256 match/);
    expect(r.stdout).toMatch(/throughput +[\d.]+ Mbit\/s/);
    expect(r.stdout).toMatch(/retransmissions +client \d+ \(\d+ fast\), server \d+ \(\d+ fast\)/);
  });

  it("--textbook shows each of the textbook's segments and states on its own, line by line", async () => {
    const r = await run(["demo", "--textbook", "--width", "80"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines.filter((l) => l.length > 80)).toEqual([]);
    const start = lines.findIndex((l) => /^ +client 10\.0\.0\.1:\d+ +server 10\.0\.0\.2:9$/.test(l));
    expect(start).toBeGreaterThan(0);
    const end = lines.indexOf("", start);
    // Times and the (random) absolute numbers, ports and timestamps vary; the rest is asserted as is.
    const normal = lines.slice(start + 2, end).map((l) =>
      l.replace(/^ +\d+\.\d{3}/, "T").replace(/\[\d+(\/\d+)?\]/g, (m) => (m.includes("/") ? "[J/K]" : "[J]")).replace(/ts \d+\/\d+/g, "ts V/E")
        .replace(/\|(<?)-+ /, "|$1-- ").replace(/ -+(>?)\|$/, " --$1|").trimEnd(),
    );
    // A segment's numbers and options go on a line of their own below its arrow when they do not fit
    // on it, which depends on how many digits the (seeded) timestamps have: such a line starts under
    // the sender's end (column 10 for the client, further right for the server) and is folded back
    // here, so each segment is one entry.
    const ladder: string[] = [];
    for (const l of normal) {
      const prev = ladder[ladder.length - 1];
      if (/^ +[[<]/.test(l) && prev?.startsWith("T |")) {
        expect(l.startsWith("          [") || l.startsWith("          <"), `"${l}" under the client's end`).toBe(prev.startsWith("T |--"));
        ladder[ladder.length - 1] = `${prev} ${l.trim()}`;
      } else {
        ladder.push(l);
      }
    }
    // States start under the bars: the left one at column 9, the right one at 9 + 59 (80 columns less
    // the time column and room for "SYN-RECEIVED"); "T" stands for the 8 columns of the time.
    const at = (col: number, text: string) => "T" + " ".repeat(col - 8) + text;
    const L = 9;
    const R = 68;
    expect(ladder).toEqual([
      at(R, "LISTEN"),
      at(L, "SYN-SENT"),
      "T |-- SYN seq=0 win=65535 [J] -->| <mss 1460, ws 7, sackOK, ts V/E>",
      at(R, "SYN-RECEIVED"),
      "T |<-- SYN,ACK seq=0 ack=1 win=65535 [J/K] --| <mss 1460, ws 7, sackOK, ts V/E>",
      at(L, "ESTABLISHED"),
      // The third ACK on its own, its window scaled (2048 << 7: scale 7 is chosen for the 4 MiB the
      // receive ring may grow to).
      expect.stringMatching(/^T \|-- ACK seq=1 ack=1 win=262144 (<ts V\/E> -->\||-->\| <ts V\/E>)$/),
      at(R, "ESTABLISHED"),
      "T |-- PSH,ACK seq=1 ack=1 len=100 win=262144 -->| <ts V/E>",
      "T |<-- ACK seq=1 ack=101 win=262144 --| <ts V/E>",
      at(L, "FIN-WAIT-1"),
      "T |-- FIN,ACK seq=101 ack=1 win=262144 -->| [J/K] <ts V/E>",
      at(R, "CLOSE-WAIT"),
      // The server's ACK of the FIN alone: FIN-WAIT-2 and CLOSE-WAIT last until its own FIN.
      expect.stringMatching(/^T \|<-- ACK seq=1 ack=102 win=\d+ --\| <ts V\/E>$/),
      at(L, "FIN-WAIT-2"),
      at(R, "LAST-ACK"),
      expect.stringMatching(/^T \|<-- FIN,ACK seq=1 ack=102 win=\d+ --\| \[J\/K\] <ts V\/E>$/),
      at(L, "TIME-WAIT"),
      expect.stringMatching(/^T \|-- ACK seq=102 ack=2 win=\d+ -->\| <ts V\/E>$/),
      at(R, "CLOSED"),
      at(L, "CLOSED"),
    ]);
    // The gaps: FIN-WAIT-2 lasts the pause (200 ms) before the server's FIN.
    const time = (re: RegExp) => Number(/^ +(\d+\.\d{3})/.exec(lines.find((l) => re.test(l))!)![1]);
    expect(time(/LAST-ACK$/) - time(/FIN-WAIT-2$/)).toBeGreaterThan(0.1);
    expect(r.stdout).toMatch(/^ +\[s\/a\] +the absolute seq \(and ack\) as on the wire/m);
    expect(r.stdout).toMatch(/^ +win= +the receive window in bytes: the 16-bit window field times the\n +sender's window scale factor \(client 128, server 128; RFC 7323\n +2\.2\)/m);
    expect(r.stdout).toMatch(/bytes +100 sent, 100 received, SHA-256 match/);
  });

  it("--simultaneous-close passes both sides through CLOSING; --refused draws the RST", async () => {
    const r = await run(["demo", "--simultaneous-close", "--width", "80"]);
    expect(r.code).toBe(0);
    const arrows = r.stdout.split("\n").filter((l) => /\|.*\|$/.test(l));
    const bar = arrows[0]!.indexOf("|");
    const rightBar = arrows[0]!.lastIndexOf("|");
    const both = ["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"];
    expect(statesUnder(r.stdout, bar)).toEqual(both);
    expect(statesUnder(r.stdout, rightBar)).toEqual(["LISTEN", "SYN-RECEIVED", ...both.slice(1)]);
    const refused = await run(["demo", "--refused", "--width", "80"]);
    expect(refused.code).toBe(0);
    expect(refused.stdout).toMatch(/\|<-+ RST,ACK seq=0 ack=1 win=0 \[0\/\d+\] -+\|/);
    expect(refused.stdout).toMatch(/result +ECONNREFUSED after/);
  });

  it("--web without the built page beside the command says so and exits 1", async () => {
    // This test's bundle lives in a temporary directory with no demo/ folder (dist/cli.js has one:
    // test/browser/web-demo.test.ts runs that).
    const r = await run(["demo", "--web"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tcpwasm demo: the page is missing: .*\/demo\/index\.html \(npm run build makes it\)\n$/);
    expect(r.stdout).toBe("");
  });

  it("folds a long transfer into summary lines", async () => {
    const r = await run(["demo", "--bytes", "2000000"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\.\.\. \d+ segments folded, [^]*?client -> server: \d+ data\s+segments/);
    expect(r.stdout).toMatch(/2000000 sent, 2000000 received, SHA-256 match/);
  });

  it("a 64 MiB run: the handshake and the close in full, the middle folded, progress only on stderr", async () => {
    const r = await run(["demo", "--bytes", String(64 << 20), "--progress", "--width", "100"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    const arrows = lines.filter((l) => /\|.*\|$/.test(l));
    const flags = (l: string) => / (RTX |TLP )?([A-Z,]+) seq=/.exec(l)?.[2];
    expect(arrows.slice(0, 3).map(flags)).toEqual(["SYN", "SYN,ACK", "ACK"]);
    expect(arrows.slice(-4).map(flags)).toEqual([expect.stringMatching(/^FIN,(PSH,)?ACK$/), "ACK", "FIN,ACK", "ACK"]);
    const bar = arrows[0]!.indexOf("|");
    const rightBar = arrows[0]!.lastIndexOf("|");
    expect(statesUnder(r.stdout, bar)).toEqual(["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]);
    expect(statesUnder(r.stdout, rightBar)).toEqual(["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]);
    expect(r.stdout).toMatch(/\.\.\. \d+ segments folded, [^]*?client -> server: \d+ data\s+segments/);
    expect(r.stdout).toMatch(/67108864 sent, 67108864 received, SHA-256 match/);
    // About 46000 segments, drawn in a few hundred lines.
    expect(lines.length).toBeLessThan(400);
    expect(r.stdout).not.toMatch(/transfer +\d+\.\d%/);
    const progress = r.stderr.trimEnd().split("\n");
    for (const l of progress) expect(l).toMatch(/^transfer +\d+\.\d%  [\d.]+ [KMG]?i?B of 64\.0 MiB  [\d.]+ [MG]bit\/s  ([\d.]+ s left|in [\d.]+ s)$/);
    expect(progress.at(-1)).toMatch(/^transfer 100\.0%  64\.0 MiB of 64\.0 MiB /);
  });

  const tshark = which("tshark");
  if (!tshark) console.warn("tcpwasm demo --pcap test SKIPPED: tshark is not installed");
  it.skipIf(!tshark)("--pcap writes a capture tshark reads with no malformed packets and no checksum errors, with loss", async () => {
    const file = join(dir, "demo.pcap");
    const r = await run(["demo", "--bytes", "200000", "--loss", "0.03", "--seed", "5", "--pcap", file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/the link lost [1-9]/);
    expect(existsSync(file)).toBe(true);
    const tsharkArgs = ["-r", file, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"];
    const fields = execFileSync("tshark", [...tsharkArgs, "-T", "fields", "-e", "ip.checksum.status", "-e", "tcp.checksum.status", "-e", "tcp.flags.str"], {
      encoding: "utf8", stdio: ["ignore", "pipe", "ignore"],
    }).trim().split("\n");
    expect(fields.length).toBeGreaterThan(150);
    // Status 1 = good (2 = bad): every IPv4 header and TCP checksum verified.
    expect(fields.filter((f) => f.split("\t")[0] !== "1" || f.split("\t")[1] !== "1")).toEqual([]);
    expect(fields.some((f) => f.includes("S"))).toBe(true);
    expect(fields.some((f) => f.includes("F"))).toBe(true);
    const bad = execFileSync("tshark", [...tsharkArgs, "-Y", "_ws.malformed || _ws.expert.severity >= error"], {
      encoding: "utf8", stdio: ["ignore", "pipe", "ignore"],
    });
    expect(bad.trim()).toBe("");
  });
});

describe("tcpwasm usage", () => {
  it("exits 2 with the usage on stderr for bad commands and options", async () => {
    const cases: string[][] = [
      [],
      ["frobnicate"],
      ["demo", "--loss", "2"],
      ["demo", "--bytes", "lots"],
      ["demo", "--frobnicate"],
      ["demo", "extra"],
      ["demo", "--textbook", "--refused"],
      ["demo", "--web", "--bytes", "5"],
      ["demo", "--port", "8080"],
      ["demo", "--width", "20"],
      ["demo", "--textbook", "--progress"],
      ["serve", "--ip", "10.77.0.2/24", "--udp-bind", "127.0.0.1:0", "--udp-peer", "127.0.0.1:9"],
      ["serve", "--port", "80", "--udp-bind", "127.0.0.1:0", "--udp-peer", "127.0.0.1:9"],
      ["serve", "--ip", "10.77.0.2/40", "--port", "80", "--udp-bind", "127.0.0.1:0", "--udp-peer", "127.0.0.1:9"],
      ["connect", "--ip", "10.77.0.3/24", "--timeout", "0", "--udp-bind", "127.0.0.1:0", "--udp-peer", "127.0.0.1:9", "10.77.0.2", "80"],
      ["connect", "--ip", "10.77.0.3/24", "--timeout", "soon", "--udp-bind", "127.0.0.1:0", "--udp-peer", "127.0.0.1:9", "10.77.0.2", "80"],
      ["serve", "--ip", "10.77.0.2/24", "--timeout", "100", "--port", "80", "--udp-bind", "127.0.0.1:0", "--udp-peer", "127.0.0.1:9"],
      ["serve", "--ip", "10.77.0.2/24", "--port", "80", "--mode", "gopher", "--udp-bind", "127.0.0.1:0", "--udp-peer", "127.0.0.1:9"],
      ["connect", "--ip", "10.77.0.3/24", "--udp-bind", "127.0.0.1:0", "--udp-peer", "127.0.0.1:9", "10.77.0.2"],
      ["connect", "--ip", "10.77.0.3/24", "--udp-bind", "127.0.0.1:0", "--udp-peer", "127.0.0.1:9", "10.77.0.2", "99999"],
      ["connect", "--ip", "10.77.0.3/24", "--udp-bind", "nonsense", "--udp-peer", "127.0.0.1:9", "10.77.0.2", "80"],
    ];
    for (const args of cases) {
      const r = await run(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(/usage|tcpwasm help/);
      expect(r.stdout).toBe("");
    }
    const help = await run(["help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: tcpwasm <command>/);
    expect(help.stdout).toContain("exit codes: 0 success, 1 runtime or connection error, 2 usage error");
  });
});

describe("tcpwasm network flags: --tap, --mac, --dhcp, --dns, --dns-name", () => {
  const base = ["--udp-bind", "127.0.0.1:0", "--udp-peer", "127.0.0.1:9"];
  it("exit 2 with a message naming the flag for each bad value or combination", async () => {
    const cases: [string[], string][] = [
      [["--ip", "10.0.2.2/24", "--dhcp", "10.0.2.15-10.0.2.100"], "--dhcp needs --tap: DHCP clients broadcast Ethernet frames"],
      [["--ip6", "fd00::2/64", "--tap", "--dhcp", "10.0.2.15-10.0.2.100"], "--dhcp needs --ip: the DHCP server's address and the guests' subnet"],
      [["--ip", "10.0.2.2/24", "--tap", "--dhcp", "10.0.2.15"], '--dhcp must be a range like 10.0.2.15-10.0.2.100 or a prefix like 10.0.2.0/24 (length up to 30), got "10.0.2.15"'],
      [["--ip", "10.0.2.2/24", "--tap", "--dhcp", "10.0.2.15-10.0.2.300"], '--dhcp must be a range like 10.0.2.15-10.0.2.100 or a prefix like 10.0.2.0/24, got "10.0.2.15-10.0.2.300"'],
      [["--ip", "10.0.2.2/24", "--tap", "--dhcp", "10.0.2.100-10.0.2.15"], "--dhcp range 10.0.2.100-10.0.2.15 ends before it starts"],
      [["--ip", "10.0.2.2/24", "--tap", "--dhcp", "10.0.2.15-10.0.3.1"], "--dhcp address 10.0.3.1 is outside --ip 10.0.2.2/24's subnet 10.0.2.0/24"],
      [["--ip", "10.0.2.2/24", "--tap", "--dhcp", "10.0.0.0/16"], "--dhcp prefix 10.0.0.0/16 is not inside --ip 10.0.2.2/24's subnet 10.0.2.0/24"],
      [["--ip", "10.0.2.2/24", "--tap", "--dhcp", "10.0.9.0/28"], "--dhcp prefix 10.0.9.0/28 is not inside --ip 10.0.2.2/24's subnet 10.0.2.0/24"],
      [["--ip", "10.0.2.2/31", "--tap", "--dhcp", "10.0.2.2/31"], "--dhcp needs a subnet with room for guests: --ip 10.0.2.2/31 has a /31"],
      [["--ip", "10.0.2.2/24", "--mac", "02:00:00:00:00:01"], "--mac needs --tap: only an Ethernet link has MAC addresses"],
      [["--ip", "10.0.2.2/24", "--tap", "--mac", "02:00:00:00:01"], '--mac must be six hex octets like 02:00:00:00:00:01, got "02:00:00:00:01"'],
      [["--ip", "10.0.2.2/24", "--tap", "--mac", "01:00:5e:00:00:01"], '--mac must be a unicast MAC (the first octet even), got "01:00:5e:00:00:01"'],
      [["--ip", "10.0.2.2/24", "--dns-name", "gw.test=10.0.2.2"], "--dns-name needs --dns: the names are answered by the stack's DNS responder"],
      [["--ip", "10.0.2.2/24", "--dns", "--dns-name", "gw.test"], '--dns-name must be NAME=ADDRESS with an IPv4 or IPv6 address, like gateway.test=10.0.2.2, got "gw.test"'],
      [["--ip", "10.0.2.2/24", "--dns", "--dns-name", "gw.test=10.0.2"], '--dns-name must be NAME=ADDRESS with an IPv4 or IPv6 address, like gateway.test=10.0.2.2, got "gw.test=10.0.2"'],
      [["--ip", "10.0.2.2/24", "--dns", "--dns-name", "bad..name=10.0.2.2"], '--dns-name must be NAME=ADDRESS with an IPv4 or IPv6 address, like gateway.test=10.0.2.2, got "bad..name=10.0.2.2"'],
      [["--ip", "fd00::2/64"], '--ip must be an IPv4 address, with a prefix like 10.77.0.2/24 or alone (/32), got "fd00::2/64"'],
      [["--ip6", "10.0.2.2/24"], '--ip6 must be an IPv6 address, with a prefix like fd77::2/64 or alone (/128), got "10.0.2.2/24"'],
      [["--ip", "10.0.2.2/33"], '--ip must be an IPv4 address, with a prefix like 10.77.0.2/24 or alone (/32), got "10.0.2.2/33"'],
      [["--ip", "10.0.2.2", "--tap", "--dhcp", "10.0.2.15-10.0.2.100"], "--dhcp needs a subnet with room for guests: --ip 10.0.2.2 has a /32"],
      [["--ip", "10.0.2.2/24", "--tap=yes"], "--tap"],
      [["--ip", "10.0.2.2/24", "--dns", "--dhcp"], "--dhcp"],
    ];
    // Both commands share the checks: every case through serve, a few through connect too.
    for (const [i, [flags, message]] of cases.entries()) {
      for (const command of i % 5 === 0 ? [["serve", "--port", "80"], ["connect"]] : [["serve", "--port", "80"]]) {
        const args = [...command, ...flags, ...base, ...(command[0] === "connect" ? ["10.0.2.15", "80"] : [])];
        const r = await run(args);
        expect({ args, code: r.code }).toEqual({ args, code: 2 });
        expect(r.stderr).toContain(message);
        expect(r.stderr).toContain("(tcpwasm help shows the usage)");
        expect(r.stdout).toBe("");
      }
    }
  });

  it("help describes the network options", async () => {
    const help = await run(["help"]);
    for (const flag of ["--tap", "--mac MAC", "--dhcp POOL", "--dns ", "--dns-name NAME=ADDR"]) expect(help.stdout).toContain(flag);
  });
});

async function freeUdpPorts(n: number): Promise<number[]> {
  const sockets = await Promise.all(
    Array.from({ length: n }, () => new Promise<dgram.Socket>((resolve) => {
      const s = dgram.createSocket("udp4");
      s.bind(0, "127.0.0.1", () => resolve(s));
    })),
  );
  const ports = sockets.map((s) => s.address().port);
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

function startServe(args: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, "serve", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes("listening")) resolve(child);
    });
    child.on("exit", (code) => reject(new Error(`serve exited with ${code} before listening`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.on("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

describe("tcpwasm --version", () => {
  it("prints the package's version and the engine build", async () => {
    for (const args of [["--version"], ["version"]]) {
      const r = await run(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`tcpwasm ${PACKAGE_VERSION} (simd build)\n`);
    }
  });
});

describe("tcpwasm serve and connect over UDP on the loopback", () => {
  it("connect --timeout: a peer that never answers ends the command with ETIMEDOUT (exit 1); a bare --ip is its /32", async () => {
    // The UDP peer is a bound socket that reads nothing: every SYN vanishes.
    const sink = dgram.createSocket("udp4");
    await new Promise<void>((r) => sink.bind(0, "127.0.0.1", () => r()));
    const [clientPort] = await freeUdpPorts(1);
    try {
      const udp = ["--udp-bind", `127.0.0.1:${clientPort}`, "--udp-peer", `127.0.0.1:${sink.address().port}`];
      const r = await run(["connect", "--ip", "10.77.0.3", ...udp, "--timeout", "300", "10.77.0.2", "80"], "");
      expect(r.code).toBe(1);
      expect(r.stderr).toBe("tcpwasm connect: ETIMEDOUT: no connection within 300 ms (connect timeout)\n");
    } finally {
      sink.close();
    }
  });

  it("echo over IPv4 and IPv6: connect's stdin comes back on its stdout, and it exits 0", async () => {
    const [serverPort, clientPort] = await freeUdpPorts(2);
    const udp = (bind: number, peer: number) => ["--udp-bind", `127.0.0.1:${bind}`, "--udp-peer", `127.0.0.1:${peer}`];
    const server = await startServe(["--ip", "10.77.0.2/24", "--ip6", "fd77::2/64", ...udp(serverPort!, clientPort!), "--port", "7", "--mode", "echo"]);
    try {
      const input = new Uint8Array(400_000).map((_, i) => (i * 7919) & 0xff);
      const r4 = await run(["connect", "--ip", "10.77.0.3/24", ...udp(clientPort!, serverPort!), "10.77.0.2", "7"], input);
      expect(r4.code).toBe(0);
      expect(createHash("sha256").update(r4.raw).digest("hex")).toBe(createHash("sha256").update(input).digest("hex"));
      const r6 = await run(["connect", "--ip6", "fd77::3/64", ...udp(clientPort!, serverPort!), "fd77::2", "7"], "hello over IPv6\n");
      expect(r6.code).toBe(0);
      expect(r6.stdout).toBe("hello over IPv6\n");
      // Nobody listens on port 8: exit 1 with the code printed.
      const refused = await run(["connect", "--ip", "10.77.0.3/24", ...udp(clientPort!, serverPort!), "10.77.0.2", "8"], "");
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("ECONNREFUSED");
    } finally {
      expect(await stop(server)).toBe(0);
    }
  });

  it("--tap on both ends: the stacks find each other by ARP and neighbour discovery, echo over IPv4 and IPv6", async () => {
    const [serverPort, clientPort] = await freeUdpPorts(2);
    const udp = (bind: number, peer: number) => ["--udp-bind", `127.0.0.1:${bind}`, "--udp-peer", `127.0.0.1:${peer}`];
    const capture = join(dir, "tap.pcap");
    const server = await startServe([
      "--tap", "--mac", "02:00:00:00:00:02", "--ip", "10.0.2.2/24", "--ip6", "fd00:2::2/64", ...udp(serverPort!, clientPort!), "--port", "7", "--pcap", capture,
    ]);
    try {
      const input = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff);
      const r4 = await run(["connect", "--tap", "--ip", "10.0.2.3/24", ...udp(clientPort!, serverPort!), "10.0.2.2", "7"], input);
      expect(r4.stderr).toBe("");
      expect(r4.code).toBe(0);
      expect(createHash("sha256").update(r4.raw).digest("hex")).toBe(createHash("sha256").update(input).digest("hex"));
      const r6 = await run(["connect", "--tap", "--ip6", "fd00:2::3/64", ...udp(clientPort!, serverPort!), "fd00:2::2", "7"], "hello over Ethernet\n");
      expect(r6.code).toBe(0);
      expect(r6.stdout).toBe("hello over Ethernet\n");
      // No such neighbour: address resolution fails and the connect says so.
      const nobody = await run(["connect", "--tap", "--ip", "10.0.2.3/24", ...udp(clientPort!, serverPort!), "10.0.2.9", "7"], "");
      expect(nobody.code).toBe(1);
      expect(nobody.stderr).toContain("EHOSTUNREACH");
    } finally {
      expect(await stop(server)).toBe(0);
    }
    // The server's capture holds whole frames: LINKTYPE_ETHERNET (1) in the file header.
    const pcap = readFileSync(capture);
    expect(pcap.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(pcap.readUInt32LE(20)).toBe(1);
    if (which("tshark")) {
      const frames = execFileSync("tshark", ["-r", capture, "-T", "fields", "-e", "eth.src", "-e", "eth.type"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      // ARP (0x0806), IPv4 and IPv6 from the server's MAC.
      for (const type of ["0x0806", "0x0800", "0x86dd"]) expect(frames).toContain(`02:00:00:00:00:02\t${type}`);
    }
  });

  it("http: GET /, /bytes/N and a 404 on one kept-alive connection", async () => {
    const [serverPort, clientPort] = await freeUdpPorts(2);
    const udp = (bind: number, peer: number) => ["--udp-bind", `127.0.0.1:${bind}`, "--udp-peer", `127.0.0.1:${peer}`];
    const server = await startServe(["--ip", "10.77.0.2/24", ...udp(serverPort!, clientPort!), "--port", "80", "--mode", "http"]);
    try {
      const requests = "GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /bytes/70000 HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
      const r = await run(["connect", "--ip", "10.77.0.3/24", ...udp(clientPort!, serverPort!), "10.77.0.2", "80"], requests);
      expect(r.code).toBe(0);
      const raw = r.raw;
      const first = raw.indexOf("\r\n\r\n");
      const head1 = raw.subarray(0, first).toString();
      expect(head1).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(head1).toContain("Connection: keep-alive");
      const len1 = Number(/Content-Length: (\d+)/.exec(head1)![1]);
      expect(raw.subarray(first + 4, first + 4 + len1).toString()).toContain("Hello from tcpwasm");
      let at = first + 4 + len1;
      const second = raw.indexOf("\r\n\r\n", at);
      const head2 = raw.subarray(at, second).toString();
      expect(head2).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(head2).toContain("Content-Length: 70000");
      const body = raw.subarray(second + 4, second + 4 + 70000);
      expect(body.every((b, i) => b === (i & 0xff))).toBe(true);
      at = second + 4 + 70000;
      expect(raw.subarray(at).toString()).toMatch(/^HTTP\/1\.1 404 Not Found\r\n[\s\S]*Connection: close[\s\S]*\r\n\r\nnot found\n$/);
    } finally {
      expect(await stop(server)).toBe(0);
    }
  });
});

// Behind a real TUN device, against the Linux kernel's TCP: socat's relay lives in a network namespace
// (test/fixtures/interop/netns.ts), and the command runs there under `ip netns exec`, which is all it needs.
const netns = canRunNetns(["curl", "ping"]);
if (!netns.ok) console.warn(`tcpwasm serve/connect against the kernel SKIPPED: ${netns.reason}`);
describe.skipIf(!netns.ok)("tcpwasm under ip netns exec, against the kernel", () => {
  it("serve --mode http answers curl over IPv4 and IPv6 and ping; connect talks to a kernel echo server", async () => {
    const ns = await Netns.create();
    try {
      await ns.startTunRelay();
      const udp = ["--udp-bind", "127.0.0.1:7000", "--udp-peer", "127.0.0.1:7001"];
      const server = ns.spawn(process.execPath, [cli, "serve", "--ip", "10.77.0.2/24", "--ip6", "fd77::2/64", ...udp, "--port", "80", "--mode", "http"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      await new Promise<void>((resolve, reject) => {
        let out = "";
        server.stdout!.on("data", (c: Buffer) => (out += c.toString()).includes("listening") && resolve());
        server.on("exit", (code) => reject(new Error(`serve exited with ${code}`)));
      });
      const page = await ns.run("curl", ["-sS", "-m", "20", "http://10.77.0.2/"]);
      expect(page).toContain("Hello from tcpwasm");
      const file = join(dir, "bytes.bin");
      const got = await ns.run("curl", ["-sS", "-m", "60", "-o", file, "-w", "%{http_code} %{size_download}", "-g", "http://[fd77::2]/bytes/3000000"]);
      expect(got).toBe("200 3000000");
      const expected = createHash("sha256").update(new Uint8Array(3_000_000).map((_, i) => i & 0xff)).digest("hex");
      expect(createHash("sha256").update(readFileSync(file)).digest("hex")).toBe(expected);
      expect(await ns.run("curl", ["-sS", "-m", "20", "-o", "/dev/null", "-w", "%{http_code}", "http://10.77.0.2/missing"])).toBe("404");
      expect(await ns.run("ping", ["-c", "1", "-W", "5", "10.77.0.2"])).toContain("1 received");
      expect(await new Promise<number | null>((resolve) => {
        server.on("exit", resolve);
        server.kill("SIGTERM");
      })).toBe(0);

      // The other way round: a kernel echo server, tcpwasm connect as the client (the UDP port is free again).
      ns.spawn("socat", ["TCP-LISTEN:5000,bind=10.77.0.1,reuseaddr,fork", "EXEC:cat"]);
      const input = Array.from({ length: 50_000 }, (_, i) => `line ${i}\n`).join("");
      let echoed = await ns.exec(process.execPath, [cli, "connect", "--ip", "10.77.0.2/24", ...udp, "10.77.0.1", "5000"], { input });
      for (let i = 0; i < 20 && echoed.code === 1 && echoed.stderr.includes("ECONNREFUSED"); i++) {
        // socat may not be listening yet.
        await new Promise((r) => setTimeout(r, 100));
        echoed = await ns.exec(process.execPath, [cli, "connect", "--ip", "10.77.0.2/24", ...udp, "10.77.0.1", "5000"], { input });
      }
      expect(echoed.code).toBe(0);
      expect(echoed.stdout === input).toBe(true);
      const refused = await ns.exec(process.execPath, [cli, "connect", "--ip", "10.77.0.2/24", ...udp, "10.77.0.1", "5999"]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("ECONNREFUSED");
    } finally {
      await ns.destroy();
    }
  });
});
