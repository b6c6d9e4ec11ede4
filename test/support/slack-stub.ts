import { createServer, type Server } from 'node:http';

export interface SlackStub {
  url: string;
  messages: { text: string; blocks: unknown[] }[];
  close(): Promise<void>;
}

/** A local stand-in for a Slack incoming webhook: records every message, answers `ok`. */
export async function startSlackStub(): Promise<SlackStub> {
  const messages: SlackStub['messages'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      messages.push(JSON.parse(body));
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/services/T000/B000/XXXX`,
    messages,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
