import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  head: string;
  body: string;
  /** Request body bytes the client managed to write before the server answered or closed. */
  written: number;
}

/**
 * Speaks HTTP/1.1 over a bare socket, for requests fetch will not send (a Content-Length with no body,
 * a chunked body that never ends). `head` is the request line and headers without the blank line;
 * `chunks` (if given) are written as a chunked body until the server answers or closes.
 */
export function rawRequest(
  port: number,
  head: string,
  options: { chunks?: { size: number; count: number }; timeoutMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let written = 0;
    let answered = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `no complete answer within ${options.timeoutMs ?? 10_000} ms; got ${received.slice(0, 200)}`,
        ),
      );
    }, options.timeoutMs ?? 10_000);
    const finish = () => {
      clearTimeout(timer);
      const [headPart = '', ...rest] = received.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headPart)?.[1] ?? Number.NaN);
      socket.destroy();
      resolve({ status, head: headPart, body: rest.join('\r\n\r\n'), written });
    };
    const complete = () => {
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(received.slice(0, end))?.[1] ?? Number.NaN);
      return Number.isFinite(length) && Buffer.byteLength(received.slice(end + 4)) >= length;
    };
    socket.on('data', (data) => {
      received += data.toString('latin1');
      answered = true;
      if (complete()) finish();
    });
    socket.on('close', () => {
      if (received !== '') finish();
    });
    socket.on('error', () => {
      // A server that answers early and closes may reset a socket still being written to.
      if (received !== '') finish();
    });
    socket.on('connect', () => {
      socket.write(`${head}\r\n\r\n`);
      const chunks = options.chunks;
      if (!chunks) return;
      const payload = Buffer.alloc(chunks.size, 0x20);
      let sent = 0;
      const pump = () => {
        while (!answered && !socket.destroyed && sent < chunks.count) {
          sent += 1;
          written += payload.length;
          const more =
            socket.write(`${payload.length.toString(16)}\r\n`) &&
            socket.write(payload) &&
            socket.write('\r\n');
          if (!more) {
            socket.once('drain', pump);
            return;
          }
        }
        if (!answered && !socket.destroyed && sent >= chunks.count) socket.write('0\r\n\r\n');
      };
      pump();
    });
  });
}
