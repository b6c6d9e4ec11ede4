import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { TransientError } from '../../core';
import type { FailedRecord, FailureLog } from '../port';
import { queryAll } from './query';

/** A payload up to this many bytes is an attribute of the record; a larger one goes in chunk items. */
export const INLINE_PAYLOAD_BYTES = 300_000;
/** Bytes per chunk item: well under DynamoDB's 400 KB item limit. */
const CHUNK_BYTES = 300_000;

interface FailureItem extends FailedRecord {
  pk: string;
  sk: string;
  payloadChunks?: number;
  payloadBytes?: number;
}

/**
 * Failed records in the `FAILURE` partition, newest first. A small payload is an attribute; a larger
 * one (bodies go up to 1 MiB, over DynamoDB's 400 KB item limit) is stored as bytes in chunk items
 * under `FAILURE#<id>`, written in the same transaction as the record: all of it, or nothing.
 */
export class DynamoDbFailureLog implements FailureLog {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async recordFailure(record: Omit<FailedRecord, 'id'>): Promise<void> {
    const id = Date.parse(record.receivedAt) * 1000 + Math.floor(Math.random() * 1000);
    const bytes = Buffer.from(record.payload, 'utf8');
    const chunks: Buffer[] = [];
    if (bytes.length > INLINE_PAYLOAD_BYTES)
      for (let at = 0; at < bytes.length; at += CHUNK_BYTES)
        chunks.push(bytes.subarray(at, at + CHUNK_BYTES));
    const head = { pk: 'FAILURE', sk: `${record.receivedAt}#${id}`, id, ...record };
    const item = chunks.length
      ? { ...head, payload: '', payloadChunks: chunks.length, payloadBytes: bytes.length }
      : head;
    await this.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          ...chunks.map((chunk, n) => ({
            Put: {
              TableName: this.table,
              Item: { pk: chunkKey(id), sk: `CHUNK#${String(n).padStart(4, '0')}`, bytes: chunk },
            },
          })),
          { Put: { TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
        ],
      }),
    );
  }

  async failures(limit: number): Promise<FailedRecord[]> {
    const items = await queryAll<FailureItem>(
      this.doc,
      this.table,
      {
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'FAILURE' },
        ScanIndexForward: false,
        ConsistentRead: true,
      },
      limit,
    );
    const records: FailedRecord[] = [];
    for (const { id, source, reason, payload, receivedAt, ...item } of items)
      records.push({
        id,
        source,
        reason,
        payload: item.payloadChunks
          ? await this.chunkedPayload(id, item.payloadChunks, item.payloadBytes)
          : payload,
        receivedAt,
      });
    return records;
  }

  private async chunkedPayload(id: number, count: number, size: number | undefined): Promise<string> {
    const chunks = await queryAll<{ bytes: Uint8Array }>(this.doc, this.table, {
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': chunkKey(id) },
      ConsistentRead: true,
    });
    const bytes = Buffer.concat(chunks.map((c) => c.bytes));
    if (chunks.length !== count || bytes.length !== size)
      throw new TransientError(
        `failed record ${id}: found ${chunks.length} of ${count} payload chunks, ${bytes.length} of ${size} bytes`,
      );
    return bytes.toString('utf8');
  }
}

function chunkKey(id: number): string {
  return `FAILURE#${id}`;
}
