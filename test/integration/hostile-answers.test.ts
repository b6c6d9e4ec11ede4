import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClusterSender } from '../../shared/adapters/cluster/sender';
import { SlackNotifier } from '../../shared/adapters/notify/slack';
import { OciDistributionRegistry } from '../../shared/adapters/registry/oci-distribution';
import { buildReport, reportTarget, sendReport } from '../../shared/agent/drift-report';
import { kubernetesWorkloadClient, MAX_LIST_PAGES } from '../../shared/agent/kubernetes';
import { loadKubernetesModule } from '../support/agent';
import { alertOf } from '../support/alerts';

/**
 * Security: an answer to one of Tagwarden's own outgoing calls is read only as far as Tagwarden uses
 * it. A receiver that answers a refusal with an endless body (a compromised cluster endpoint, or
 * anything posing as Tagwarden to an agent) must not make the caller hold it in memory until the
 * timeout: only the excerpt's first bytes are read, then the connection is dropped.
 */
const FLOOD_BYTES = 64 * 1024 * 1024;
/** Far more than the read cap plus both sockets' buffers, far less than the flood. */
const READ_AT_MOST = 16 * 1024 * 1024;

interface Flood {
  url: string;
  /** Bytes the server handed to the socket before the client went away (or all of them). */
  written: () => number;
  closed: Promise<void>;
  stop: () => Promise<void>;
}

/** A server answering every request with `status` and a 64 MiB body, written as fast as it is read. */
async function flooding(status: number): Promise<Flood> {
  let written = 0;
  let closed!: () => void;
  const whenClosed = new Promise<void>((resolve) => {
    closed = resolve;
  });
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'Content-Type': 'text/plain' });
      const chunk = Buffer.alloc(1024 * 1024, 0x78);
      const pump = () => {
        while (written < FLOOD_BYTES && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', closed);
      pump();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    written: () => written,
    closed: whenClosed,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const floods: Flood[] = [];
async function flood(status: number): Promise<Flood> {
  const started = await flooding(status);
  floods.push(started);
  return started;
}
afterAll(async () => {
  await Promise.all(floods.map((f) => f.stop()));
});

describe('an endless answer to an outgoing call', () => {
  it('a cluster endpoint answering a bump with 500 and 64 MiB: the sender reads an excerpt, not the flood', async () => {
    const receiver = await flood(500);
    const sender = new ClusterSender([
      {
        name: 'prod',
        format: 'tagwarden',
        secret: 'cluster-secret-0123456789',
        timeoutMs: 20_000,
        url: receiver.url,
      },
    ]);
    const bump = {
      id: 'evt-1:cluster=prod#bump',
      registryHost: 'registry.example',
      repository: 'payments/api',
      tag: 'latest',
      previousDigest: null,
      digest: `sha256:${'b'.repeat(64)}`,
      reason: 'moved' as const,
      timestamp: new Date().toISOString(),
    };
    await expect(sender.send('prod', bump)).rejects.toThrow(/failed with HTTP 500: x{200}$/);
    await receiver.closed;
    expect(receiver.written()).toBeLessThan(READ_AT_MOST);
  });

  it('a Slack webhook URL answering an alert with 500 and 64 MiB: the notifier reads an excerpt, not the flood', async () => {
    const receiver = await flood(500);
    const notifier = new SlackNotifier({ webhookUrl: `${receiver.url}/services/T/B/x`, timeoutMs: 20_000 });
    await expect(notifier.send(alertOf())).rejects.toThrow(/HTTP 500.*x{100}/);
    await receiver.closed;
    expect(receiver.written()).toBeLessThan(READ_AT_MOST);
  });

  it('a report URL answering a drift report with 500 and 64 MiB: the agent reads 200 characters of it, not the flood', async () => {
    const receiver = await flood(500);
    const report = buildReport('prod', null, [], Date.now());
    await expect(sendReport(reportTarget(receiver.url), 'agent-secret-0123456789', report)).rejects.toThrow(
      /answered 500: x{200}$/,
    );
    await receiver.closed;
    expect(receiver.written()).toBeLessThan(READ_AT_MOST);
  });
});

describe('a Kubernetes API that never ends a listing', () => {
  it('answers every list page with another continue token: the agent stops after MAX_LIST_PAGES with an error', async () => {
    // Stops by itself well past the cap, so the agent without one fails this test instead of hanging.
    const GIVE_UP = MAX_LIST_PAGES * 3;
    let pages = 0;
    const server = createServer((req, res) => {
      pages += 1;
      const more = pages < GIVE_UP ? { continue: `page-${pages}` } : {};
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: 'DeploymentList', apiVersion: 'apps/v1', metadata: more, items: [] }));
      req.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const k8s = loadKubernetesModule();
      const config = new k8s.KubeConfig();
      config.loadFromOptions({
        clusters: [
          {
            name: 'c',
            server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
            skipTLSVerify: true,
          },
        ],
        users: [{ name: 'u', token: 't' }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      });
      const client = kubernetesWorkloadClient(k8s, config);
      await expect(client.list(['shop'])).rejects.toThrow(
        `listing Deployments in shop: the API server gave more than ${MAX_LIST_PAGES} pages`,
      );
      expect(pages).toBe(MAX_LIST_PAGES);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 60_000);
});

describe('a registry that never ends a tag listing', () => {
  it('answers every tags/list page with another Link rel="next": the listing stops after maxTagPages with an error', async () => {
    const GIVE_UP = 500; // stops by itself, so a listing without a cap fails this test instead of hanging
    let pages = 0;
    const server = createServer((req, res) => {
      pages += 1;
      const link =
        pages < GIVE_UP ? { Link: `</v2/team/app/tags/list?n=1000&last=t${pages}>; rel="next"` } : {};
      res.writeHead(200, { 'Content-Type': 'application/json', ...link });
      res.end(JSON.stringify({ name: 'team/app', tags: [`t${pages}`] }));
      req.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const registry = new OciDistributionRegistry({ url, maxTagPages: 50 });
      await expect(registry.listTags('team/app')).rejects.toThrow(
        /gave more than 50 pages of tags for team\/app \(Link headers without end\)/,
      );
      expect(pages).toBe(50);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
