import assert from "node:assert/strict";
import {
  configError,
  service,
  SERVICE_FILE,
} from "../../tests/helpers/config_parsing.ts";

Deno.test("watch_paths are normalised and must stay inside the repository", () => {
  assert.deepEqual(
    service("watch_paths: [./shared/, shared, docs\\\\api/]\n").config
      .watchPaths,
    ["shared", "docs/api"],
  );
  let error = configError(() =>
    service("watch_paths:\n  - ok\n  - ../secrets\n")
  );
  assert.equal(
    error.message,
    `${SERVICE_FILE}:3:5 (watch_paths[1]): must stay inside the repository (no ".."), got "../secrets"`,
  );
  configError(() => service("watch_paths: [a/../../b]\n"));
  error = configError(() => service("watch_paths: [/etc/passwd]\n"));
  assert.equal(
    error.reason,
    'must be relative to the repository root, got "/etc/passwd"',
  );
  configError(() => service('watch_paths: ["C:/x"]\n'));
  error = configError(() => service("watch_paths: [./]\n"));
  assert.match(error.reason, /must name a file or folder/);
});

Deno.test("hosts and depends_on accept a single string and reject empty lists", () => {
  const { config } = service("hosts: web-1\ndepends_on: db\n");
  assert.deepEqual(config.hosts, ["web-1"]);
  assert.deepEqual(config.dependsOn, ["db"]);
  assert.equal(service("").config.hosts, undefined);
  const error = configError(() => service("hosts: []\n"));
  assert.equal(
    error.message,
    `${SERVICE_FILE}:1:8 (hosts): must not be empty (remove the key to handle the service on every host)`,
  );
  configError(() => service("depends_on: [a/b]\n"));
});
