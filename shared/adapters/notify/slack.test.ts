import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { alertOf, FROM, TO } from '../../../test/support/alerts';
import { PermanentError, TransientError } from '../../core';
import { escapeSlack, renderSlackMessage, SlackNotifier } from './slack';

interface Received {
  path: string;
  body: { text: string; blocks: unknown[] };
}

type Reply = { status: number; body?: string; headers?: Record<string, string> } | 'hang';

/** A Slack incoming-webhook stand-in on loopback: records every POST and answers from a script per path. */
class SlackStub {
  readonly received: Received[] = [];
  private readonly replies = new Map<string, Reply[]>();
  private readonly server: Server = createServer((req, res) => this.handle(req, res));
  base = '';

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  url(path: string): string {
    return `${this.base}${path}`;
  }

  /** Answers the next POSTs to `path` with these replies, then with 200 "ok". */
  script(path: string, ...replies: Reply[]): void {
    this.replies.set(path, replies);
  }

  to(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '';
      this.received.push({ path, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      const reply = this.replies.get(path)?.shift() ?? { status: 200, body: 'ok' };
      if (reply === 'hang') return;
      res.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
      res.end(reply.body ?? '');
    });
  }
}

/** Every piece of text a message shows, flattened, to check what Slack would render. */
function allText(message: { text: string; blocks: unknown[] }): string {
  return JSON.stringify(message);
}

function headerText(message: { blocks: unknown[] }): string {
  return (message.blocks[0] as { text: { text: string } }).text.text;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject');
}

let stub: SlackStub;

beforeEach(async () => {
  stub = await new SlackStub().start();
});

afterEach(async () => {
  await stub.stop();
});

describe('renderSlackMessage', () => {
  it('heads an alert with its title when it has one (a failed cluster bump is not an overwrite)', () => {
    const message = renderSlackMessage(alertOf({ title: 'Cluster not told' }));
    expect(headerText(message)).toBe(':rotating_light: Cluster not told: 127.0.0.1:5000/payments/api:v1');
    expect(message.text).toMatch(/^:rotating_light: Cluster not told: /);
  });

  it('names the registry, repository, tag, both digests, the actor and the action taken', () => {
    const message = renderSlackMessage(alertOf());
    const text = allText(message);
    for (const fact of ['127.0.0.1:5000', 'payments/api', 'v1', FROM, TO, 'alice', `reverted to ${FROM}`]) {
      expect(text).toContain(fact);
    }
    expect(headerText(message)).toBe(':rotating_light: Tag overwritten: 127.0.0.1:5000/payments/api:v1');
    expect(text).toContain(`\`${FROM}\``);
    expect(text).toContain('revert (rules[0])');
    expect(message.text).toContain('127.0.0.1:5000/payments/api:v1');
  });

  it('marks a warning with :warning: and an unknown actor as unknown', () => {
    const message = renderSlackMessage(alertOf({ severity: 'warning', incident: { actor: null } }));
    expect(headerText(message)).toMatch(/^:warning: /);
    expect(allText(message)).toContain('*Pushed by*\\nunknown');
  });

  it('escapes <, > and & in repository, actor, notes, owners and action taken', () => {
    const message = renderSlackMessage(
      alertOf({
        incident: {
          ref: { registryHost: 'r', repository: '<script>&', tag: 'v1' },
          actor: '<script>&',
          owners: ['<!here>'],
        },
        notes: ['<script>&'],
        actionTaken: '<!channel>',
      }),
    );
    const text = allText(message);
    expect(text).toContain('&lt;script&gt;&amp;');
    expect(text).not.toContain('<script>');
    expect(text).not.toContain('<!here>');
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;!channel&gt;');
  });

  it('does not let an actor like <https://evil|click> form a link', () => {
    const text = allText(renderSlackMessage(alertOf({ incident: { actor: '<https://evil|click>' } })));
    expect(text).toContain('&lt;https://evil|click&gt;');
    expect(text).not.toMatch(/<https?:/);
  });

  it('strips backticks from text shown as inline code', () => {
    const text = allText(renderSlackMessage(alertOf({ incident: { to: 'sha256:`x`<y>' } })));
    expect(text).toContain('`sha256:x&lt;y&gt;`');
  });

  it('turns Slack user and group ids into mentions and leaves other owners as text', () => {
    const text = allText(
      renderSlackMessage(
        alertOf({ incident: { owners: ['U012ABCDEF', 'W0123456', 'S0ABCDEFG', '#payments', 'u012abcdef'] } }),
      ),
    );
    expect(text).toContain(
      '*Owners:* <@U012ABCDEF>, <@W0123456>, <!subteam^S0ABCDEFG>, #payments, u012abcdef',
    );
  });

  it('truncates a header over 150 characters without splitting an escaped character', () => {
    const message = renderSlackMessage(
      alertOf({
        incident: { ref: { registryHost: 'r', repository: `${'x'.repeat(100)}&&&&&&&&&&&&&`, tag: 'v1' } },
      }),
    );
    const header = headerText(message);
    expect(header.length).toBeLessThanOrEqual(150);
    expect(header.endsWith('…')).toBe(true);
    expect(header).toMatch(/(&amp;)+…$/);
  });

  it('puts one context block per note', () => {
    const message = renderSlackMessage(alertOf({ notes: ['the registry cannot lock tags', 'second'] }));
    const contexts = message.blocks.filter((block) => (block as { type: string }).type === 'context');
    expect(contexts).toHaveLength(2);
  });

  it('escapes with escapeSlack the three characters Slack parses and shows * _ ~ ` unformatted', () => {
    const shown = (c: string) => `<!date^0^{_}|${c}>`;
    expect(escapeSlack('a & <b> *c*')).toBe(`a &amp; &lt;b&gt; ${shown('*')}c${shown('*')}`);
    expect(escapeSlack('_i_ ~s~ `x`')).toBe(
      `${shown('_')}i${shown('_')} ${shown('~')}s${shown('~')} ${shown('`')}x${shown('`')}`,
    );
  });

  it('does not let an actor reorder, colour or format the alert (bidi, escape codes, mrkdwn)', () => {
    const message = renderSlackMessage(
      alertOf({
        incident: {
          actor: '\u202Eevil\u001b[31m*bold*\u2066_x_\u0085~s~',
          ref: { registryHost: 'r', repository: 'team\u202Eapp', tag: 'v1\u009b2J' },
        },
      }),
    );
    const text = allText(message);
    for (const unsafe of ['\u202e', '\u2066', '\u001b', '\u0085', '\u009b']) {
      expect(text).not.toContain(unsafe);
      expect(text).not.toContain(JSON.stringify(unsafe).slice(1, -1)); // nor as a JSON escape
    }
    expect(text).not.toMatch(/\*bold\*|_x_|~s~/);
    const fields = (message.blocks[1] as { fields: Array<{ text: string; verbatim: boolean }> }).fields;
    const pushedBy = fields.find((f) => f.text.startsWith('*Pushed by*'))!;
    expect(pushedBy.text).toBe(
      '*Pushed by*\nevil [31m<!date^0^{_}|*>bold<!date^0^{_}|*> <!date^0^{_}|_>x<!date^0^{_}|_> <!date^0^{_}|~>s<!date^0^{_}|~>',
    );
    expect(headerText(message)).toBe(':rotating_light: Tag overwritten: r/team app:v1 2J');
  });

  it('marks every mrkdwn text object verbatim, so Slack links and mentions nothing on its own', () => {
    const message = renderSlackMessage(alertOf({ notes: ['see #general or @here'] }));
    const objects = JSON.stringify(message.blocks).match(/\{"type":"mrkdwn"[^}]*\}/g) ?? [];
    expect(objects.length).toBeGreaterThan(10);
    for (const object of objects) expect(JSON.parse(object)).toMatchObject({ verbatim: true });
  });
});

