import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { SIGNATURE_HEADER, verifyBodySignature } from '../../shared/contracts/cluster-bump/payload';

export interface ReceivedBump {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface ClusterReceiver {
  url: string;
  /** Calls whose signature verified against the secret. */
  calls: ReceivedBump[];
  /** Calls refused because the signature was missing or wrong. */
  refused: string[];
  close(): Promise<void>;
}

/**
 * A cluster endpoint (format tagwarden) on 127.0.0.1: verifies `X-Tagwarden-Signature` over the raw
 * body with `secret`, as the agent does, and records the calls it accepts (200) and refuses (401).
 */
export async function startClusterReceiver(secret: string): Promise<ClusterReceiver> {
  const calls: ReceivedBump[] = [];
  const refused: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const auth = verifyBodySignature(secret, body, req.headers[SIGNATURE_HEADER.toLowerCase()] as string);
      if (!auth.ok) {
        refused.push(auth.reason);
        res.writeHead(401).end(auth.reason);
        return;
      }
      calls.push({ headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/bump`,
    calls,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
