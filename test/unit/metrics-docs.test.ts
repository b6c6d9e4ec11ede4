import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { serveMetrics } from '../../functions/local/metrics';
import { AgentMetrics } from '../../functions/local/metrics-agent';
import { MemoryHistoryStore } from '../../shared/history';

/**
 * docs/operations.md's Metrics section is the operator's reference: its table names every metric with
 * its type and labels, and its scrape config and alert rules are YAML that names metrics that exist.
 */
const page = readFileSync(join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
const section = page.slice(page.indexOf('\n## Metrics\n')).split(/\n## (?!Metrics\n)/)[0]!;
const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map(
  (m) => parse(m[1]!) as Record<string, unknown>,
);
const metrics = [
  ...serveMetrics(new MemoryHistoryStore()).metrics.getMetricsAsArray(),
  ...new AgentMetrics().registry.getMetricsAsArray(),
];

interface Rule {
  alert: string;
  expr: string;
  for: string;
}

describe('docs/operations.md, Metrics', () => {
  it('lists every metric with its type and labels, and no other', () => {
    const rows = [...section.matchAll(/^\| `(tagwarden_[a-z_]+)` \| (\w+) \| ([^|]*) \|/gm)].map(
      ([, name, type, labels]) => ({
        name,
        type,
        labels: [...labels!.matchAll(/`(\w+)`/g)].map((l) => l[1]).sort(),
      }),
    );
    const registered = metrics.map((m) => ({
      name: m.name,
      type: (m as unknown as { type: string }).type,
      labels: [...((m as unknown as { labelNames: string[] }).labelNames ?? [])].sort(),
    }));
    expect(rows.sort((a, b) => a.name!.localeCompare(b.name!))).toEqual(
      registered.sort((a, b) => a.name.localeCompare(b.name)),
    );
  });

  it('gives a scrape config for serve and the agent, with a Bearer authorization', () => {
    const scrape = blocks.find((b) => 'scrape_configs' in b)?.scrape_configs as Record<string, unknown>[];
    expect(scrape.map((job) => job.job_name)).toEqual(['tagwarden-serve', 'tagwarden-agent']);
    for (const job of scrape) {
      expect(job.metrics_path).toBe('/metrics');
      expect(job.authorization).toMatchObject({ type: 'Bearer' });
    }
  });

  it('gives the two alert rules, naming only metrics that exist', () => {
    const groups = blocks.find((b) => 'groups' in b)?.groups as { rules: Rule[] }[];
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.map((r) => [r.alert, r.for])).toEqual([
      ['TagwardenOutboxStuck', '1m'],
      ['TagwardenEffectsFailing', '10m'],
    ]);
    expect(rules[0]!.expr).toMatch(/tagwarden_outbox_oldest_pending_age_seconds\) > 900$/);
    expect(rules[1]!.expr).toContain('tagwarden_effects_total{outcome="failed"}');
    const names = new Set(metrics.map((m) => m.name));
    const used = rules.flatMap((r) => [...r.expr.matchAll(/tagwarden_[a-z_]+/g)].map((m) => m[0]));
    expect(used.length).toBeGreaterThan(0);
    for (const name of used) expect(names).toContain(name);
  });
});
