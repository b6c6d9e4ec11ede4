import { type GuardedRegistry, startGuardedRegistry } from '../support/guarded-registry';
import { pushImage } from '../support/images';
import type { RunningRegistry } from '../support/registry';
import type { SlackStub } from '../support/slack-stub';
import { eventually, type RunningTagwarden } from '../support/tagwarden';

// Quay and Docker Hub send no digest. Tagwarden reads it from the registry (here a real one: Quay's
// host is the local registry, and docker.io is pointed at it) before anything is recorded.
const TOKEN = 'e2e-query-token-0123456789';
let guarded: GuardedRegistry;
let registry: RunningRegistry;
let tagwarden: RunningTagwarden;
let slack: SlackStub;

beforeAll(async () => {
  guarded = await startGuardedRegistry({
    name: 'digestless',
    token: TOKEN,
    notifications: false,
    defaults: '{ action: alert, owners: ["#platform"] }',
    sources: `quay: { token: "\${TAGWARDEN_SOURCE_TOKEN}" }
dockerhub: { token: "\${TAGWARDEN_SOURCE_TOKEN}" }`,
    aliases: ['docker.io'],
  });
  ({ registry, tagwarden, slack } = guarded);
}, 60_000);

afterAll(async () => {
  await guarded?.stop();
});

async function post(source: string, body: unknown, token = TOKEN) {
  return fetch(`${tagwarden.url}/webhooks/${source}?token=${encodeURIComponent(token)}`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
}

async function history(host: string, repository: string, tag: string) {
  const res = await fetch(`${tagwarden.url}/api/tags/${host}/${repository}:${tag}`);
  return res.status === 404
    ? []
    : ((await res.json()) as { history: { transition: string; digest: string }[] }).history;
}

describe('sources that send no digest', () => {
  it('resolves Quay pushes from the registry, detects a re-push of the same tag, and collapses a redelivery', async () => {
    const quayBody = {
      name: 'app',
      repository: 'quayorg/app',
      namespace: 'quayorg',
      docker_url: `${registry.host}/quayorg/app`,
      homepage: `https://${registry.host}/repository/quayorg/app`,
      updated_tags: ['latest'],
    };
    const a = await pushImage(registry.url, 'quayorg/app', 'latest', 'quay-a');
    expect((await post('quay', quayBody)).status).toBe(202);
    await eventually(
      async () => ((await history(registry.host, 'quayorg/app', 'latest')).length === 1 ? true : undefined),
      'A resolved',
    );

    // The same body again, after a real new push: Quay cannot tell us apart, the registry can.
    const b = await pushImage(registry.url, 'quayorg/app', 'latest', 'quay-b');
    expect((await post('quay', quayBody)).status).toBe(202);
    await eventually(
      async () => ((await history(registry.host, 'quayorg/app', 'latest')).length === 2 ? true : undefined),
      'B resolved',
    );
    // And once more, a redelivery of that push. Quay's ids are derived from the body, so each delivery
    // is its own (perDelivery): resolved again, it is `unchanged` (the tag serves B), which plans no
    // effect — still one alert. Waiting for that third row keeps the check from racing its resolve.
    expect((await post('quay', quayBody)).status).toBe(202);
    await eventually(
      async () => ((await history(registry.host, 'quayorg/app', 'latest')).length === 3 ? true : undefined),
      'the redelivery resolved',
    );
    await eventually(
      async () => (slack.messages.some((m) => m.text.includes('quayorg/app:latest')) ? true : undefined),
      'the alert',
    );

    const rows = await history(registry.host, 'quayorg/app', 'latest');
    expect(rows.map((r) => [r.transition, r.digest])).toEqual([
      ['first-seen', a.digest],
      ['overwrite', b.digest],
      ['unchanged', b.digest],
    ]);
    expect(slack.messages.filter((m) => m.text.includes('quayorg/app:latest'))).toHaveLength(1);
  });

  it('resolves a Docker Hub push through the registry configured for docker.io', async () => {
    const pushed = await pushImage(registry.url, 'acme/payments-api', 'v1.4.0', 'hub-a');
    const body = {
      callback_url: 'https://registry.hub.docker.com/u/acme/payments-api/hook/0000/',
      push_data: { pushed_at: 1717229730, pusher: 'ci-bot', tag: 'v1.4.0' },
      repository: { name: 'payments-api', namespace: 'acme', owner: 'acme', repo_name: 'acme/payments-api' },
    };
    expect((await post('dockerhub', body)).status).toBe(202);
    await eventually(
      async () =>
        (await history('docker.io', 'acme/payments-api', 'v1.4.0')).length === 1 ? true : undefined,
      'resolution',
    );
    expect(await history('docker.io', 'acme/payments-api', 'v1.4.0')).toMatchObject([
      { transition: 'first-seen', digest: pushed.digest },
    ]);
  });

  it('refuses a Quay notification without the URL token', async () => {
    expect(
      (
        await post(
          'quay',
          { repository: 'quayorg/app', docker_url: 'quay.io/quayorg/app', updated_tags: ['x'] },
          'wrong-token-0000000000',
        )
      ).status,
    ).toBe(401);
  });
});
