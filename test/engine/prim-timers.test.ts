// Per-connection timer tables and the engine-wide timer queue (assembly/engine/timers.ts), against a
// plain-TypeScript model.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadPrimitives } from "../fixtures/prim-harness.js";

const NEVER = (1n << 63n) - 1n;
const KINDS = 8; // TimerKind.COUNT (assembly/engine/timers.ts)

describe("TimerTable", () => {
  it("keeps one deadline per kind; the earliest is their minimum", async () => {
    const p = await loadPrimitives();
    const t = p.tTimersNew();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: KINDS - 1 }), fc.option(fc.bigInt({ min: 0n, max: 1n << 40n }))), { maxLength: 40, size: "max" }),
        async (ops) => {
          p.tTimersReset(t);
          const model: bigint[] = new Array(KINDS).fill(NEVER);
          for (const [kind, at] of ops) {
            if (at === null) {
              p.tTimerClear(t, kind);
              model[kind] = NEVER;
            } else {
              p.tTimerSet(t, kind, at);
              model[kind] = at;
            }
            for (let k = 0; k < KINDS; k++) expect(p.tTimerGet(t, k)).toBe(model[k]);
            const min = model.reduce((a, b) => (b < a ? b : a));
            expect(p.tTimersEarliest(t)).toBe(min);
            expect(p.tTimersEarliestKind(t)).toBe(min === NEVER ? -1 : model.indexOf(min));
          }
        }),
      { numRuns: 200 },
    );
    expect(p.tTimerGet(t, KINDS)).toBe(NEVER); // out-of-range kinds read as unarmed
    p.tTimersFree(t);
  });
});

describe("engine timer queue", () => {
  it("matches a model over random set/move/remove/pop sequences", async () => {
    const p = await loadPrimitives();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.oneof(
          fc.record({ op: fc.constant("set" as const), slot: fc.nat(63), at: fc.bigInt({ min: 0n, max: 1000n }) }),
          fc.record({ op: fc.constant("never" as const), slot: fc.nat(63) }),
          fc.record({ op: fc.constant("remove" as const), slot: fc.nat(63) }),
          fc.record({ op: fc.constant("pop" as const), now: fc.bigInt({ min: 0n, max: 1000n }) }),
        ), { maxLength: 200, size: "max" }),
        async (cap, ops) => {
          expect(p.tTqInit(cap)).toBe(1);
          const model = new Map<number, bigint>();
          for (const o of ops) {
            if (o.op === "pop") {
              const got = p.tTqPopExpired(o.now);
              const due = [...model.values()].filter((d) => d <= o.now);
              if (due.length === 0) expect(got).toBe(-1);
              else {
                const min = due.reduce((a, b) => (b < a ? b : a));
                expect(model.get(got)).toBe(min); // the earliest (ties in any order)
                model.delete(got);
              }
            } else {
              const slot = o.slot % cap;
              if (o.op === "set") {
                p.tTqSet(slot, o.at);
                model.set(slot, o.at);
              } else {
                if (o.op === "never") p.tTqSet(slot, NEVER);
                else p.tTqRemove(slot);
                model.delete(slot);
              }
            }
            expect(p.tTqSize()).toBe(model.size);
            const min = [...model.values()].reduce((a, b) => (b < a ? b : a), NEVER);
            expect(p.tTqNextDeadline()).toBe(min);
            for (let s = 0; s < cap; s++) expect(p.tTqGet(s)).toBe(model.get(s) ?? NEVER);
          }
        }),
      { numRuns: 200 },
    );
    p.tTqRelease();
    expect(p.tPoolBlocksInUse()).toBe(0);
  });

  it("keeps every deadline and the heap order when its capacity grows between operations", async () => {
    const p = await loadPrimitives();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.oneof(
          fc.record({ op: fc.constant("set" as const), slot: fc.nat(255), at: fc.bigInt({ min: 0n, max: 1000n }) }),
          fc.record({ op: fc.constant("remove" as const), slot: fc.nat(255) }),
          fc.record({ op: fc.constant("pop" as const), now: fc.bigInt({ min: 0n, max: 1000n }) }),
          fc.record({ op: fc.constant("reserve" as const), more: fc.nat(40) }),
        ), { maxLength: 200, size: "max" }),
        async (initial, ops) => {
          expect(p.tTqInit(initial)).toBe(1);
          let cap = initial;
          const model = new Map<number, bigint>();
          for (const o of ops) {
            if (o.op === "reserve") {
              expect(p.tTqReserve(cap + o.more)).toBe(1);
              cap += o.more;
            } else if (o.op === "pop") {
              const got = p.tTqPopExpired(o.now);
              const due = [...model.values()].filter((d) => d <= o.now);
              if (due.length === 0) expect(got).toBe(-1);
              else {
                expect(model.get(got)).toBe(due.reduce((a, b) => (b < a ? b : a)));
                model.delete(got);
              }
            } else if (o.op === "set") {
              p.tTqSet(o.slot % cap, o.at);
              model.set(o.slot % cap, o.at);
            } else {
              p.tTqRemove(o.slot % cap);
              model.delete(o.slot % cap);
            }
            expect(p.tTqSize()).toBe(model.size);
            expect(p.tTqNextDeadline()).toBe([...model.values()].reduce((a, b) => (b < a ? b : a), NEVER));
          }
          for (let s = 0; s < cap; s++) expect(p.tTqGet(s)).toBe(model.get(s) ?? NEVER);
        }),
      { numRuns: 200 },
    );
    p.tTqRelease();
    expect(p.tPoolBlocksInUse()).toBe(0);
  });

  it("drains a large queue in deadline order", async () => {
    const p = await loadPrimitives();
    const n = 50_000;
    expect(p.tTqInit(n)).toBe(1);
    // Deadlines as a permutation: slot s at (s * 7919) mod n, then every slot moved once.
    for (let s = 0; s < n; s++) p.tTqSet(s, BigInt((s * 7919) % n));
    for (let s = 0; s < n; s += 3) p.tTqSet(s, BigInt(((s * 7919) % n) + n));
    let last = -1n;
    let popped = 0;
    for (;;) {
      const next = p.tTqNextDeadline();
      if (next === NEVER) break;
      const slot = p.tTqPopExpired(next);
      expect(slot).toBeGreaterThanOrEqual(0);
      expect(next).toBeGreaterThanOrEqual(last);
      last = next;
      popped++;
    }
    expect(popped).toBe(n);
    expect(p.tTqPopExpired(NEVER)).toBe(-1);
  });
});
