import assert from "node:assert/strict";
import { runsOnHost, type ServiceEntry } from "./services.ts";

function serviceFor(hosts?: string[]): ServiceEntry {
  return {
    name: "api",
    dir: "api",
    configFile: "api/.update-hooks.yaml",
    config: {
      preUpdateCommands: [],
      updateCommands: [],
      postUpdateCommands: [],
      onFailureCommands: [],
      onRemoveCommands: [],
      dependsOn: [],
      watchPaths: [],
      hosts,
      env: {},
    },
    warnings: [],
  };
}

Deno.test("a service without hosts runs on every host", () => {
  assert.equal(runsOnHost(serviceFor(), "anything"), true);
});

Deno.test("hosts match case-insensitively and a short name matches the fully qualified host name", () => {
  const service = serviceFor(["Web-1", "db.example.com"]);
  assert.equal(runsOnHost(service, "web-1"), true);
  assert.equal(runsOnHost(service, "WEB-1.local"), true);
  assert.equal(runsOnHost(service, "web-1.example.com"), true);
  assert.equal(runsOnHost(service, "db.example.com"), true);
  assert.equal(
    runsOnHost(service, "db"),
    false,
    "a listed FQDN needs the FQDN",
  );
  assert.equal(runsOnHost(service, "db.other.com"), false);
  assert.equal(runsOnHost(service, "web-10"), false);
});
