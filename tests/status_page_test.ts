import assert from "node:assert/strict";
import { resolve } from "node:path";
import { waitUntil } from "./helpers/agent_process.ts";
import { chromiumTest, runChromium } from "./helpers/chromium.ts";
import { DaemonProcess } from "./helpers/daemon_process.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { hookFile } from "./helpers/hooks.ts";
import { freePort } from "./helpers/http_receiver.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";

/** Screenshots are kept for people to look at; the folder is not committed. */
const OUTPUT_DIR = resolve("test-output");

chromiumTest(
  "the status page, rendered by headless Chromium, lists failing services first with their failed run and links to its escaped output",
  async () => {
    await using fixture = await GitFixture.create({
      ".upstream-watch.yaml": [
        "retry_interval: 3600",
        "webhook:",
        `  listen: "127.0.0.1:${freePort()}"`,
        "  insecure: true",
      ].join("\n") + "\n",
    });
    await fixture.push({
      "api/.update-hooks.yaml": hookFile({ update_commands: ["echo api up"] }),
      "db/.update-hooks.yaml": hookFile({ update_commands: ["echo db up"] }),
      "web/.update-hooks.yaml": hookFile({
        update_commands: ['echo "pulling <b>web</b> & friends"; exit 4'],
      }),
    }, "Roll out api, db & <web> services");
    await using daemon = await DaemonProcess.start([
      "--repo",
      fixture.clone,
      "--host",
      "test-host",
      "run",
    ]);
    const state = stateFileOf(fixture.clone);
    await waitUntil(
      () =>
        runRows(state).filter((row) => row.outcome !== "running").length === 3,
      { message: "all three services ran" },
    );
    const failed = runRows(state).find((row) => row.service === "web")!;
    assert.equal(failed.outcome, "failed");

    const dom = await runChromium(["--dump-dom"], `${daemon.url}/`);

    const cards = [
      ...dom.matchAll(/data-service="([^"]+)" data-state="(\w+)"/g),
    ]
      .map((match) => [match[1], match[2]]);
    assert.deepEqual(cards, [["web", "retrying"], ["api", "deployed"], [
      "db",
      "deployed",
    ]]);
    const head = (await fixture.cloneHead()).slice(0, 12);
    assert.ok(dom.includes(head), "deployed short hash shown");
    assert.ok(
      dom.includes("Roll out api, db &amp; &lt;web&gt; services"),
      "commit subject shown as text",
    );
    assert.match(dom, /<meta name="viewport" content="width=device-width/);
    assert.match(
      dom,
      new RegExp(
        `<tr data-run="${failed.id}" data-outcome="failed"><td><a href="/runs/${failed.id}">#${failed.id}</a></td><td>web</td>`,
      ),
    );
    assert.ok(!/\b(src|href)="https?:/.test(dom), "no external assets");

    const runDom = await runChromium(
      ["--dump-dom"],
      `${daemon.url}/runs/${failed.id}`,
    );
    assert.ok(
      runDom.includes("pulling &lt;b&gt;web&lt;/b&gt; &amp; friends"),
      "the output is text, not markup",
    );
    assert.ok(!runDom.includes("<b>web</b>"));
    assert.match(runDom, /exit 4/);

    await Deno.mkdir(OUTPUT_DIR, { recursive: true });
    const screenshot = `${OUTPUT_DIR}/status-page.png`;
    const phone = `${OUTPUT_DIR}/status-page-phone.png`;
    await runChromium([`--screenshot=${screenshot}`], `${daemon.url}/`);
    await runChromium([`--screenshot=${phone}`], `${daemon.url}/`, {
      windowSize: "390,844",
    });
    for (const file of [screenshot, phone]) {
      const png = await Deno.readFile(file);
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], file);
      assert.ok(png.length > 10_000, `${file} is ${png.length} bytes`);
    }
  },
);
