// A bench row run as a user's first transfer runs: in a Node process of its own, started for it, with
// nothing optimised by the JIT and no memory the allocator can reuse yet. The module at `moduleUrl`
// (a bench file, bundled by bench/run.mjs) exports `exportName(row)`, which returns one number.
import { execFileSync } from "node:child_process";

/** `exportName(row)` of the module at `moduleUrl`, called in a fresh Node process; its printed number. */
export function inFreshProcess(moduleUrl: string, exportName: string, row: string): number {
  const code = `const m = await import(${JSON.stringify(moduleUrl)}); console.log(await m[${JSON.stringify(exportName)}](${JSON.stringify(row)})); process.exit(0);`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8" });
  const value = Number(out.trim().split("\n").pop());
  if (!Number.isFinite(value)) throw new Error(`${exportName}(${row}) in a fresh process printed ${JSON.stringify(out)}`);
  return value;
}
