import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

/**
 * Stands in for `@smithy/core/checksum` in the Lambda bundles (an esbuild alias, see
 * infra/lambda-bundling.ts). The clients take only `Sha256` (to sign requests) and, for SQS, `Md5`
 * (to check message digests) from it. The SDK's classes are `node:crypto` with a pure JavaScript
 * fallback for runtimes without it, and the module carries CRC32, blob and stream hashers besides;
 * Lambda's Node always has `node:crypto`. The same classes without the fallback; any other name
 * fails the build.
 */
type Secret = string | ArrayBuffer | ArrayBufferView;

const toBuffer = (data: ArrayBuffer | ArrayBufferView): Buffer =>
  ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);

class NodeHash {
  private hash: Hash | Hmac;
  private finished = false;

  constructor(
    readonly digestLength: number,
    private readonly algorithm: 'sha256' | 'md5',
    private readonly secret?: Secret,
  ) {
    this.hash = this.create();
  }

  update(data: string | ArrayBuffer | ArrayBufferView): void {
    if (this.finished) throw new Error('Attempted to update an already finished hash.');
    this.hash.update(typeof data === 'string' ? data : toBuffer(data));
  }

  /** An HMAC is finished by its digest; a plain hash is copied, so it may be updated further. */
  async digest(): Promise<Uint8Array> {
    this.finished = Boolean(this.secret);
    const buf = this.secret ? this.hash.digest() : (this.hash as Hash).copy().digest();
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  reset(): void {
    this.hash = this.create();
    this.finished = false;
  }

  private create(): Hash | Hmac {
    if (!this.secret) return createHash(this.algorithm);
    return createHmac(this.algorithm, typeof this.secret === 'string' ? this.secret : toBuffer(this.secret));
  }
}

export class Sha256 extends NodeHash {
  constructor(secret?: Secret) {
    super(32, 'sha256', secret);
  }
}

export class Md5 extends NodeHash {
  constructor() {
    super(16, 'md5');
  }
}
