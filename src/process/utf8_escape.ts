/**
 * Decoding command output for storage: valid UTF-8 as text, and every byte
 * that is not part of a valid sequence as `\xNN`, so no byte is lost to a
 * replacement character.
 */

const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** `bytes` as text, with each byte outside a valid UTF-8 sequence written as `\xNN`. */
export function decodeUtf8Escaping(bytes: Uint8Array): string {
  const parts: string[] = [];
  let validFrom = 0;
  let index = 0;
  while (index < bytes.length) {
    const length = sequenceLength(bytes, index);
    if (length > 0) {
      index += length;
      continue;
    }
    if (index > validFrom) {
      parts.push(decoder.decode(bytes.subarray(validFrom, index)));
    }
    parts.push(`\\x${bytes[index].toString(16).padStart(2, "0")}`);
    index++;
    validFrom = index;
  }
  if (validFrom < bytes.length) {
    parts.push(decoder.decode(bytes.subarray(validFrom)));
  }
  return parts.join("");
}

/** Length of the valid UTF-8 sequence starting at `at`, or 0 when there is none. */
function sequenceLength(bytes: Uint8Array, at: number): number {
  const lead = bytes[at];
  if (lead < 0x80) return 1;
  let length: number;
  let low = 0x80;
  let high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) length = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead === 0xe0) low = 0xa0;
    if (lead === 0xed) high = 0x9f; // no UTF-16 surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead === 0xf0) low = 0x90;
    if (lead === 0xf4) high = 0x8f; // nothing above U+10FFFF
  } else return 0;
  if (at + length > bytes.length) return 0;
  for (let offset = 1; offset < length; offset++) {
    const byte = bytes[at + offset];
    const [min, max] = offset === 1 ? [low, high] : [0x80, 0xbf];
    if (byte < min || byte > max) return 0;
  }
  return length;
}
