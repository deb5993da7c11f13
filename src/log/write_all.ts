/** Writes every byte of `data`: a synchronous write may take only part of it. */
export function writeAll(
  file: { writeSync(data: Uint8Array): number },
  data: Uint8Array,
): void {
  let offset = 0;
  while (offset < data.length) offset += file.writeSync(data.subarray(offset));
}
