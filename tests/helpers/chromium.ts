/** Debian's headless Chromium, for checking pages as a browser renders them (installed by .ci/install-chromium). */

/** Where the `chromium` package installs the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Options of {@link runChromium}. */
export interface ChromiumOptions {
  /** `--window-size` as `width,height`. */
  windowSize?: string;
  /** Give up (and kill the browser) after this long. */
  timeoutMs?: number;
}

/**
 * Runs headless Chromium with `args` then `url` in a throw-away profile;
 * returns its standard output. Throws, so tests fail rather than skip, when
 * the browser is missing.
 */
export async function runChromium(
  args: readonly string[],
  url: string,
  options: ChromiumOptions = {},
): Promise<string> {
  try {
    await Deno.stat(CHROMIUM_PATH);
  } catch {
    throw new Error(
      `${CHROMIUM_PATH} not found: install it with .ci/install-chromium (Debian's chromium package)`,
    );
  }
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
