import type { IncomingMessage, ServerResponse } from 'node:http';

// The JSON-over-HTTP plumbing `serve` and `agent` share: bounded bodies, JSON answers.

/** Reads at most `limit` bytes; answers 413 (and returns null) as soon as a body is larger. */
export function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    tooLarge(req, res, `body is ${declared} bytes; the limit is ${limit}`);
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        tooLarge(req, res, `body is larger than the limit of ${limit} bytes`);
        resolve(null);
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function tooLarge(req: IncomingMessage, res: ServerResponse, reason: string): void {
  if (res.headersSent) return;
  res.setHeader('Connection', 'close');
  send(res, 413, { error: reason });
  // Stop reading what is left; the connection closes after the answer.
  req.removeAllListeners('data');
  req.resume();
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
