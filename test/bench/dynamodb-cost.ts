// `npm run bench -- cost`: what the DynamoDB history costs per push, on two mixes of pushes.

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULT_POLICY, type Policy, type RegistryEvent } from '../../shared/core';
import { createHistoryTable, DynamoDbHistoryStore } from '../../shared/history/dynamodb';
import { startDynamoDbLocal } from '../support/dynamodb-local';
import { digestOf } from '../support/events';

/** us-east-1 on-demand list prices, per million requests or units (change them here). */
const PRICE = {
  wru: 0.625,
  rru: 0.125,
  sqsRequest: 0.4,
  lambdaRequest: 0.2,
  lambdaGbSecondArm: 0.0000133334,
};

type Report = (name: string, value: string) => void;

interface Mix {
  name: string;
  policy: Policy;
  /** Pushes applied before counting starts (the tags a mix moves must exist). */
  setup: RegistryEvent[];
  events: RegistryEvent[];
}

function push(i: number, repository: string, tag: string, digest: string, id = `bench-${i}`): RegistryEvent {
  return {
    id,
    action: 'push',
    registryHost: 'registry.example.com',
    repository,
    tag,
    digest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    timestamp: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
    actor: 'ci',
  };
}

/** The bench's first mix: 100 tags pushed 10 times each under the default (alert) policy. */
function currentMix(): Mix {
  const events = Array.from({ length: 1000 }, (_, i) =>
    push(i, 'cost/api', `v${i % 100}`, digestOf((Math.floor(i / 100) * 7 + i) % 3)),
  );
  return { name: 'current mix (100 tags x 10 pushes, alert)', policy: DEFAULT_POLICY, setup: [], events };
}

/**
 * Issue 12's realistic mix, interleaved: 70 % first pushes of new tags, 25 % moves of ten floating
 * tags under `allow`, 5 % overwrites of fifty existing tags under `alert` (one outbox effect each),
 * with ECR's lengths: its registry host, `ecr:<uuid>` ids, an assumed role's ARN as the actor.
 */
function realisticMix(): Mix {
  const policy: Policy = {
    defaults: { action: 'alert', owners: [], bump: false },
    rules: [{ match: { tag: 'latest' }, action: 'allow', owners: [], bump: false }],
  };
  const floating = (n: number) => `mix/floating-${n}`;
  const setup = [
    ...Array.from({ length: 10 }, (_, n) => push(n, floating(n), 'latest', digestOf('f0'), `setup-f${n}`)),
    ...Array.from({ length: 50 }, (_, n) => push(n, 'mix/guarded', `v${n}`, digestOf('g0'), `setup-g${n}`)),
  ];
  let moves = 0;
  let overwrites = 0;
  const events = Array.from({ length: 1000 }, (_, i) => {
    const slot = i % 20;
    const at = 100 + i;
    if (slot < 14) return push(at, `mix/new-${i % 37}`, `build-${i}`, digestOf(`n${i}`));
    if (slot < 19) {
      const n = moves++;
      return push(at, floating(n % 10), 'latest', digestOf(`f${Math.floor(n / 10) + 1}`));
    }
    const n = overwrites++;
    return push(at, 'mix/guarded', `v${n}`, digestOf('g1'));
  });
  const ecr = (event: RegistryEvent, i: number): RegistryEvent => ({
    ...event,
    id: `ecr:${digestOf(event.id).slice(7, 15)}-1f2e-4d3c-8b7a-${digestOf(i).slice(7, 19)}`,
    registryHost: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
    actor: 'arn:aws:sts::123456789012:assumed-role/github-actions-deploy/GitHubActions',
  });
  return {
    name: 'realistic mix (70 % first, 25 % floating moves, 5 % overwrites alerted)',
    policy,
    setup: setup.map(ecr),
    events: events.map(ecr),
  };
}

const READS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand']);
const AV_TYPES = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS']);

/** An attribute value's size as DynamoDB counts it (strings in UTF-8, 3 bytes + 1 per element for maps and lists). */
function valueBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(value).replace(/[^0-9]/g, '').length / 2) + 1;
  if (value instanceof Uint8Array) return value.length;
  if (Array.isArray(value)) return value.reduce((sum: number, v) => sum + 1 + valueBytes(v), 3);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1 && AV_TYPES.has(entries[0]![0])) {
    const [type, inner] = entries[0]!;
    return type === 'N' ? valueBytes(Number(inner)) : valueBytes(inner); // marshalled: unwrap
  }
  return entries.reduce((sum, [name, v]) => sum + 1 + Buffer.byteLength(name) + valueBytes(v), 3);
}

