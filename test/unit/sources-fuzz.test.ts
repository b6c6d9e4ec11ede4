import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { eventProblems } from '../../shared/core';
import { jsonDepth, MAX_JSON_DEPTH, SOURCE_PARSERS } from '../../shared/sources';
import { INTERNAL_PARSER_ERROR } from '../../shared/sources/source';

const FIXTURES = join(__dirname, '..', 'fixtures');
const INTERNAL_ERROR = new RegExp(`${INTERNAL_PARSER_ERROR}|could not be parsed`);
const RUNS = Number(process.env.TAGWARDEN_FUZZ_RUNS ?? 100_000);

/** Every valid or invalid fixture of every source, parsed: the seeds the mutations start from. */
function fixtures(): unknown[] {
  const seeds: unknown[] = [];
  for (const source of readdirSync(FIXTURES)) {
    for (const file of readdirSync(join(FIXTURES, source)).filter((f) => f.endsWith('.json'))) {
      try {
        seeds.push(JSON.parse(readFileSync(join(FIXTURES, source, file), 'utf8')));
      } catch {
        // A fixture that is deliberately not JSON is the JSON-body limit's business, not the parsers'.
      }
    }
  }
  return seeds;
}

type Path = (string | number)[];

function paths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) paths(item, [...prefix, i], out);
  } else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

/** Replaces (or deletes) the value at a path of a deep copy. */
function mutate(seed: unknown, path: Path, replacement: unknown, remove: boolean): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(seed) as Record<string | number, unknown>;
  let node = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (remove && !Array.isArray(node)) delete node[last];
  else node[last] = replacement;
  return copy;
}

const hostileStrings = fc.constantFrom(
  '',
  '../../etc/passwd',
  'UPPER/Case',
  'a'.repeat(300),
  'sha256:'.padEnd(70, 'g'),
  `sha256:${'A'.repeat(64)}`,
  'tag\u0000null',
  'tag\nnewline',
  'ünïcödé',
  '<script>&',
  '__proto__',
  'constructor',
  '0',
  'NaN',
  '2026-02-30T10:00:00Z',
  '9999999999999999999999',
);
const leaf = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  hostileStrings,
  fc.constant(null),
  fc.integer(),
  fc.double(),
);

describe('every parser against generated and mutated bodies', () => {
  const seeds = fixtures();
  const parsers = [...SOURCE_PARSERS.values()];

  test(`${RUNS.toLocaleString('en-US')} bodies give no exception; every outcome is events, ignores or rejections with reasons`, () => {
    const mutated = fc
      .nat({ max: seeds.length - 1 })
      .chain((i) => {
        const seed = seeds[i];
        const all = paths(seed);
        return fc.tuple(fc.constant(seed), fc.constantFrom(...all), leaf, fc.boolean());
      })
      .map(([seed, path, replacement, remove]) => mutate(seed, path, replacement, remove));
    const body = fc.oneof(
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 6 }) },
      { weight: 3, arbitrary: mutated },
    );
    const headers = fc.dictionary(
      fc.constantFrom('x-github-event', 'x-github-delivery', 'aeg-event-type', 'content-type'),
      fc.string(),
      {
        maxKeys: 2,
      },
    );
    let events = 0;
    let ignores = 0;
    let rejections = 0;
    fc.assert(
      fc.property(fc.constantFrom(...parsers), body, headers, (parser, value, hdrs) => {
        // The JSON-body limits run first in every runtime; the fuzzer respects them too.
        fc.pre(jsonDepth(JSON.stringify(value) ?? '') <= MAX_JSON_DEPTH);
        const result = parser.parse(value, { headers: hdrs });
        if (!result.ok) {
          expect(typeof result.reason).toBe('string');
          expect(result.reason.length).toBeGreaterThan(0);
          // A parser's defensive catch turns a bug into a rejection; here a bug must fail the test.
          expect(result.reason).not.toMatch(INTERNAL_ERROR);
          rejections += 1;
          return;
        }
        for (const item of result.items) {
          if (item.kind === 'event') {
            // Nothing that fails the OCI grammars ever leaves a parser.
            expect(eventProblems(item.event)).toEqual([]);
            events += 1;
          } else {
            expect(['ignored', 'rejected']).toContain(item.kind);
            expect(item.reason.length).toBeGreaterThan(0);
            expect(item.reason).not.toMatch(INTERNAL_ERROR);
            if (item.kind === 'ignored') ignores += 1;
            else rejections += 1;
          }
        }
      }),
      { numRuns: RUNS },
    );
    // The mutations must reach every kind of outcome, or the fuzzer is only knocking on the door.
    expect(events).toBeGreaterThan(0);
    expect(ignores).toBeGreaterThan(0);
    expect(rejections).toBeGreaterThan(0);
  }, 300_000);
});
