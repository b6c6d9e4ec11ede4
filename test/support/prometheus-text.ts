/**
 * A strict reader of the Prometheus text format (0.0.4), for tests that scrape `/metrics`. prom-client
 * writes the format but ships no parser; this one refuses any line it does not understand, a sample
 * of a family without `# TYPE`, and a label or value that is not well formed.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const COMMENT = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`);
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(?:,|$)/;
const SUFFIXES: Record<Family['type'], string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  for (const [index, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const fail = (why: string) => new Error(`line ${index + 1} (${JSON.stringify(line)}): ${why}`);
    const comment = COMMENT.exec(line);
    if (comment) {
      const [, kind, name, rest] = comment as unknown as [string, string, string, string];
      const family = families.get(name) ?? { name, type: 'untyped', help: '', samples: [] };
      if (kind === 'HELP') family.help = rest;
      else if (rest in SUFFIXES) family.type = rest as Family['type'];
      else throw fail(`unknown type ${rest}`);
      families.set(name, family);
      continue;
    }
    const sample = SAMPLE.exec(line);
    if (!sample) throw fail('neither a comment nor a sample');
    const [, name, labelText, valueText] = sample as unknown as [string, string, string | undefined, string];
    const family = familyOf(families, name);
    if (!family) throw fail(`sample of ${name} without a # TYPE line`);
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    if (Number.isNaN(value) && valueText !== 'NaN') throw fail(`value ${valueText} is not a number`);
    family.samples.push({ name, labels: parseLabels(labelText ?? '', fail), value });
  }
  return families;
}

function familyOf(families: Map<string, Family>, sampleName: string): Family | undefined {
  for (const family of families.values())
    if (SUFFIXES[family.type].some((suffix) => `${family.name}${suffix}` === sampleName)) return family;
  return undefined;
}

function parseLabels(text: string, fail: (why: string) => Error): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest !== '') {
    const match = LABEL.exec(rest);
    if (!match) throw fail(`bad label at ${JSON.stringify(rest)}`);
    const [whole, name, raw] = match as unknown as [string, string, string];
    if (name in labels) throw fail(`label ${name} twice`);
    labels[name] = raw.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(whole.length);
  }
  return labels;
}

/** The value of the one sample named `name` whose labels are exactly `labels`; throws when there is none. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const want = JSON.stringify(Object.entries(labels).sort());
  for (const family of families.values())
    for (const sample of family.samples)
      if (sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === want)
        return sample.value;
  throw new Error(`no sample ${name}${JSON.stringify(labels)} in the scrape`);
}

/** Every sample of every family, for assertions over all label sets. */
export function allSamples(families: Map<string, Family>): Sample[] {
  return [...families.values()].flatMap((family) => family.samples);
}
