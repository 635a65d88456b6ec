// The shipped .d.ts files are the API reference (README "API reference"): they must hold no private
// or @internal member, import nothing the package does not ship, type-check on their own, and give
// every symbol the entries export a doc comment. Reads dist/ as `npm run build` (pretest) leaves it.
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isBuiltin } from "node:module";
import type { ConnectionOptions, EngineConfig } from "../../src/index.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const dist = join(repo, "dist");
const ENTRIES = ["index.d.ts", "node.d.ts", "wire.d.ts"];

function shipped(): string[] {
  return readdirSync(dist, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".d.ts"))
    .sort();
}

const text = (file: string): string => readFileSync(join(dist, file), "utf8");

/** Module specifiers a .d.ts imports or re-exports, with the line they are on. */
function specifiers(source: string): { spec: string; line: string }[] {
  const out: { spec: string; line: string }[] = [];
  for (const line of source.split("\n")) {
    for (const m of line.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)"([^"]+)"/g)) out.push({ spec: m[1], line });
  }
  return out;
}

/** The declaration of `name` in `file`, following re-exports; `doc` is the comment right before it. */
function declaration(file: string, name: string, seen = new Set<string>()): { file: string; doc: boolean } | undefined {
  const key = `${file}#${name}`;
  if (seen.has(key)) return undefined;
  seen.add(key);
  const source = text(file);
  const lines = source.split("\n");
  const decl = new RegExp(`^(?:export )?(?:declare )?(?:abstract )?(?:class|interface|type|const|let|var|function|enum|namespace) ${name}\\b`);
  const at = lines.findIndex((l) => decl.test(l));
  if (at >= 0) return { file, doc: /\*\/\s*$/.test(lines.slice(0, at).join("\n").trimEnd()) };
  const target = (spec: string) => relative(dist, resolve(dirname(join(dist, file)), spec.replace(/\.js$/, ".d.ts")));
  for (const m of source.matchAll(/export (?:type )?\{([^}]*)\} from "([^"]+)"/g)) {
    for (const part of m[1].split(",")) {
      const [orig, alias] = part.replace(/^\s*type\s+/, "").trim().split(/\s+as\s+/);
      if ((alias ?? orig) === name) return declaration(target(m[2]), orig, seen);
    }
  }
  // `import { a } from "./x.js"; ... export { a };`
  for (const m of source.matchAll(/import (?:type )?\{([^}]*)\} from "([^"]+)"/g)) {
    for (const part of m[1].split(",")) {
      const [orig, alias] = part.replace(/^\s*type\s+/, "").trim().split(/\s+as\s+/);
      if ((alias ?? orig) === name && new RegExp(`export (?:type )?\\{[^}]*\\b${name}\\b[^}]*\\};`).test(source)) {
        return declaration(target(m[2]), orig, seen);
      }
    }
  }
  for (const m of source.matchAll(/export \* from "([^"]+)"/g)) {
    const found = declaration(target(m[1]), name, seen);
    if (found) return found;
  }
  return undefined;
}

/** Names an entry exports (its own export lists and those of the entries it re-exports wholesale). */
function exportedNames(file: string): string[] {
  const source = text(file);
  const names: string[] = [];
  for (const m of source.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
    for (const part of m[1].split(",")) {
      if (part.trim() === "") continue;
      const [orig, alias] = part.replace(/^\s*type\s+/, "").trim().split(/\s+as\s+/);
      names.push(alias ?? orig);
    }
  }
  for (const m of source.matchAll(/export \* from "\.\/([^"]+)\.js"/g)) names.push(...exportedNames(`${m[1]}.d.ts`));
  return names;
}

