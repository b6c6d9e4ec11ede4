import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The project root (where package.json is), whether this file runs from infra/ or bundled elsewhere. */
function projectRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return join(__dirname, '..', '..');
    dir = parent;
  }
  return dir;
}
export const ROOT = projectRoot();
