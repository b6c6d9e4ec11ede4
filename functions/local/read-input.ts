import { closeSync, openSync, readSync } from 'node:fs';

/** Reads a file, or standard input for `-`; throws once more than `limit` bytes arrive, without reading further. */
export async function readInput(path: string, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  const take = (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) throw new Error(`larger than the limit of ${limit} bytes`);
    chunks.push(chunk);
  };
  if (path === '-') {
    for await (const chunk of process.stdin) take(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer))
      take(Buffer.from(buffer.subarray(0, read)));
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(chunks);
}
