/** Debian's headless Chromium, for checking pages as a browser renders them (installed by .ci/install-chromium). */
import { ensureTool, testNeeding, type TestTool } from "./tool_setup.ts";

/**
 * The browser: `CHROMIUM_PATH` from the environment (another install, or
 * Chrome), else where Debian's `chromium` package puts it.
 */
export const CHROMIUM_PATH = Deno.env.get("CHROMIUM_PATH") ||
  "/usr/bin/chromium";

/** Headless Chromium, installed by .ci/install-chromium (Debian's chromium package) when missing. */
export const CHROMIUM: TestTool = {
  name: "Chromium",
  setupScript: ".ci/install-chromium",
  probe: async () => {
    try {
      const info = await Deno.stat(CHROMIUM_PATH);
      return info.isFile ? undefined : `${CHROMIUM_PATH} is not a file`;
    } catch {
      return `${CHROMIUM_PATH} not found`;
    }
  },
};

/** Set up (or found missing) once per test module. */
const chromiumSupport = await ensureTool(CHROMIUM);

/**
 * A Deno test that renders pages in headless Chromium: skipped with the
 * reason when the browser is missing and cannot be installed, except under
 * `CI=true` on Linux.
 */
export function chromiumTest(name: string, fn: () => Promise<void>): void {
  testNeeding(CHROMIUM, chromiumSupport, { name, fn });
}

/** Options of {@link runChromium}. */
export interface ChromiumOptions {
  /** `--window-size` as `width,height`. */
  windowSize?: string;
  /** Give up (and kill the browser) after this long. */
  timeoutMs?: number;
}

/**
 * Runs headless Chromium with `args` then `url` in a throw-away profile;
 * returns its standard output (tests calling it are {@link chromiumTest}s).
 */
export async function runChromium(
  args: readonly string[],
  url: string,
  options: ChromiumOptions = {},
): Promise<string> {
  const profile = await Deno.makeTempDir({
    prefix: "upstream-watch-chromium-",
  });
  try {
    const result = await new Deno.Command(CHROMIUM_PATH, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        `--user-data-dir=${profile}`,
        `--window-size=${options.windowSize ?? "800,1200"}`,
        ...args,
        url,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
    }).output();
    const decoder = new TextDecoder();
    if (!result.success) {
      throw new Error(
        `chromium exited ${result.code}: ${decoder.decode(result.stderr)}`,
      );
    }
    return decoder.decode(result.stdout);
  } finally {
    await Deno.remove(profile, { recursive: true });
  }
}
