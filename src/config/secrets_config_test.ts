import assert from "node:assert/strict";
import { configError, service } from "./test_helpers.ts";

Deno.test("secrets: names, default targets, modes and formats", () => {
  const { config } = service(
    [
      "secrets:",
      "  - app.sops.env",
      '  - { file: db.enc.yaml, to: secrets/db.yaml, mode: "0400" }',
      "  - { file: ./cert.sops, format: binary }",
      "  - { file: conf.enc.ini, to: conf.ini, format: ini, mode: '0640' }",
      "env_from: app.sops.env",
    ].join("\n"),
  );
  assert.deepEqual(config.secrets, [
    { file: "app.sops.env", to: "app.env", mode: 0o600, format: "dotenv" },
    { file: "db.enc.yaml", to: "secrets/db.yaml", mode: 0o400, format: "yaml" },
    { file: "cert.sops", to: "cert", mode: 0o600, format: "binary" },
    { file: "conf.enc.ini", to: "conf.ini", mode: 0o640, format: "ini" },
  ]);
  assert.equal(config.envFrom, "app.sops.env");
});

Deno.test("env_from alone decrypts a dotenv file for the environment only", () => {
  const { config } = service("env_from: keys.sops.env\n");
  assert.deepEqual(config.secrets, [
    { file: "keys.sops.env", mode: 0o600, format: "dotenv" },
  ]);
});

Deno.test("a hook file without secrets has none", () => {
  assert.equal(
    service('update_commands: ["true"]\n').config.secrets,
    undefined,
  );
});

Deno.test("bad secrets entries are refused with the key that is wrong", () => {
  const cases: [string, RegExp][] = [
    ["secrets: app.sops.env", /secrets\): must be a list of SOPS files/],
    [
      "secrets: [../up.sops.env]",
      /secrets\[0\]\): must be a file inside the service folder/,
    ],
    ["secrets: [/etc/x.sops.env]", /must be a path inside the service folder/],
    ["secrets: [plain.env]", /has no ".sops" or ".enc" in its name: write to:/],
    [
      "secrets: [{ file: a.sops.env, to: a.sops.env }]",
      /would replace the encrypted one/,
    ],
    [
      "secrets: [{ file: a.sops.env, mode: '0999' }]",
      /mode\): must be an octal mode/,
    ],
    [
      "secrets: [{ file: a.sops.env, mode: '0200' }]",
      /must let the owner read/,
    ],
    [
      "secrets: [{ file: a.sops.env, mode: '0666' }]",
      /must not let every user write/,
    ],
    [
      "secrets: [{ file: a.sops.env, format: toml }]",
      /format\): must be one of yaml, json, dotenv, ini, binary/,
    ],
    ["secrets: [{ to: x }]", /secrets\[0\]\): is missing the key file/],
    [
      "secrets: [a.sops.env, { file: b.sops.env, to: a.env }]",
      /a.env is already used by secrets\[0\]/,
    ],
    [
      "secrets: [{ file: a.sops, to: .update-hooks.yaml }]",
      /must not be .update-hooks.yaml/,
    ],
    ["env_from: app.sops.yaml", /env_from\): must name a dotenv SOPS file/],
  ];
  for (const [text, expected] of cases) {
    const error = configError(() => service(text + "\n"));
    assert.match(error.message, expected, text);
  }
});