describe('SlackNotifier', () => {
  it('posts the rendered message to the default webhook when there are no owners', async () => {
    await new SlackNotifier({ webhookUrl: stub.url('/default') }).send(alertOf());
    expect(stub.to('/default')).toHaveLength(1);
    expect(stub.to('/default')[0]!.body).toEqual(renderSlackMessage(alertOf()));
  });

  it('turns a 429 with Retry-After: 3 into a TransientError asking for 3000 ms', async () => {
    stub.script('/default', { status: 429, body: 'rate_limited', headers: { 'retry-after': '3' } });
    const error = await failure(new SlackNotifier({ webhookUrl: stub.url('/default') }).send(alertOf()));
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).retryAfterMs).toBe(3000);
  });

  it('waits 1000 ms after a 429 without a usable Retry-After and at most 15 minutes', async () => {
    const notifier = new SlackNotifier({ webhookUrl: stub.url('/default') });
    stub.script('/default', { status: 429 }, { status: 429, headers: { 'retry-after': '86400' } });
    expect(((await failure(notifier.send(alertOf()))) as TransientError).retryAfterMs).toBe(1000);
    expect(((await failure(notifier.send(alertOf()))) as TransientError).retryAfterMs).toBe(15 * 60 * 1000);
  });

  it('turns a 500 into a TransientError', async () => {
    stub.script('/default', { status: 500, body: 'oops' });
    const error = await failure(new SlackNotifier({ webhookUrl: stub.url('/default') }).send(alertOf()));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain('500');
  });

  it('turns a 400 invalid_payload into a PermanentError naming the status but not the webhook URL', async () => {
    const secretUrl = stub.url('/services/T000/B000/secret-token');
    stub.script('/services/T000/B000/secret-token', { status: 400, body: `invalid_payload ${secretUrl}` });
    const error = await failure(new SlackNotifier({ webhookUrl: secretUrl }).send(alertOf()));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toContain('400');
    expect(error.message).toContain('invalid_payload');
    expect(error.message).toContain('webhook #1');
    expect(error.message).not.toContain('secret-token');
    expect(error.message).not.toContain(stub.base);
  });

  it('cuts Slack response text to 200 characters in the error', async () => {
    stub.script('/default', { status: 404, body: `no_service ${'x'.repeat(1000)}` });
    const error = await failure(new SlackNotifier({ webhookUrl: stub.url('/default') }).send(alertOf()));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message.length).toBeLessThan(300);
  });

  it('turns a refused connection into a TransientError without the URL', async () => {
    const closed = await new SlackStub().start();
    const url = closed.url('/services/secret-token');
    await closed.stop();
    const error = await failure(new SlackNotifier({ webhookUrl: url }).send(alertOf()));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).not.toContain('secret-token');
  });

  it('turns a webhook that does not answer in time into a TransientError', async () => {
    stub.script('/slow', 'hang');
    const error = await failure(
      new SlackNotifier({ webhookUrl: stub.url('/slow'), timeoutMs: 50 }).send(alertOf()),
    );
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain('timed out after 50 ms');
  });

  it('sends to the route of a routed owner and to the default webhook for an unrouted one, once each', async () => {
    const notifier = new SlackNotifier({
      webhookUrl: stub.url('/default'),
      routes: { '#payments': stub.url('/payments') },
    });
    await notifier.send(alertOf({ incident: { owners: ['#payments', '@alice'] } }));
    expect(stub.to('/payments')).toHaveLength(1);
    expect(stub.to('/default')).toHaveLength(1);
    expect(stub.received).toHaveLength(2);
  });

  it('skips the default webhook when every owner has a route, and posts a shared route once', async () => {
    const notifier = new SlackNotifier({
      webhookUrl: stub.url('/default'),
      routes: { '#payments': stub.url('/team'), '@alice': stub.url('/team') },
    });
    await notifier.send(alertOf({ incident: { owners: ['#payments', '@alice'] } }));
    expect(stub.to('/team')).toHaveLength(1);
    expect(stub.to('/default')).toHaveLength(0);
  });

  it('does not treat an owner named like an Object.prototype property as routed', async () => {
    const notifier = new SlackNotifier({ webhookUrl: stub.url('/default'), routes: {} });
    await notifier.send(alertOf({ incident: { owners: ['constructor', '__proto__'] } }));
    expect(stub.to('/default')).toHaveLength(1);
  });

  it('re-sends only to the URL that failed when an alert is retried', async () => {
    const notifier = new SlackNotifier({
      webhookUrl: stub.url('/default'),
      routes: { '#payments': stub.url('/payments') },
    });
    const alert = alertOf({ incident: { owners: ['#payments', '@alice'] } });
    stub.script('/default', { status: 503 });

    const error = await failure(notifier.send(alert));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain('webhook #1');
    expect(error.message).not.toContain(stub.base);

    await notifier.send(alert);
    expect(stub.to('/payments')).toHaveLength(1);
    expect(stub.to('/default')).toHaveLength(2);
  });

  it('names a failing route by its owner and reports a permanent failure when every failure is permanent', async () => {
    const notifier = new SlackNotifier({
      webhookUrl: stub.url('/default'),
      routes: { '#payments': stub.url('/payments') },
    });
    stub.script('/payments', { status: 410, body: 'channel_is_archived' });
    stub.script('/default', { status: 403, body: 'action_prohibited' });
    const error = await failure(notifier.send(alertOf({ incident: { owners: ['#payments', '@alice'] } })));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toContain('webhook for #payments');
    expect(error.message).toContain('channel_is_archived');
    expect(error.message).toContain('410');
    expect(error.message).toContain('403');
  });

  it('reports a transient failure with the longest Retry-After when one of several URLs is throttled', async () => {
    const notifier = new SlackNotifier({
      webhookUrl: stub.url('/default'),
      routes: { '#payments': stub.url('/payments') },
    });
    stub.script('/payments', { status: 429, headers: { 'retry-after': '7' } });
    stub.script('/default', { status: 400, body: 'invalid_payload' });
    const error = await failure(notifier.send(alertOf({ incident: { owners: ['#payments', '@alice'] } })));
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).retryAfterMs).toBe(7000);
  });

  it('sends a later alert about the same event again once the first was fully delivered', async () => {
    const notifier = new SlackNotifier({ webhookUrl: stub.url('/default') });
    await notifier.send(alertOf());
    await notifier.send(alertOf({ actionTaken: 'revert failed: registry unavailable' }));
    expect(stub.to('/default')).toHaveLength(2);
  });
});
