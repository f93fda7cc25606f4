/**
 * Every TypeScript example in the README and docs/ is an excerpt of a file that tests run.
 * A block starts with a `// <path>` line naming that file; its remaining lines must appear in the
 * file, in order and contiguously (indentation and blank lines aside). So docs cannot drift from
 * code that is compiled and executed.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, test } from "node:test";

const root = process.cwd();

function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...markdownFiles(full));
    else if (entry.endsWith(".md")) out.push(full);
  }
  return out;
}

interface Snippet {
  doc: string;
  line: number;
  source: string;
  body: string[];
}

function snippets(doc: string): Snippet[] {
  const lines = readFileSync(doc, "utf8").split("\n");
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i] ?? "")) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !(lines[i] ?? "").startsWith("```"); i++) body.push(lines[i] ?? "");
    const marker = /^\/\/ ((?:examples|test|src)\/\S+\.ts)$/.exec(body[0]?.trim() ?? "");
    out.push({ doc: relative(root, doc), line: start + 1, source: marker?.[1] ?? "", body: body.slice(1) });
  }
  return out;
}

function normalise(lines: string[]): string[] {
  return lines.map((l) => l.trim()).filter((l) => l.length > 0);
}

function containsRun(haystack: string[], needle: string[]): boolean {
  if (needle.length === 0) return false;
  for (let i = 0; i + needle.length <= haystack.length; i++) {
    if (needle.every((line, j) => haystack[i + j] === line)) return true;
  }
  return false;
}

const docs = [join(root, "README.md"), ...markdownFiles(join(root, "docs"))];

describe("documentation examples are excerpts of tested files", () => {
  const all = docs.flatMap(snippets);

  test("the docs contain TypeScript examples", () => {
    assert.ok(all.length >= 2, `expected examples in the docs, found ${all.length}`);
  });

  for (const snippet of all) {
    test(`${snippet.doc}:${snippet.line} matches ${snippet.source || "(no source marker)"}`, () => {
      assert.ok(
        snippet.source,
        "a ```ts block must start with a `// examples/<file>.ts` line naming its source",
      );
      const file = join(root, snippet.source);
      assert.ok(existsSync(file), `${snippet.source} does not exist`);
      const source = normalise(readFileSync(file, "utf8").split("\n"));
      assert.ok(
        containsRun(source, normalise(snippet.body)),
        `the block is not an exact excerpt of ${snippet.source}; update the docs or the file`,
      );
    });
  }
});
