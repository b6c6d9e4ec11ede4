import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';

// The JSON-over-HTTP plumbing `serve` and `agent` share: bounded time and bodies, JSON answers.

/**
 * An HTTP server that cuts slow clients: one whose headers take more than 10 s (a slow-loris drip) or
 * whose whole request takes more than 30 s is answered 408 and closed. Node checks every 2 s, so a
 * connection is cut within about 12 s of opening, not up to 40 (its default check runs every 30 s).
 * At most `maxConnections` are open at once: past it Node closes a new connection unanswered, so a
 * client that opens connections by the thousand cannot exhaust the process's file descriptors.
 */
export function boundedServer(handler: RequestListener, maxConnections: number): Server {
  const server = createServer(
    { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 2_000 },
    handler,
  );
  server.maxConnections = maxConnections;
  return server;
}

/**
 * Reads at most `limit` bytes: the one place a local body's size is enforced. Answers 413 (and
 * returns null) as soon as a body is larger; returns null, after `onAborted`, when the client goes
 * away mid-upload (nothing to answer).
 */
export function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  onAborted: (reason: string) => void = () => {},
): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    refuse(req, res, 413, { error: `body is ${declared} bytes; the limit is ${limit}` });
    return Promise.resolve(null);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        refuse(req, res, 413, { error: `body is larger than the limit of ${limit} bytes` });
        resolve(null);
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks)));
    req.on('error', (error) => {
      onAborted(error.message);
      resolve(null);
    });
    req.on('close', () => {
      if (!req.complete) resolve(null);
    });
  });
}

/** How long a refused connection may keep sending (discarded) before it is cut. */
const LINGER_MS = 2_000;

/**
 * Answers and closes the connection without reading the rest of the body into memory. Node would
 * destroy the socket as soon as the answer is written, and a client still sending its body would
 * then get a reset that can swallow the answer: so our side is closed, what still arrives is
 * discarded, and the socket is cut LINGER_MS later (or when the client closes first).
 */
export function refuse(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const socket = req.socket;
  socket.destroySoon = () => {
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
  res.setHeader('Connection', 'close');
  send(res, status, body);
  req.removeAllListeners('data');
  req.resume();
}

/** Answers JSON; `nosniff`, so no browser reads an answer that echoes input as HTML or script. */
export function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}