/** The WRU AWS prices a put at: 1 per KB, and as much again for the index when it has the index's key. */
function putWru(item: Record<string, unknown>): number {
  const kb = Math.ceil((valueBytes(item) - 3 - Object.keys(item).length) / 1024);
  return 'gsi1pk' in item ? 2 * kb : kb;
}

/**
 * The WRU AWS documents for a write request: a put by its item's size, doubled inside a transaction
 * (prepare and commit); an update (its size unknown here) as 1 KB. DynamoDB Local's own figure for a
 * transaction does not follow this (4 WRU for one to three small items), so both are shown.
 */
function modelledWru(command: string, input: Record<string, unknown>): number {
  const one = (request: { Put?: { Item: Record<string, unknown> } }) =>
    request.Put ? putWru(request.Put.Item) : 1;
  if (command === 'TransactWriteItemsCommand')
    return (input.TransactItems as { Put?: { Item: Record<string, unknown> } }[]).reduce(
      (sum, item) => sum + 2 * one(item),
      0,
    );
  if (command === 'PutItemCommand') return putWru(input.Item as Record<string, unknown>);
  return 1;
}

/** Sums the capacity DynamoDB reports for every request (`ReturnConsumedCapacity: 'TOTAL'`), and the modelled WRU. */
function countCapacity(client: DynamoDBClient) {
  const counted = { wru: 0, rru: 0, modelledWru: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'TOTAL';
      const command = (context as { commandName?: string }).commandName ?? '';
      const answer = await next(args);
      const consumed = (answer.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
      const list = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) as {
        CapacityUnits?: number;
      }[];
      const units = list.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
      if (READS.has(command)) counted.rru += units;
      else {
        counted.wru += units;
        counted.modelledWru += modelledWru(command, input);
      }
      return answer;
    },
    { step: 'initialize', name: 'countCapacity' },
  );
  return counted;
}

async function measure(client: DynamoDBClient, mix: Mix, table: string, report: Report): Promise<void> {
  await createHistoryTable(client, table);
  const store = new DynamoDbHistoryStore({ client, tableName: table });
  for (const event of mix.setup) await store.apply(event, mix.policy, new Date().toISOString());
  const counted = countCapacity(client);
  const kinds = new Map<string, number>();
  let effects = 0;
  for (const event of mix.events) {
    const result = await store.apply(event, mix.policy, new Date().toISOString());
    kinds.set(result.transition.kind, (kinds.get(result.transition.kind) ?? 0) + 1);
    effects += result.effects.length;
  }
  client.middlewareStack.remove('countCapacity');
  const per = { wru: counted.wru / mix.events.length, rru: counted.rru / mix.events.length };
  const modelled = counted.modelledWru / mix.events.length;
  const dynamoCost = per.wru * PRICE.wru + per.rru * PRICE.rru;
  const modelledCost = modelled * PRICE.wru + per.rru * PRICE.rru;
  // One SendMessage per event (EventBridge → SQS), Receive + Delete per batch of 10; one invocation per
  // batch of 10 at 256 MB arm64, assumed 200 ms per batch (not measured here).
  const sqsCost = (1 + 2 / 10) * PRICE.sqsRequest;
  const lambdaCost = PRICE.lambdaRequest / 10 + (1_000_000 / 10) * 0.2 * 0.25 * PRICE.lambdaGbSecondArm;
  const seen = [...kinds].map(([kind, n]) => `${n} ${kind}`).join(', ');
  report(
    `cost: ${mix.name}: DynamoDB per push (ReturnConsumedCapacity, ${mix.events.length} pushes: ${seen}; ${effects} effects)`,
    `${per.wru.toFixed(2)} WRU, ${per.rru.toFixed(2)} RRU; as AWS prices item sizes ${modelled.toFixed(2)} WRU`,
  );
  report(
    `cost: ${mix.name}: per million pushes (us-east-1 on-demand list prices)`,
    `DynamoDB $${dynamoCost.toFixed(2)} + SQS $${sqsCost.toFixed(2)} + Lambda $${lambdaCost.toFixed(2)} (assumed 200 ms per batch of 10) = $${(dynamoCost + sqsCost + lambdaCost).toFixed(2)} (DynamoDB at the modelled WRU: $${modelledCost.toFixed(2)}, total $${(modelledCost + sqsCost + lambdaCost).toFixed(2)}); EventBridge's AWS-service events are free`,
  );
}

/**
 * Cost per million push events on AWS, from the capacity DynamoDB reports for the requests the
 * store really makes (on DynamoDB Local), and the list prices above.
 */
export async function benchCost(report: Report): Promise<void> {
  const dynamo = await startDynamoDbLocal();
  try {
    await measure(dynamo.client, currentMix(), 'cost', report);
    await measure(dynamo.client, realisticMix(), 'cost-mix', report);
  } finally {
    await dynamo.stop();
  }
}
