// A bench row run as a user's first transfer runs: in a Node process of its own, started for it, with
// nothing optimised by the JIT and no memory the allocator can reuse yet. The module at `moduleUrl`
// (a bench file, bundled by bench/run.mjs) exports `exportName(row)`, which returns one number.
import { execFileSync } from "node:child_process";
import { roundRatios } from "./face-rows.js";
import { tableRow } from "./sample.js";

/** `exportName(row)` of the module at `moduleUrl`, called in a fresh Node process; its printed number. */
export function inFreshProcess(moduleUrl: string, exportName: string, row: string): number {
  const code = `const m = await import(${JSON.stringify(moduleUrl)}); console.log(await m[${JSON.stringify(exportName)}](${JSON.stringify(row)})); process.exit(0);`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8" });
  const value = Number(out.trim().split("\n").pop());
  if (!Number.isFinite(value)) throw new Error(`${exportName}(${row}) in a fresh process printed ${JSON.stringify(out)}`);
  return value;
}

/**
 * `runs` rounds of `coldRow(row)` of the module at `moduleUrl`, each row in a fresh process, the rows
 * taking turns; each row's results in order.
 */
export function coldRuns<R extends string>(moduleUrl: string, rows: readonly R[], runs: number): Record<R, number[]> {
  const out = Object.fromEntries(rows.map((row) => [row, [] as number[]])) as Record<R, number[]>;
  for (let i = 0; i < runs; i++) for (const row of rows) out[row].push(inFreshProcess(moduleUrl, "coldRow", row));
  return out;
}

/**
 * The cold section of a face bench: what the rows are, then each row's Gbit/s against Node net's cold
 * runs (`node`), as a ratio of medians and round by round.
 */
export function coldSection(mib: number, runs: number, rows: Array<[label: string, gbps: number[]]>, node: number[]): string {
  const all: Array<[string, number[]]> = [...rows, ["Node net, loopback", node]];
  return `Cold: the first ${mib} MiB of a fresh Node process (a child of the bench, one per figure, the rows in
turns, ${runs} each), as a user's first transfer runs: nothing optimised by the JIT yet, no memory the
allocator can reuse.

| cold, first ${mib} MiB | Gbit/s (median) | min - max | / Node net | / Node net, each round |
|---|---:|---:|---:|---:|
${all.map(([label, xs]) => `${tableRow(label, xs, [node])} ${roundRatios(xs, node)} |`).join("\n")}`;
}
