import type { Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { idleAgent, idleServe } from '../support/edge-servers';

/**
 * Security: a client that drips its headers a line at a time (slow loris) must not hold a connection
 * of `serve` or the agent open: after 10 s of headers the server answers 408 and closes. The drip here
 * would go on for 45 s (Node's own default lets headers take 60 s), so only the server can end it.
 */
const DRIP_FOR_MS = 45_000;
const DRIP_EVERY_MS = 250;

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Drips header lines until the server closes the connection or DRIP_FOR_MS pass; says which, and what came back. */
function slowLoris(port: number): Promise<{ closedBy: 'server' | 'client'; answer: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let dripped = 0;
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
    });
    socket.write('POST /webhooks/distribution HTTP/1.1\r\nHost: tagwarden\r\n');
    const drip = setInterval(() => {
      dripped += DRIP_EVERY_MS;
      if (dripped >= DRIP_FOR_MS) {
        clearInterval(drip);
        socket.destroy();
        resolve({ closedBy: 'client', answer });
      } else if (!socket.destroyed) socket.write(`X-Drip-${dripped}: 1\r\n`);
    }, DRIP_EVERY_MS);
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(drip);
      resolve({ closedBy: 'server', answer });
    });
  });
}

const servers: Server[] = [];
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

it('serve and the agent close a connection whose headers never end, answering 408', async () => {
  const serve = idleServe();
  const agent = idleAgent();
  servers.push(serve, agent);
  const outcomes = await Promise.all([slowLoris(await listen(serve)), slowLoris(await listen(agent))]);
  for (const outcome of outcomes) {
    expect(outcome.closedBy).toBe('server');
    expect(outcome.answer).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
  }
}, 60_000);
