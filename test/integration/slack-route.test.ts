import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalServer } from '../../functions/local/server';
import { SLACK_ACTION_MAX_BYTES } from '../../functions/local/slack-route';
import { DEFAULT_POLICY } from '../../shared/core';
import { MemoryHistoryStore } from '../../shared/history';
import { silentLogger } from '../../shared/log';

const servers: Server[] = [];

async function start(slack: boolean): Promise<string> {
  const server = createLocalServer({
    store: new MemoryHistoryStore(),
    policy: DEFAULT_POLICY,
    log: silentLogger,
    auth: () => null,
    onRecorded: () => {},
    ...(slack
      ? {
          slack: {
            signingSecret: 'route-test-secret-0123456789ab',
            responder: { respond: async () => true },
          },
        }
      : {}),
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/actions`;
}

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

describe('serve: POST /slack/actions', () => {
  it('is 404 without a signing secret, naming the setting', async () => {
    const res = await fetch(await start(false), { method: 'POST', body: 'payload={}' });
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('notify.slack.signingSecret');
  });

  it('refuses GET, an unsigned click and an oversized body', async () => {
    const url = await start(true);
    expect((await fetch(url)).status).toBe(405);
    const unsigned = await fetch(url, { method: 'POST', body: 'payload={}' });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toEqual({
      error: 'unauthorized: missing X-Slack-Request-Timestamp header',
    });
    const big = await fetch(url, { method: 'POST', body: 'x'.repeat(SLACK_ACTION_MAX_BYTES + 1) });
    expect(big.status).toBe(413);
  });
});
