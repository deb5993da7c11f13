import denoJson from "../deno.json" with { type: "json" };

/** The version of upstream-watch, defined once in deno.json. */
export const VERSION: string = denoJson.version;
