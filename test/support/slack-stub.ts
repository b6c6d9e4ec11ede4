import { createServer, type Server } from 'node:http';

export interface SlackStub {
  url: string;
  messages: { text: string; blocks: unknown[] }[];
  /** Statuses to answer before answering 200 again (e.g. [503] for one outage); answered requests are not recorded. */
  failNext: number[];
  /** Every request received, answered with an error or not. */
  received: number;
  close(): Promise<void>;
}

/** A local stand-in for a Slack incoming webhook: records every message, answers `ok`. */
export async function startSlackStub(): Promise<SlackStub> {
  const messages: SlackStub['messages'] = [];
  const stub = { failNext: [] as number[], received: 0 };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      stub.received += 1;
      const status = stub.failNext.shift();
      if (status !== undefined) {
        res.writeHead(status, { 'Content-Type': 'text/plain' }).end('unavailable');
        return;
      }
      messages.push(JSON.parse(body));
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/services/T000/B000/XXXX`,
    messages,
    get failNext() {
      return stub.failNext;
    },
    set failNext(value: number[]) {
      stub.failNext = value;
    },
    get received() {
      return stub.received;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // keep-alive sockets from the notifier would hold close() open
      }),
  };
}
