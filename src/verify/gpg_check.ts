/** Judging an OpenPGP-signed commit with `gpg --verify` in a private home that holds only the configured keyring, at a time the agent chose. */
import { join } from "node:path";
import type { ProcessRunner } from "../process/types.ts";
import type { SignatureVerdict } from "./ssh_check.ts";
import type { SignedCommit } from "./signed_commit.ts";

/** The refusal when gpg said nothing about the signature (it could not run, or could not read it). */
const GPG_SILENT = "gpg could not check the signature";

/** What an OpenPGP check needs. */
export interface GpgCheckOptions {
  runner: ProcessRunner;
  /** The private GnuPG home (see buildGnupgHome). */
  home: string;
  keyring: string;
  /** Key expiry and revocation are judged at this time (epoch ms, `--faked-system-time`). */
  at: number;
  scratch: string;
}

/** Judges an OpenPGP signature; `commit.signature` must be set and of format `openpgp`. */
export async function checkGpgSignature(
  commit: SignedCommit,
  options: GpgCheckOptions,
): Promise<SignatureVerdict> {
  const signatureFile = join(options.scratch, `${commit.commit}.asc`);
  await Deno.writeTextFile(signatureFile, commit.signature!.armored);
  try {
    const result = await options.runner.run({
      kind: "argv",
      argv: [
        "gpg",
        "--homedir",
        options.home,
        "--batch",
        "--no-autostart",
        "--no-auto-key-retrieve",
        "--faked-system-time",
        `${Math.floor(options.at / 1000)}!`,
        "--status-fd",
        "1",
        "--verify",
        signatureFile,
        "-",
      ],
    }, {
      cwd: options.scratch,
      output: "collect",
      stdin: commit.payload,
      timeoutMs: 60_000,
    });
    const verdict = gpgVerdict(result.stdout, options.keyring);
    if (verdict.kind === "bad" && verdict.reason === GPG_SILENT) {
      const line = result.stderr.split("\n").map((text) => text.trim())
        .find((text) => text !== "");
      return line ? { ...verdict, reason: `${GPG_SILENT}: ${line}` } : verdict;
    }
    return verdict;
  } finally {
    await Deno.remove(signatureFile).catch(() => {});
  }
}

/** Reads gpg's `[GNUPG:]` status lines (doc/DETAILS of GnuPG). */
export function gpgVerdict(status: string, keyring: string): SignatureVerdict {
  const lines = new Map<string, string>();
  for (const line of status.split("\n")) {
    const match = /^\[GNUPG:\] (\S+) ?(.*)$/.exec(line);
    if (match && !lines.has(match[1])) lines.set(match[1], match[2]);
  }
  const signer = (name: string) => {
    const [key, ...uid] = (lines.get(name) ?? "").split(" ");
    return uid.join(" ") || key || null;
  };
  if (lines.has("GOODSIG") && lines.has("VALIDSIG")) {
    return { kind: "good", signer: signer("GOODSIG") ?? "an OpenPGP key" };
  }
  if (lines.has("EXPKEYSIG")) {
    return {
      kind: "bad",
      signer: signer("EXPKEYSIG"),
      reason: "the signing key had expired when the commit was first checked",
    };
  }
  if (lines.has("REVKEYSIG")) {
    return {
      kind: "bad",
      signer: signer("REVKEYSIG"),
      reason: "the signing key was revoked",
    };
  }
  if (lines.has("EXPSIG")) {
    return {
      kind: "bad",
      signer: signer("EXPSIG"),
      reason: "the signature had expired when the commit was first checked",
    };
  }
  if (lines.has("BADSIG")) {
    return {
      kind: "bad",
      signer: signer("BADSIG"),
      reason: "the signature does not match the commit (changed after signing)",
    };
  }
  if (lines.has("NO_PUBKEY") || lines.has("ERRSIG")) {
    const key = (lines.get("NO_PUBKEY") ?? lines.get("ERRSIG") ?? "").split(
      " ",
    )[0];
    return {
      kind: "bad",
      signer: key || null,
      reason: `the signing key is not in the keyring ${keyring}`,
    };
  }
  return { kind: "bad", signer: null, reason: GPG_SILENT };
}