describe("published types (dist/**/*.d.ts)", () => {
  it("the build left the entries' declarations", () => {
    for (const entry of ENTRIES) expect(existsSync(join(dist, entry)), entry).toBe(true);
  });

  it("hold no private or @internal member", () => {
    const found: string[] = [];
    for (const file of shipped()) {
      text(file).split("\n").forEach((line, i) => {
        if (/(^|\s)(private|protected)\s/.test(line) || line.includes("@internal")) found.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(found).toEqual([]);
  });

  it("import only shipped declarations, Node built-ins and the package's dependencies", () => {
    const deps = Object.keys(JSON.parse(readFileSync(join(repo, "package.json"), "utf8")).dependencies ?? {});
    const files = new Set(shipped());
    const bad: string[] = [];
    for (const file of files) {
      for (const { spec, line } of specifiers(text(file))) {
        if (spec.startsWith(".")) {
          const target = relative(dist, resolve(dirname(join(dist, file)), spec.replace(/\.js$/, ".d.ts")));
          if (!files.has(target)) bad.push(`${file}: ${line.trim()}`);
        } else if (!isBuiltin(spec) && !deps.includes(spec)) bad.push(`${file}: ${line.trim()}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it("every symbol dist/index.d.ts and dist/node.d.ts export has a doc comment where it is declared", () => {
    const missing: string[] = [];
    for (const entry of ENTRIES) {
      const names = exportedNames(entry);
      expect(names.length, entry).toBeGreaterThan(10);
      for (const name of names) {
        const d = declaration(entry, name);
        if (!d) missing.push(`${entry}: ${name} (declaration not found)`);
        else if (!d.doc) missing.push(`${entry}: ${name} (${d.file})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("every member of a published class or interface has a doc comment", () => {
    const missing: string[] = [];
    for (const file of shipped()) {
      const lines = text(file).split("\n");
      let owner: string | undefined;
      lines.forEach((line, i) => {
        const open = /^export (?:declare )?(?:abstract )?(?:class|interface) (\w+)/.exec(line);
        if (open) return void (owner = open[1]);
        if (owner && line.startsWith("}")) return void (owner = undefined);
        const member = /^ {4}(?:(?:readonly|static|get|set|async) )*(\w+)\??[:(<]/.exec(line);
        if (!owner || !member) return;
        const previous = lines[i - 1]!.trim();
        // A setter shares its getter's comment.
        if (previous.endsWith("*/") || (line.includes(" set ") && new RegExp(`get ${member[1]}\\(`).test(previous))) return;
        missing.push(`${file}:${i + 1}: ${owner}.${member[1]}`);
      });
    }
    expect(missing).toEqual([]);
  });

  it("type-check on their own, and type each option precisely for a consumer", () => {
    // A consumer of the package as published: only dist/ and @types/node, with library checking on.
    const dir = mkdtempSync(join(tmpdir(), "tcpwasm-types-"));
    try {
      const consumer = join(dir, "consumer.ts");
      writeFileSync(
        consumer,
        [
          `import { createStack, type EngineConfig, type ConnectionOptions } from ${JSON.stringify(join(dist, "index.js"))};`,
          `import { bindNet } from ${JSON.stringify(join(dist, "node.js"))};`,
          `const ok: EngineConfig = { mtu: 1400, sack: false, keepalive: 1, rtoMinMs: 200 };`,
          `// @ts-expect-error a size is a number`,
          `const wrongSize: EngineConfig = { mtu: true };`,
          `// @ts-expect-error a switch is a boolean, 0 or 1`,
          `const wrongFlag: EngineConfig = { sack: 2 };`,
          `// @ts-expect-error unknown keys are refused`,
          `const unknown: EngineConfig = { mssBytes: 1000 };`,
          `// @ts-expect-error a buffer size is a number`,
          `const wrongOption: ConnectionOptions = { sendBuffer: true };`,
          `// @ts-expect-error a TOS is a number`,
          `const wrongTos: ConnectionOptions = { tos: "0x10" };`,
          `// The Node face where node:net's types are expected: its Server is a net.Server and its Socket a`,
          `// net.Socket, every member and overload included (connect's port-only and IPC forms, setKeepAlive's options).`,
          `import type * as net from "node:net";`,
          `import * as http from "node:http";`,
          `import * as tls from "node:tls";`,
          `declare const face: ReturnType<typeof bindNet>;`,
          `const server: net.Server = face.createServer();`,
          `const socket: net.Socket = new face.Socket();`,
          `const dialled: net.Socket = face.connect({ host: "10.0.0.2", port: 80 });`,
          `const local: net.Socket = face.createConnection(8080);`,
          `const accepted = (s: net.Socket) => s.remoteAddress;`,
          `face.createServer((s) => accepted(s));`,
          `// Where Node's APIs take one: an http.Agent's and a request's createConnection, tls.connect's socket.`,
          `class StackAgent extends http.Agent {`,
          `  createConnection(): net.Socket { return face.connect({ host: "10.0.0.2", port: 80 }); }`,
          `}`,
          `const request: http.RequestOptions = { createConnection: () => face.connect(80, "10.0.0.2") };`,
          `const secure: tls.TLSSocket = tls.connect({ socket: face.connect(443, "10.0.0.2"), servername: "example.test" });`,
          `export const used = [ok, wrongSize, wrongFlag, unknown, wrongOption, wrongTos, server, socket, dialled, local, StackAgent, request, secure, createStack, bindNet];`,
        ].join("\n"),
      );
      const tsc = join(repo, "node_modules/typescript/bin/tsc");
      const args = [tsc, "--noEmit", "--strict", "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler",
        "--lib", "es2022,dom,dom.iterable", "--types", "node", "--typeRoots", join(repo, "node_modules/@types"), consumer];
      let output = "";
      try {
        execFileSync(process.execPath, args, { cwd: dir, encoding: "utf8" });
      } catch (e) {
        output = String((e as { stdout?: string }).stdout ?? e);
      }
      expect(output).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

// The same precision in the sources, checked by `npm run typecheck` (tsconfig.json includes test/).
export const typeChecks = (): unknown[] => {
  // @ts-expect-error mtu is a number of bytes, not a switch
  const mtuFlag: EngineConfig = { mtu: true };
  // @ts-expect-error a switch is a boolean, 0 or 1
  const sackTwo: EngineConfig = { sack: 2 };
  // @ts-expect-error noDelay is a switch
  const noDelayText: ConnectionOptions = { noDelay: "yes" };
  const good: EngineConfig & ConnectionOptions = { mtu: 1500, sack: true, noDelay: 1, userTimeoutMs: 30_000 };
  return [mtuFlag, sackTwo, noDelayText, good];
};

// The built entries themselves, as a user's import and require() load them (dist/ from `npm run build`).
describe("published entries (dist/index.js, dist/node.js)", () => {
  it("tcpwasm and tcpwasm/node are one module graph: the same classes, so a stack from one binds in the other", async () => {
    const root = await import(join(dist, "index.js"));
    const node = await import(join(dist, "node.js"));
    for (const name of ["createStack", "Stack", "TcpwasmError", "Engine", "createMemoryLinkPair", "loadWire"]) {
      expect(node[name], name).toBeDefined();
      expect(node[name], name).toBe(root[name]);
    }
    const stack = await root.createStack({ addresses: ["10.0.0.1/24"] });
    expect(() => node.bindNet(stack)).not.toThrow();
    stack.close();
  });

  it("require() loads tcpwasm/node where Node can require ES modules (20.19 and later; README states the floor)", () => {
    const out = execFileSync(process.execPath, ["-e", `const m = require(${JSON.stringify(join(dist, "node.js"))}); console.log(typeof m.createStack, typeof m.bindNet)`]).toString();
    expect(out.trim()).toBe("function function");
  });

  it("tcpwasm/browser has types", () => {
    const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
    expect(pkg.exports["./browser"].types).toBe("./dist/index.d.ts");
    expect(existsSync(join(repo, pkg.exports["./browser"].types))).toBe(true);
  });
});
