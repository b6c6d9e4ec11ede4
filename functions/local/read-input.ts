import { readFileSync } from 'node:fs';

/** Reads a file, or standard input for `-`. */
export async function readInput(path: string): Promise<Buffer> {
  if (path !== '-') return readFileSync(path);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
