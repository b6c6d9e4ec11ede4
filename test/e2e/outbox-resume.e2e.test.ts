import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Policy } from '../../shared/core';
import { SqliteHistoryStore } from '../../shared/history';
import { at, digestOf, pushEvent } from '../support/events';
import { type SlackStub, startSlackStub } from '../support/slack-stub';
import { buildCli, eventually, type RunningTagwarden, startTagwarden } from '../support/tagwarden';

const dir = mkdtempSync(join(tmpdir(), 'tagwarden-resume-'));
const config = join(dir, 'tagwarden.yaml');
let slack: SlackStub;
const running: RunningTagwarden[] = [];

beforeAll(async () => {
  buildCli();
  slack = await startSlackStub();
  writeFileSync(
    config,
    'defaults: { action: alert, owners: ["#platform"] }\nsources:\n  distribution: { open: true }\nnotify:\n  slack: { webhookUrl: "${SLACK_URL}" }\n',
  );
});
afterAll(async () => {
  for (const t of running) await t.stop();
  await slack.close();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(db: string): Promise<RunningTagwarden> {
  const t = await startTagwarden(['--port', '0', '--db', db, '--config', config], { SLACK_URL: slack.url });
  running.push(t);
  return t;
}

function envelope(id: string, digest: string, timestamp: string) {
  return JSON.stringify({
    events: [
      {
        id,
        timestamp,
        action: 'push',
        target: {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest,
          repository: 'orders/api',
          tag: 'v3',
          url: `http://127.0.0.1:5000/v2/orders/api/manifests/${digest}`,
        },
        request: { host: '127.0.0.1:5000' },
        actor: { name: 'ci-bot' },
      },
    ],
  });
}

describe('the effect outbox across a crash', () => {
  it('sends an alert recorded by a process that died before posting it, when the next process starts', async () => {
    const db = join(dir, 'crashed-before-post.db');
    // The state a crash right after the commit leaves: the overwrite and its pending alert, nothing sent.
    const store = new SqliteHistoryStore({ path: db });
    const plan: Policy = {
      defaults: { action: 'alert', owners: ['#platform'], bump: false },
      rules: [],
    };
    await store.apply(
      pushEvent({ repository: 'orders/api', tag: 'v1', digest: digestOf(1), timestamp: at(1) }),
      plan,
      at(1),
    );
    const overwrite = await store.apply(
      pushEvent({ repository: 'orders/api', tag: 'v1', digest: digestOf(2), timestamp: at(2) }),
      plan,
      at(2),
    );
    expect(overwrite.effects.map((e) => e.status)).toEqual(['pending']);
    await store.close();

    const before = slack.messages.length;
    const t = await serve(db);
    await eventually(async () => (slack.messages.length > before ? true : undefined), 'the resumed alert');
    expect(slack.messages.slice(before).filter((m) => m.text.includes('orders/api:v1'))).toHaveLength(1);
    await t.stop();
  });

  it('delivers an alert exactly once after the process is killed while Slack was failing', async () => {
    const db = join(dir, 'killed.db');
    const t = await serve(db);
    const post = (id: string, seed: number, time: string) =>
      fetch(`${t.url}/webhooks/distribution`, { method: 'POST', body: envelope(id, digestOf(seed), time) });
    expect((await post('e1', 10, '2026-11-22T10:00:00Z')).status).toBe(202);
    slack.failNext = [503];
    const received = slack.received;
    expect((await post('e2', 11, '2026-11-22T10:00:05Z')).status).toBe(202);
    // Slack answered 503 to the first try; once the retry is scheduled in the outbox, the process dies.
    // (Killed mid-attempt instead, the effect would wait out its 30 s lease before another process retries it.)
    await eventually(async () => (slack.received > received ? true : undefined), 'the failed first attempt');
    await eventually(async () => {
      const store = new SqliteHistoryStore({ path: db });
      const [alert] = await store.effectsOf('distribution:e2');
      await store.close();
      return alert?.attempts === 1 && alert.status === 'pending' ? true : undefined;
    }, 'the retry to be scheduled');
    t.process.kill('SIGKILL');
    await eventually(
      async () => (t.process.exitCode !== null || t.process.signalCode !== null ? true : undefined),
      'the kill',
    );

    const before = slack.messages.length;
    const second = await serve(db);
    await eventually(async () => (slack.messages.length > before ? true : undefined), 'the retried alert');
    // A redelivery of the same registry event after the restart changes nothing.
    const again = await fetch(`${second.url}/webhooks/distribution`, {
      method: 'POST',
      body: envelope('e2', digestOf(11), '2026-11-22T10:00:05Z'),
    });
    expect(
      ((await again.json()) as { transitions: { transition: string }[] }).transitions[0]!.transition,
    ).toBe('duplicate');
    const store = new SqliteHistoryStore({ path: db });
    const effects = await store.effectsOf('distribution:e2');
    await store.close();
    expect(effects).toMatchObject([{ kind: 'alert', status: 'done', attempts: 2 }]);
    expect(slack.messages.slice(before).filter((m) => m.text.includes('orders/api:v3'))).toHaveLength(1);
  });
});
