/** Checks requests against GitHub's official OpenAPI description (the `@octokit/openapi` package). */
import assert from "node:assert/strict";
// A test-only package: named here rather than in deno.json's imports, so
// that the program's lockfile (which `deno task` installs in full) never
// holds it; its lock entry is in tests/deno.lock.
// deno-lint-ignore no-import-prefix
import spec from "npm:@octokit/openapi@23.0.2/generated/api.github.com.json" with {
  type: "json",
};
import type { ReceivedRequest } from "./http_receiver.ts";

type Schema = {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, Schema>;
  nullable?: boolean;
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
};

interface Operation {
  operationId: string;
  parameters?: ({ $ref?: string } & Record<string, unknown>)[];
  requestBody?: {
    required?: boolean;
    content: Record<string, { schema: Schema }>;
  };
}

const paths = spec.paths as unknown as Record<
  string,
  Record<string, Operation>
>;

/** The documented operation a request matches, with its path parameters. */
export interface MatchedOperation {
  operationId: string;
  template: string;
  params: Record<string, string>;
}

/**
 * Finds the operation for `request` (its path relative to the API base) and
 * checks the headers GitHub requires and the body against the operation's
 * requestBody schema; throws an assertion error naming what is wrong.
 */
export function checkGitHubRequest(request: ReceivedRequest): MatchedOperation {
  const method = request.method.toLowerCase();
  const path = request.path.split("?")[0];
  const matches: MatchedOperation[] = [];
  for (const [template, operations] of Object.entries(paths)) {
    const operation = operations[method];
    if (!operation) continue;
    const names: string[] = [];
    const pattern = template.replace(/\{([^}]+)\}/g, (_, name: string) => {
      names.push(name);
      return multiSegment(operation, name) ? "(.+)" : "([^/]+)";
    });
    const found = new RegExp(`^${pattern}$`).exec(path);
    if (!found) continue;
    const params: Record<string, string> = {};
    names.forEach((name, index) => {
      params[name] = decodeURIComponent(found[index + 1]);
    });
    matches.push({ operationId: operation.operationId, template, params });
  }
  assert.ok(
    matches.length > 0,
    `${request.method} ${path} is no operation of GitHub's REST API`,
  );
  // A literal segment beats a parameter: the most specific template wins.
  matches.sort((a, b) =>
    Object.keys(a.params).length - Object.keys(b.params).length
  );
  const matched = matches[0];
  const operation = paths[matched.template][method];

  // Headers GitHub's REST documentation asks every request to carry.
  assert.equal(
    request.headers.get("accept"),
    "application/vnd.github+json",
    "Accept",
  );
  assert.match(
    request.headers.get("authorization") ?? "",
    /^(Bearer|token) \S+$/,
    "Authorization",
  );
  assert.equal(
    request.headers.get("x-github-api-version"),
    "2022-11-28",
    "X-GitHub-Api-Version",
  );
  assert.ok(
    (request.headers.get("user-agent") ?? "") !== "",
    "User-Agent is required by GitHub",
  );

  const body = operation.requestBody;
  if (body) {
    const contentType = (request.headers.get("content-type") ?? "").split(
      ";",
    )[0].trim();
    const media = body.content[contentType];
    assert.ok(
      media,
      `Content-Type ${contentType} is not one of ${
        Object.keys(body.content).join(", ")
      }`,
    );
    checkSchema(JSON.parse(request.body), media.schema, "body");
  }
  return matched;
}

function multiSegment(operation: Operation, name: string): boolean {
  return (operation.parameters ?? []).some((parameter) =>
    parameter.name === name && parameter["x-multi-segment"] === true
  );
}

function resolveRef(schema: Schema): Schema {
  let current = schema;
  while (current.$ref) {
    const parts = current.$ref.replace(/^#\//, "").split("/");
    // deno-lint-ignore no-explicit-any
    current = parts.reduce((node: any, part) => node[part], spec) as Schema;
  }
  return current;
}

/** The subset of JSON Schema the request bodies we send use: type, enum, required, properties. */
function checkSchema(value: unknown, raw: Schema, where: string): void {
  const schema = resolveRef(raw);
  if (value === null) {
    assert.ok(schema.nullable, `${where} may not be null`);
    return;
  }
  if (schema.oneOf || schema.anyOf) {
    const options = schema.oneOf ?? schema.anyOf ?? [];
    const fits = options.some((option) => {
      try {
        checkSchema(value, option, where);
        return true;
      } catch {
        return false;
      }
    });
    assert.ok(fits, `${where} matches none of its alternatives`);
    return;
  }
  if (schema.type) {
    const actual = Array.isArray(value)
      ? "array"
      : Number.isInteger(value) && schema.type === "integer"
      ? "integer"
      : typeof value;
    assert.equal(actual, schema.type, `${where} type`);
  }
  if (schema.enum) {
    assert.ok(
      schema.enum.includes(value),
      `${where} is ${JSON.stringify(value)}, not one of ${
        JSON.stringify(schema.enum)
      }`,
    );
  }
  if (schema.type === "object" && typeof value === "object") {
    const record = value as Record<string, unknown>;
    for (const name of schema.required ?? []) {
      assert.ok(name in record, `${where}.${name} is required`);
    }
    const properties = schema.properties ?? {};
    for (const [name, field] of Object.entries(record)) {
      assert.ok(
        name in properties,
        `${where}.${name} is not a documented property (${
          Object.keys(properties).join(", ")
        })`,
      );
      checkSchema(field, properties[name], `${where}.${name}`);
    }
  }
  if (schema.type === "array" && Array.isArray(value) && schema.items) {
    value.forEach((item, index) =>
      checkSchema(item, schema.items!, `${where}[${index}]`)
    );
  }
}
