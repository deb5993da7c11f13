import assert from "node:assert/strict";

/** Checks the text exposition format line by line; returns samples by series. */
export function parsePrometheus(text: string): Map<string, number> {
  const name = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const label = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
  const sample = new RegExp(
    `^(${name})(\\{${label}(?:,${label})*\\})? (-?(?:[0-9]+(?:\\.[0-9]+)?(?:e[+-]?[0-9]+)?|\\+Inf|NaN))$`,
  );
  const typed = new Map<string, string>();
  const helped = new Set<string>();
  const samples = new Map<string, number>();
  assert.ok(text.endsWith("\n"), "ends with a newline");
  for (const line of text.slice(0, -1).split("\n")) {
    const help = new RegExp(`^# HELP (${name}) \\S.*$`).exec(line);
    const type = new RegExp(
      `^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`,
    ).exec(line);
    if (help) {
      helped.add(help[1]);
      continue;
    }
    if (type) {
      assert.ok(!typed.has(type[1]), `one TYPE line per family: ${line}`);
      typed.set(type[1], type[2]);
      continue;
    }
    const match = sample.exec(line);
    assert.ok(match, `not a Prometheus sample line: ${JSON.stringify(line)}`);
    const family = match[1].replace(/_(bucket|sum|count)$/, "");
    const familyType = typed.get(match[1]) ?? typed.get(family);
    assert.ok(familyType, `sample before its TYPE line: ${line}`);
    assert.ok(
      helped.has(match[1]) || helped.has(family),
      `no HELP for ${line}`,
    );
    samples.set(`${match[1]}${match[2] ?? ""}`, Number(match[3]));
  }
  return samples;
}
