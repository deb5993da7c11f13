/** What every format reader gives the decryption: the values in file order, the metadata, an emitter. */
import type { PlainValue } from "./sops_value.ts";

/** One value of the tree: its path of map keys (list positions are not part of it, as in SOPS). */
export interface SopsLeaf {
  readonly path: readonly string[];
  /** As read: an encrypted string, or a plain value left unencrypted. */
  readonly value: string | number | boolean;
  /** Replaces the value in the document that {@link SopsDocument.emit} writes. */
  set(value: PlainValue, bytes: Uint8Array): void;
}

/** A comment that SOPS may have encrypted (YAML only); decrypted when it can be, left as is otherwise. */
export interface SopsComment {
  readonly path: readonly string[];
  readonly text: string;
  set(text: string): void;
}

/** A SOPS file read in one format. */
export interface SopsDocument {
  /** The `sops` metadata as plain data (flattened keys already unflattened); undefined when absent. */
  readonly metadata: unknown;
  /** Every value of the tree in the order SOPS walks it. */
  readonly leaves: readonly SopsLeaf[];
  readonly comments: readonly SopsComment[];
  /** The tree without its metadata, written as `sops decrypt` writes it. */
  emit(): string | Uint8Array;
}
