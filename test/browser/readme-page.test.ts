// README.md's page example (the ```html block under "Using it", and any other) runs in Debian's
// headless chromium as written: its <script type="module"> is served as a page module with the
// package URL it names mapped to the built dist/ (test/fixtures/browser/harness.ts serves /dist/),
// must finish without a console error, and must log what its `// prints:` comments say.
import { describe, expect, it } from "vitest";
import { canRunChromium, runInPage } from "../fixtures/browser/harness.js";
import { expectedPrints, readmeBlocks } from "../fixtures/readme-blocks.js";

const probe = await canRunChromium();
if (!probe.ok) console.warn(`browser tests SKIPPED: ${probe.reason}`);

/** The module script of an html block, its imports kept at the top and the rest as the page's default export, console.log collected. */
function pageModule(html: string): string {
  const script = /<script type="module">\n([\s\S]*?)<\/script>/.exec(html);
  if (!script) throw new Error("the html block has no <script type=\"module\">");
  const lines = script[1]!.replace(/"\.\/node_modules\/tcpwasm\/dist\//g, '"/dist/').split("\n");
  const imports = lines.filter((l) => /^import .* from "[^"]+";$/.test(l));
  const body = lines.filter((l) => !imports.includes(l));
  return `${imports.join("\n")}
export default async () => {
  const logged = [];
  const log = console.log;
  console.log = (...args) => { logged.push(args.join(" ")); log(...args); };
  try {
${body.join("\n")}
  } finally {
    console.log = log;
  }
  return logged;
};
`;
}

const pages = readmeBlocks().filter((b) => b.lang === "html");

describe.skipIf(!probe.ok)("README.md's page examples in chromium", () => {
  it("there is one at least, and each names this test", () => {
    expect(pages.length).toBeGreaterThan(0);
    for (const b of pages) expect(b.note?.runsIn).toBe("test/browser/readme-page.test.ts");
  });

  for (const b of pages) {
    it(`README.md:${b.line} (${b.heading}) runs in the page and logs what it says`, async () => {
      const logged = await runInPage<string[]>(pageModule(b.code));
      for (const text of expectedPrints(b.code)) expect(logged.map((l) => l.trim())).toContain(text);
    });
  }
});
