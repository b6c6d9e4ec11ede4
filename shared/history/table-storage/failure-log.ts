import { odata, type TableClient } from '@azure/data-tables';
import { TransientError } from '../../core';
import type { FailedRecord, FailureLog } from '../port';
import {
  CHUNK_PARTS,
  type FailureEntity,
  INLINE_PAYLOAD_BYTES,
  messageParts,
  PART_BYTES,
  payloadBytes,
  type Row,
  readParts,
  readText,
  splitBytes,
  spread,
} from './entities';
import { classify, statusOf } from './errors';
import { FAILURES, failureSuffix } from './keys';
import { queryRows } from './service';

/** Failed records in the `failures` partition, newest first (see the layout in keys.ts). */
export class TableFailureLog implements FailureLog {
  constructor(
    private readonly client: TableClient,
    private readonly clock: () => Date,
    private readonly maxAttempts: number,
  ) {}

  /**
   * A record of its own in the `failures` partition. A small payload is a text property; a larger
   * one (bodies go up to 1 MiB) is stored as bytes in chunk rows, written before the record row that
   * names them, so a reader sees a record only once all of it is stored. Bytes, not text: base64 on
   * the wire is ASCII, so no layer can split a multi-byte character (Azurite does, in bodies over 64 KB).
   */
  async recordFailure(record: Omit<FailedRecord, 'id'>): Promise<void> {
    const inline = Buffer.byteLength(record.payload) <= INLINE_PAYLOAD_BYTES;
    const { bytes, encoding } = payloadBytes(record.payload);
    const chunks: Buffer[][] = [];
    if (!inline) {
      const pieces = splitBytes(bytes, PART_BYTES);
      for (let i = 0; i < pieces.length; i += CHUNK_PARTS) chunks.push(pieces.slice(i, i + CHUNK_PARTS));
    }
    const received = Date.parse(record.receivedAt);
    for (let attempt = 1; ; attempt++) {
      const id = this.clock().getTime() * 1000 + Math.floor(Math.random() * 1000);
      const suffix = failureSuffix(Number.isNaN(received) ? id / 1000 : received, id);
      try {
        // Create, never upsert: a colliding id fails here before it can touch another record's rows.
        for (const [n, chunk] of chunks.entries()) {
          await this.client.createEntity({
            partitionKey: FAILURES,
            rowKey: `c|${suffix}|${String(n).padStart(4, '0')}`,
            ...spread('bytes', chunk),
          });
        }
        await this.client.createEntity({
          partitionKey: FAILURES,
          rowKey: `r|${suffix}`,
          id,
          source: record.source,
          ...messageParts('reason', record.reason),
          receivedAt: record.receivedAt,
          ...(inline
            ? { payload: record.payload }
            : { payloadChunks: chunks.length, payloadBytes: bytes.length, payloadEncoding: encoding }),
        });
        return;
      } catch (error) {
        if (statusOf(error) !== 409 || attempt >= this.maxAttempts)
          throw classify(error, `record a failed ${record.source} body`);
      }
    }
  }

  async failures(limit: number): Promise<FailedRecord[]> {
    const heads: FailureEntity[] = [];
    const pages = this.client
      .listEntities<FailureEntity>({
        queryOptions: {
          filter: odata`PartitionKey eq ${FAILURES} and RowKey ge ${'r|'} and RowKey lt ${'r}'}`,
        },
      })
      .byPage({ maxPageSize: Math.min(Math.max(limit, 1), 1000) });
    try {
      for await (const page of pages) {
        heads.push(...page);
        if (heads.length >= limit) break;
      }
    } catch (error) {
      throw classify(error, 'list failed records');
    }
    const records: FailedRecord[] = [];
    for (const head of heads.slice(0, limit)) {
      records.push({
        id: head.id,
        source: head.source,
        reason: readText(head, 'reason') ?? '',
        payload: head.payloadChunks ? await this.chunkedPayload(head) : (head.payload ?? ''),
        receivedAt: head.receivedAt,
      });
    }
    return records;
  }

  private async chunkedPayload(head: FailureEntity): Promise<string> {
    const suffix = head.rowKey.slice('r|'.length);
    const chunks = await queryRows<Row>(
      this.client,
      `read the payload of failed record ${head.id}`,
      odata`PartitionKey eq ${FAILURES} and RowKey ge ${`c|${suffix}|`} and RowKey lt ${`c|${suffix}}`}`,
    );
    const bytes = Buffer.concat(chunks.flatMap((c) => readParts<Uint8Array>(c, 'bytes')));
    if (chunks.length !== head.payloadChunks || bytes.length !== head.payloadBytes)
      throw new TransientError(
        `failed record ${head.id}: found ${chunks.length} of ${head.payloadChunks} payload chunks, ${bytes.length} of ${head.payloadBytes} bytes`,
      );
    return bytes.toString(head.payloadEncoding ?? 'utf8');
  }
}
