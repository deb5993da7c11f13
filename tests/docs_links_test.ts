/**
 * Every relative link and `#anchor` in the project's markdown leads somewhere:
 * the file exists and the anchor is one of its headings (GitHub's slugs) or an
 * explicit `<a id>`. External links are not fetched.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  anchorsOf,
  deadLinks,
  githubSlug,
  linksOf,
} from "./helpers/markdown_links.ts";

const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The markdown an operator or contributor reads, by repository-relative path. */
function projectMarkdown(): Map<string, string> {
  const paths = ["README.md", "CONTRIBUTING.md", "bench/README.md"];
  for (const name of readdirSync(join(PROJECT_ROOT, "docs")).sort()) {
    if (name.endsWith(".md")) paths.push(`docs/${name}`);
  }
  const walk = (dir: string) => {
    for (
      const entry of readdirSync(join(PROJECT_ROOT, dir), {
        withFileTypes: true,
      })
    ) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name === "README.md") paths.push(path);
    }
  };
  walk("examples");
  return new Map(
    paths.map((
      path,
    ) => [path, readFileSync(join(PROJECT_ROOT, path), "utf8")]),
  );
}

Deno.test("every relative link and anchor in the README, CONTRIBUTING.md, docs/, bench/ and examples/ resolves", () => {
  const documents = projectMarkdown();
  assert.ok(documents.has("docs/design.md"), "docs/design.md is checked");
  const dead = deadLinks({
    documents,
    exists: (path) => existsSync(join(PROJECT_ROOT, path)),
    read: (path) => {
      const file = join(PROJECT_ROOT, path);
      return existsSync(file) ? readFileSync(file, "utf8") : undefined;
    },
  });
  assert.deepEqual(
    dead.map((link) =>
      `${link.file}:${link.line}: ${link.target}: ${link.problem}`
    ),
    [],
  );
});

Deno.test("the README links to every file under docs/", () => {
  const readme = readFileSync(join(PROJECT_ROOT, "README.md"), "utf8");
  const linked = new Set(
    linksOf(readme).map((link) => link.target.replace(/#.*$/, "")),
  );
  const docs = readdirSync(join(PROJECT_ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`);
  assert.deepEqual(docs.filter((doc) => !linked.has(doc)), []);
});

Deno.test("the link check reports a missing file, a missing anchor and a link out of the repository", () => {
  const documents = new Map([
    [
      "README.md",
      [
        "# Project",
        "",
        "See [the guide](docs/guide.md#setting-up) and [gone](docs/gone.md),",
        "[a typo](docs/guide.md#seting-up), [here](#project) and",
        "[nowhere](#nowhere), [outside](../secret.md),",
        "[the web](https://example.com/#whatever) and [mail](mailto:a@b.c).",
      ].join("\n"),
    ],
    [
      "docs/guide.md",
      "# Guide\n\n## Setting up\n\nBack to [the README](../README.md#project).\n",
    ],
  ]);
  const dead = deadLinks({
    documents,
    exists: (path) => documents.has(path),
  });
  assert.deepEqual(
    dead.map((link) => [link.file, link.line, link.target, link.problem]),
    [
      ["README.md", 3, "docs/gone.md", "docs/gone.md does not exist"],
      [
        "README.md",
        4,
        "docs/guide.md#seting-up",
        "docs/guide.md has no heading or <a id> for #seting-up",
      ],
      [
        "README.md",
        5,
        "#nowhere",
        "README.md has no heading or <a id> for #nowhere",
      ],
      ["README.md", 5, "../secret.md", "it points outside the repository"],
    ],
  );
});

Deno.test("the link check ignores links in code and finds links written over two lines", () => {
  const markdown = [
    "# Title",
    "",
    "```md",
    "[in a fence](missing.md)",
    "# Not a heading",
    "```",
    "",
    "`[in a code span](missing.md)` and a [link over",
    "two lines](other.md#not-a-heading).",
  ].join("\n");
  assert.deepEqual(linksOf(markdown), [
    { line: 8, target: "other.md#not-a-heading" },
  ]);
  assert.deepEqual([...anchorsOf(markdown)], ["title"]);
});

Deno.test("anchors follow GitHub's slugs, number repeated headings and include <a id>", () => {
  assert.equal(
    githubSlug("`.upstream-watch.yaml` (repository root)"),
    "upstream-watchyaml-repository-root",
  );
  assert.equal(
    githubSlug("`<service>/.update-hooks.yaml`"),
    "serviceupdate-hooksyaml",
  );
  assert.equal(
    githubSlug("Anything else: `Authorization: Bearer`"),
    "anything-else-authorization-bearer",
  );
  assert.equal(githubSlug("Fleet use with `hosts`"), "fleet-use-with-hosts");
  assert.equal(
    githubSlug("What `POST /webhook` answers"),
    "what-post-webhook-answers",
  );
  assert.equal(
    githubSlug("[Linked](x.md) heading_with_underscore"),
    "linked-heading_with_underscore",
  );
  assert.deepEqual(
    [
      ...anchorsOf(
        '# Notes\n\n## Notes\n\n### Notes ##\n\n<a id="kept-anchor"></a>\n',
      ),
    ],
    ["notes", "notes-1", "notes-2", "kept-anchor"],
  );
});
