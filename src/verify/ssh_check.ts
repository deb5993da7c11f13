/**
 * Judging an SSH-signed commit against an allowed-signers file at a time the
 * agent chose: the key, namespace and validity window are read by the agent
 * (so a refusal names its reason), the signature itself by `ssh-keygen -Y verify`.
 * @module
 */
import { join } from "node:path";
import { CANNOT_START_EXIT_CODE } from "../process/run_process.ts";
import type { ProcessRunner } from "../process/types.ts";
import {
  type AllowedSigner,
  formatSshTime,
  matchesPatternList,
} from "./allowed_signers.ts";
import type { SignedCommit } from "./signed_commit.ts";
import { sshFingerprint, sshSignatureInfo } from "./ssh_signature.ts";

/** The namespace git signs commits in. */
const GIT_NAMESPACE = "git";

/** How a single commit's signature was judged. */
export type SignatureVerdict =
  | { kind: "good"; signer: string }
  | { kind: "bad"; signer: string | null; reason: string };

/** What an SSH check needs. */
export interface SshCheckOptions {
  runner: ProcessRunner;
  /** The allowed-signers file and its parsed lines. */
  file: string;
  signers: readonly AllowedSigner[];
  /** The time validity is judged at (epoch ms). */
  at: number;
  /** A private temp dir for the signature file. */
  scratch: string;
}

/** Judges an SSH signature; `commit.signature` must be set and of format `ssh`. */
export async function checkSshSignature(
  commit: SignedCommit,
  options: SshCheckOptions,
): Promise<SignatureVerdict> {
  const armored = commit.signature!.armored;
  const info = sshSignatureInfo(armored);
  if (!info) {
    return {
      kind: "bad",
      signer: null,
      reason: "the SSH signature cannot be parsed",
    };
  }
  const fingerprint = await sshFingerprint(info.keyBase64);
  const certificate = info.keyType.endsWith("-cert-v01@openssh.com");
  const matching = certificate
    ? options.signers.filter((signer) => signer.certAuthority)
    : options.signers.filter((signer) =>
      !signer.certAuthority && signer.keyBase64 === info.keyBase64
    );
  if (matching.length === 0) {
    return {
      kind: "bad",
      signer: fingerprint,
      reason:
        `the signing key is not one of the allowed signers in ${options.file}`,
    };
  }
  if (info.namespace !== GIT_NAMESPACE) {
    return {
      kind: "bad",
      signer: fingerprint,
      reason:
        `namespace mismatch: the signature was made for namespace "${info.namespace}", commits need "${GIT_NAMESPACE}"`,
    };
  }
  let refusal: string | undefined;
  for (const signer of matching) {
    const problem = signerProblem(signer, options);
    if (problem) {
      refusal ??= problem;
      continue;
    }
    const principal = signer.principals.split(",")[0];
    const checked = await sshKeygenVerify(commit, principal, options);
    if (checked === "good") {
      return { kind: "good", signer: principal };
    }
    refusal ??= checked;
  }
  return { kind: "bad", signer: fingerprint, reason: refusal! };
}

/** Why a line that lists the key does not allow this signature at `at`, if it does not. */
function signerProblem(
  signer: AllowedSigner,
  options: SshCheckOptions,
): string | undefined {
  const where = `${options.file}:${signer.line}`;
  if (
    signer.namespaces && !matchesPatternList(GIT_NAMESPACE, signer.namespaces)
  ) {
    return `namespace mismatch: ${where} allows the key only for namespaces "${
      signer.namespaces.join(",")
    }", not "${GIT_NAMESPACE}"`;
  }
  const at = new Date(options.at).toISOString();
  if (signer.validBefore !== undefined && options.at > signer.validBefore) {
    return `the key expired: ${where} allows it until ${
      new Date(signer.validBefore).toISOString()
    }, and the commit was first checked at ${at}`;
  }
  if (signer.validAfter !== undefined && options.at < signer.validAfter) {
    return `the key is not valid yet: ${where} allows it from ${
      new Date(signer.validAfter).toISOString()
    }, and the commit was first checked at ${at}`;
  }
  return undefined;
}

/** `ssh-keygen -Y verify` of the payload at the check time: "good", or the refusal. */
async function sshKeygenVerify(
  commit: SignedCommit,
  principal: string,
  options: SshCheckOptions,
): Promise<"good" | string> {
  const signatureFile = join(options.scratch, `${commit.commit}.sig`);
  await Deno.writeTextFile(signatureFile, commit.signature!.armored);
  try {
    const result = await options.runner.run({
      kind: "argv",
      argv: [
        "ssh-keygen",
        "-Y",
        "verify",
        "-f",
        options.file,
        "-I",
        principal,
        "-n",
        GIT_NAMESPACE,
        "-s",
        signatureFile,
        `-Overify-time=${formatSshTime(options.at)}`,
      ],
    }, {
      cwd: options.scratch,
      output: "collect",
      stdin: commit.payload,
      timeoutMs: 60_000,
    });
    if (result.success) return "good";
    if (result.timedOut) return "ssh-keygen did not answer within 60 s";
    const line = (result.stderr + result.stdout).split("\n").map((text) =>
      text.trim()
    ).find((text) => text !== "");
    if (result.exitCode === CANNOT_START_EXIT_CODE) {
      return `the signature cannot be checked: ${
        line ?? "ssh-keygen cannot be started"
      }`;
    }
    return `the signature does not match the commit (changed after signing, or not made by this key)${
      line ? `: ssh-keygen says "${line}"` : ""
    }`;
  } finally {
    await Deno.remove(signatureFile).catch(() => {});
  }
}
