import type { Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { AGENT_MAX_CONNECTIONS } from '../../functions/local/agent';
import { boundedServer, send } from '../../functions/local/http-json';
import { SERVE_MAX_CONNECTIONS } from '../../functions/local/server';
import { idleAgent, idleServe } from '../support/edge-servers';

// Security: a client that opens connections by the thousand and holds them must not exhaust the file
// descriptors of `serve` or the agent. Both cap open connections (a constant each, far above what a
// deployment opens); past the cap a new connection is closed unanswered, and the open ones keep working.

const servers: Server[] = [];
const sockets: Socket[] = [];

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

it('serve and the agent are created with their caps', () => {
  const serve = idleServe();
  const agent = idleAgent();
  expect([SERVE_MAX_CONNECTIONS, AGENT_MAX_CONNECTIONS]).toEqual([1024, 256]);
  expect(serve.maxConnections).toBe(SERVE_MAX_CONNECTIONS);
  expect(agent.maxConnections).toBe(AGENT_MAX_CONNECTIONS);
});

/**
 * A kept-alive connection that sends one GET at a time and reads its whole (small JSON) answer;
 * `closed` settles with everything the connection ever received.
 */
function open(
  port: number,
): Promise<{ socket: Socket; get: () => Promise<string>; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    let received = '';
    let everything = '';
    let waiting: ((answer: string) => void) | null = null;
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      everything += chunk.toString('latin1');
      if (waiting && received.endsWith('}\n')) {
        const answer = received;
        received = '';
        waiting(answer);
        waiting = null;
      }
    });
    socket.on('error', () => {});
    const closed = new Promise<string>((done) => socket.on('close', () => done(everything)));
    socket.once('connect', () =>
      resolve({
        socket,
        get: () =>
          new Promise((answered) => {
            waiting = answered;
            socket.write('GET /ping HTTP/1.1\r\nHost: tagwarden\r\n\r\n');
          }),
        closed,
      }),
    );
    socket.once('error', reject);
  });
}

it('refuses a connection past the cap while the earlier ones keep working, and takes one again when one closes', async () => {
  const server = boundedServer((_req, res) => send(res, 200, { pong: true }), 2);
  servers.push(server);
  const accepted: Socket[] = [];
  server.on('connection', (socket) => accepted.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const first = await open(port);
  const second = await open(port);
  expect(await first.get()).toMatch(/^HTTP\/1\.1 200 /);
  expect(await second.get()).toMatch(/^HTTP\/1\.1 200 /);

  const third = await open(port);
  third.get().catch(() => {});
  expect(await third.closed).toBe('');
  expect(accepted.length).toBe(2);

  expect(await first.get()).toMatch(/^HTTP\/1\.1 200 /);
  expect(await second.get()).toMatch(/^HTTP\/1\.1 200 /);

  const freed = new Promise((resolve) => accepted[0]!.once('close', resolve));
  first.socket.end();
  await freed;
  const fourth = await open(port);
  expect(await fourth.get()).toMatch(/^HTTP\/1\.1 200 /);
});
