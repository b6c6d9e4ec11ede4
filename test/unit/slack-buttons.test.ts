// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the config syntax under test.
import { alertChannel } from '../../shared/adapters/notify/channel';
import { renderSlackMessage } from '../../shared/adapters/notify/slack';
import { BUTTON_VALUE_MAX } from '../../shared/adapters/notify/slack-buttons';
import { loadConfigText } from '../../shared/config/load';
import { toPolicy } from '../../shared/config/schema';
import { approversOf, ruleFor } from '../../shared/core';
import { alertOf } from '../support/alerts';

type Actions = { type: string; elements: { action_id: string; value: string; text: { text: string } }[] };
const actionsOf = (message: { blocks: unknown[] }) =>
  message.blocks.find((b) => (b as Actions).type === 'actions') as Actions | undefined;

describe('alert buttons', () => {
  it('under alert: Revert to the old digest and Approve the new one, each value bound to tag and digests', () => {
    const alert = alertOf({ incident: { ruleAction: 'alert' } });
    const actions = actionsOf(renderSlackMessage(alert, { interactive: true }))!;
    expect(actions.elements.map((e) => e.action_id)).toEqual(['tagwarden_revert', 'tagwarden_approve']);
    const revert = JSON.parse(actions.elements[0]!.value);
    expect(revert).toEqual({
      kind: 'revert',
      ref: `${alert.incident.ref.registryHost}/${alert.incident.ref.repository}:${alert.incident.ref.tag}`,
      from: alert.incident.restoreTo ?? alert.incident.from,
      to: alert.incident.to,
    });
    expect(actions.elements[0]!.text.text).toMatch(/^Revert to sha256:[0-9a-f]{12}$/);
    expect(actions.elements.every((e) => e.value.length < BUTTON_VALUE_MAX)).toBe(true);
  });

  it('under revert or lock: Approve (put it back); on a failed effect: Retry only; none when not interactive', () => {
    for (const ruleAction of ['revert', 'lock'] as const) {
      const actions = actionsOf(
        renderSlackMessage(alertOf({ incident: { ruleAction } }), { interactive: true }),
      )!;
      expect(actions.elements.map((e) => e.text.text)).toEqual([expect.stringMatching(/\(put it back\)$/)]);
    }
    const failed = actionsOf(
      renderSlackMessage({ ...alertOf(), retryKey: 'e1#revert' }, { interactive: true }),
    )!;
    expect(failed.elements.map((e) => [e.action_id, JSON.parse(e.value).key])).toEqual([
      ['tagwarden_retry', 'e1#revert'],
    ]);
    expect(actionsOf(renderSlackMessage(alertOf()))).toBeUndefined();
    expect(
      actionsOf(renderSlackMessage(alertOf({ incident: { ruleAction: 'allow' } }), { interactive: true })),
    ).toBeUndefined();
  });

  it('are sent only when the signing secret is set', async () => {
    const bodies: string[] = [];
    const fetchStub = (async (_url: string, init: RequestInit) => {
      bodies.push(String(init.body));
      return new Response('ok');
    }) as typeof fetch;
    const url = 'https://hooks.slack.com/services/T/B/X';
    // The channel builds the notifier; its fetch is the global one, so stub it for this test only.
    const saved = global.fetch;
    global.fetch = fetchStub;
    try {
      await alertChannel({ webhookUrl: url }).send(alertOf({ incident: { eventId: 'plain' } }));
      await alertChannel({ webhookUrl: url, signingSecret: 'x'.repeat(32) }).send(
        alertOf({ incident: { eventId: 'interactive' } }),
      );
    } finally {
      global.fetch = saved;
    }
    expect(bodies.map((b) => b.includes('"type":"actions"'))).toEqual([false, true]);
  });
});

describe('approvers in the config', () => {
  const load = (yaml: string) => loadConfigText(yaml, { file: 'tagwarden.yaml', env: { S: 's'.repeat(32) } });

  it('default to the owners that are Slack user ids; a rule may name its own', () => {
    const result = load(`rules:
  - match: { repository: "a/*" }
    action: alert
    owners: ["#a", "@alice", "U0AAAAAAA", "S0GROUPXX"]
  - match: { repository: "b/*" }
    action: alert
    owners: ["U0AAAAAAA"]
    approvers: ["U0BBBBBBB"]
notify:
  slack: { webhookUrl: "https://hooks.slack.com/services/T/B/X", signingSecret: "\${S}" }
`);
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.config.notify?.slack?.signingSecret).toBe('s'.repeat(32));
    const policy = toPolicy(result.config);
    const rule = (repository: string) => ruleFor(policy, { registryHost: 'r', repository, tag: 't' });
    expect(approversOf(rule('a/x'))).toEqual(['U0AAAAAAA']);
    expect(approversOf(rule('b/x'))).toEqual(['U0BBBBBBB']);
  });

  it('refuses a group id, and a response_url base on plain http beyond loopback, saying why', () => {
    const group = load('rules:\n  - match: {}\n    action: alert\n    approvers: ["S0GROUPXX"]\n');
    expect(group.ok).toBe(false);
    expect(JSON.stringify(group)).toContain('group ids (S…) are not accepted');
    const base = load(
      'notify:\n  slack: { webhookUrl: "https://hooks.slack.com/x", responseUrlBase: "http://evil.example/" }\n',
    );
    expect(base.ok).toBe(false);
    expect(JSON.stringify(base)).toContain('http:// on a loopback address');
  });
});
