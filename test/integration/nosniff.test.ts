import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { AgentMetrics } from '../../functions/local/metrics-agent';
import { idleAgent, idleServe } from '../support/edge-servers';

// Security: an answer that echoes input (a path, a reason) must never be read by a browser as HTML or
// script, whatever its body looks like: every JSON (and metrics) answer of `serve` and the agent says
// `X-Content-Type-Options: nosniff`, refusals included. The AWS and Azure answers are checked in
// test/unit/aws-webhook.test.ts and test/unit/azure-http.test.ts; the UI's pages in web-ui.test.ts.

const TOKEN = 'nosniff-test-token-0123456789';
const servers: Server[] = [];

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function expectNosniff(url: string, init: RequestInit, status: number): Promise<void> {
  const res = await fetch(url, init);
  await res.arrayBuffer();
  expect({ url, status: res.status, nosniff: res.headers.get('x-content-type-options') }).toEqual({
    url,
    status,
    nosniff: 'nosniff',
  });
}

const bearer = { headers: { Authorization: `Bearer ${TOKEN}` } };
const html = '<script>alert(1)</script>';

it('serve answers JSON and metrics with nosniff: success, 404, 401, a refused webhook, 405', async () => {
  const base = await listen(
    idleServe({
      auth: () => ({ token: 'webhook-token-0123456789' }),
      apiToken: TOKEN,
      metrics: new Registry(),
    }),
  );
  await expectNosniff(`${base}/healthz`, {}, 200);
  await expectNosniff(`${base}/nowhere/${html}`, {}, 404);
  await expectNosniff(`${base}/api/tags/registry.example/app:1`, {}, 401);
  await expectNosniff(`${base}/metrics`, bearer, 200);
  await expectNosniff(`${base}/webhooks/distribution`, { method: 'POST', body: html }, 401);
  await expectNosniff(`${base}/webhooks/distribution`, { method: 'PUT', body: html }, 405);
});

it('the agent answers JSON and metrics with nosniff: success, 404, 401, 405', async () => {
  const base = await listen(idleAgent({ metrics: new AgentMetrics(TOKEN) }));
  await expectNosniff(`${base}/healthz`, {}, 200);
  await expectNosniff(`${base}/${html}`, {}, 404);
  await expectNosniff(`${base}/bump`, { method: 'POST', body: html }, 401);
  await expectNosniff(`${base}/bump`, {}, 405);
  await expectNosniff(`${base}/metrics`, bearer, 200);
  await expectNosniff(`${base}/metrics`, {}, 401);
});
