import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyBodySignature,
} from '../../shared/contracts/cluster-bump/payload';
import { CLUSTER_HEADER, DriftReport } from '../../shared/contracts/drift-report/payload';

/**
 * A loopback stand-in for Tagwarden's `POST /webhooks/agent`: verifies each report's signature with
 * the cluster secret, its timestamp and cluster headers and its schema, and keeps the reports it
 * accepted. `failNext(status)` answers the next report with that status instead.
 */
export interface DriftReceiver {
  url: string;
  reports: DriftReport[];
  /** Requests refused (bad signature, headers or body), with the reason. */
  refused: string[];
  paths: string[];
  failNext(status: number): void;
  close(): Promise<void>;
}

export async function startDriftReceiver(secret: string): Promise<DriftReceiver> {
  const reports: DriftReport[] = [];
  const refused: string[] = [];
  const paths: string[] = [];
  let failures: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      paths.push(req.url ?? '');
      const body = Buffer.concat(chunks);
      const refuse = (reason: string) => {
        refused.push(reason);
        res.writeHead(401).end(reason);
      };
      const failure = failures.shift();
      if (failure !== undefined) return void res.writeHead(failure).end('injected failure');
      const signature = verifyBodySignature(
        secret,
        body,
        req.headers[SIGNATURE_HEADER.toLowerCase()] as string,
      );
      if (!signature.ok) return refuse(signature.reason);
      const parsed = DriftReport.safeParse(JSON.parse(body.toString('utf8')));
      if (!parsed.success) return refuse(`bad report: ${parsed.error.issues[0]?.message}`);
      if (req.headers[TIMESTAMP_HEADER.toLowerCase()] !== parsed.data.timestamp)
        return refuse('timestamp header');
      if (req.headers[CLUSTER_HEADER.toLowerCase()] !== parsed.data.cluster) return refuse('cluster header');
      reports.push(parsed.data);
      res.writeHead(202, { 'Content-Type': 'application/json' }).end('{"status":"accepted"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reports,
    refused,
    paths,
    failNext(status) {
      failures = [...failures, status];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
