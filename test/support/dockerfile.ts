import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What the image's runtime stage declares, read from the Dockerfile (its last stage). */
export interface RuntimeStage {
  name: string;
  env: Record<string, string>;
  user: { uid: number; gid: number };
  workdir: string;
  entrypoint: string[];
  cmd: string[];
  volumes: string[];
  /** `COPY --from=<stage> <source> <destination>` lines: what the stage takes from the build. */
  copiedFrom: { stage: string; source: string; destination: string }[];
  instructions: string[];
}

export const DOCKERFILE = join(__dirname, '..', '..', 'Dockerfile');

/** Instructions with `\` continuations joined and comments dropped. */
function instructions(text: string): string[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** `ENV A=1 B="two words"` (the key=value form; the legacy `ENV A 1` is refused, so drift is loud). */
function envPairs(rest: string): [string, string][] {
  const pairs = [...rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)];
  if (pairs.length === 0) throw new Error(`ENV ${rest}: expected KEY=value pairs`);
  return pairs.map(([, key, value]) => [key!, value!.startsWith('"') ? JSON.parse(value!) : value!]);
}

function jsonArray(keyword: string, rest: string): string[] {
  const value = JSON.parse(rest) as unknown;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw new Error(`${keyword} ${rest}: expected the exec (JSON array) form`);
  return value;
}

export function readRuntimeStage(path = DOCKERFILE): RuntimeStage {
  const all = instructions(readFileSync(path, 'utf8'));
  const start = all.findLastIndex((line) => /^FROM\s/i.test(line));
  const name = /\sAS\s+(\S+)$/i.exec(all[start]!)?.[1] ?? '';
  const stage: RuntimeStage = {
    name,
    env: {},
    user: { uid: 0, gid: 0 },
    workdir: '/',
    entrypoint: [],
    cmd: [],
    volumes: [],
    copiedFrom: [],
    instructions: all.slice(start + 1),
  };
  for (const line of stage.instructions) {
    const [, keyword = '', rest = ''] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    switch (keyword.toUpperCase()) {
      case 'ENV':
        for (const [key, value] of envPairs(rest)) stage.env[key] = value;
        break;
      case 'USER': {
        const [uid, gid = uid] = rest.split(':').map(Number);
        if (!Number.isInteger(uid) || !Number.isInteger(gid))
          throw new Error(`USER ${rest}: expected uid:gid numbers`);
        stage.user = { uid: uid!, gid: gid! };
        break;
      }
      case 'WORKDIR':
        stage.workdir = rest;
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = jsonArray(keyword, rest);
        break;
      case 'CMD':
        stage.cmd = jsonArray(keyword, rest);
        break;
      case 'VOLUME':
        stage.volumes.push(...jsonArray(keyword, rest));
        break;
      case 'COPY': {
        const from = /^--from=(\S+)\s+(?:--\S+\s+)*(\S+)\s+(\S+)$/.exec(rest);
        if (from) stage.copiedFrom.push({ stage: from[1]!, source: from[2]!, destination: from[3]! });
        break;
      }
    }
  }
  return stage;
}
