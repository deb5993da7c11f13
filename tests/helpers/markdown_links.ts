/** Finding the relative links and `#anchors` of markdown files that lead nowhere, without any network. */
import { posix } from "node:path";

/** A link that does not resolve: where it is, what it points to and why it fails. */
export interface DeadLink {
  /** Repository-relative file holding the link. */
  file: string;
  line: number;
  target: string;
  problem: string;
}

/** The GitHub anchor of a heading's text: lowercase, punctuation except `-` and `_` dropped, spaces as `-`. */
export function githubSlug(headingText: string): string {
  // Inline code counts by its content as written; outside it, links by their text and HTML tags not at all.
  const plain = headingText.split(/(`+[^`]*`+)/).map((part, index) =>
    index % 2 === 1
      ? part.replace(/`/g, "")
      : part.replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1").replace(
        /<\/?[a-z][^>]*>/gi,
        "",
      )
  ).join("");
  return plain
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** Markdown with fenced code blocks blanked out, line breaks kept so line numbers stay right. */
export function withoutCodeBlocks(markdown: string): string {
  let fence: string | undefined;
  return markdown.split("\n").map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined) {
      if (marker === undefined) return line;
      fence = marker;
      return "";
    }
    // A fence closes with a line of at least as many of the same characters, and nothing else.
    if (
      marker !== undefined && marker[0] === fence[0] &&
      marker.length >= fence.length && line.trim() === marker
    ) {
      fence = undefined;
    }
    return "";
  }).join("\n");
}

/** Markdown with fenced code blocks and code spans blanked out, line breaks kept. */
export function withoutCode(markdown: string): string {
  return withoutCodeBlocks(markdown).replace(
    /(`+)([\s\S]*?[^`])\1(?!`)/g,
    (span) => span.replace(/[^\n]/g, "x"),
  );
}

/** Every anchor a file offers: its headings' slugs (repeats numbered `-1`, `-2`, …) and explicit `<a id>`/`<a name>`. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  const lines = withoutCodeBlocks(markdown).split("\n");
  for (const line of lines) {
    const heading = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (heading) {
      const slug = githubSlug(heading[1]);
      const seen = counts.get(slug) ?? 0;
      counts.set(slug, seen + 1);
      anchors.add(seen === 0 ? slug : `${slug}-${seen}`);
    }
    for (const match of line.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/gi)) {
      anchors.add(match[1]);
    }
  }
  return anchors;
}

/** The link targets of a file with their line: inline links, images, reference definitions and `href`s outside code. */
export function linksOf(markdown: string): { line: number; target: string }[] {
  const text = withoutCode(markdown);
  const links: { line: number; target: string }[] = [];
  const lineAt = (index: number) => text.slice(0, index).split("\n").length;
  const patterns = [
    /!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>\n]*>|[^\s)]+)(?:\s+"[^"]*")?\s*\)/g,
    /^ {0,3}\[[^\]\n]+\]:[ \t]*(<[^>\n]*>|\S+)/gm,
    /<a\s[^>]*\bhref="([^"]*)"/gi,
  ];
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) {
      links.push({
        line: lineAt(match.index),
        target: match[1].replace(/^<|>$/g, ""),
      });
    }
  }
  return links.sort((a, b) => a.line - b.line);
}

/** Options of {@link deadLinks}. */
export interface DeadLinkOptions {
  /** The markdown files to check, by repository-relative path (with `/`). */
  documents: ReadonlyMap<string, string>;
  /** Whether a repository-relative path names an existing file or folder. */
  exists: (path: string) => boolean;
  /** Reads a markdown file that is linked to but not among `documents` (for its anchors). */
  read?: (path: string) => string | undefined;
}

/** Every relative link of `documents` whose file does not exist or whose `#anchor` is no heading or `<a id>` there. */
export function deadLinks(options: DeadLinkOptions): DeadLink[] {
  const anchorCache = new Map<string, Set<string> | undefined>();
  const anchorsIn = (path: string) => {
    if (!anchorCache.has(path)) {
      const text = options.documents.get(path) ?? options.read?.(path);
      anchorCache.set(path, text === undefined ? undefined : anchorsOf(text));
    }
    return anchorCache.get(path);
  };
  const dead: DeadLink[] = [];
  for (const [file, markdown] of options.documents) {
    for (const { line, target } of linksOf(markdown)) {
      // External links (http:, https:, mailto:, …) are not fetched.
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) {
        continue;
      }
      const report = (problem: string) =>
        dead.push({ file, line, target, problem });
      const hash = target.indexOf("#");
      const pathPart = hash === -1 ? target : target.slice(0, hash);
      const anchor = hash === -1 ? undefined : target.slice(hash + 1);
      let path = file;
      if (pathPart !== "") {
        let decoded: string;
        try {
          decoded = decodeURIComponent(pathPart.replace(/\?.*$/, ""));
        } catch {
          report("the path is not valid percent-encoding");
          continue;
        }
        path = decoded.startsWith("/")
          ? posix.normalize(decoded.slice(1))
          : posix.normalize(posix.join(posix.dirname(file), decoded));
        path = path.replace(/\/$/, "") || ".";
        if (path === ".." || path.startsWith("../")) {
          report("it points outside the repository");
          continue;
        }
        if (!options.exists(path)) {
          report(`${path} does not exist`);
          continue;
        }
      }
      if (anchor === undefined || anchor === "") continue;
      if (!path.toLowerCase().endsWith(".md")) continue;
      const anchors = anchorsIn(path);
      if (anchors === undefined) {
        report(`${path} cannot be read for its anchors`);
        continue;
      }
      let wanted: string;
      try {
        wanted = decodeURIComponent(anchor);
      } catch {
        wanted = anchor;
      }
      if (!anchors.has(wanted)) {
        report(`${path} has no heading or <a id> for #${wanted}`);
      }
    }
  }
  return dead;
}
