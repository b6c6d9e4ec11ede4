/**
 * Stands in for `mnemonist/lru-cache` in the Lambda bundles (an esbuild alias, see
 * infra/lambda-bundling.ts). DynamoDB's client builds an endpoint-discovery cache on it whether or
 * not discovery is on (it is off unless AWS_ENABLE_ENDPOINT_DISCOVERY says otherwise), and mnemonist
 * brings about 7 KB to each DynamoDB bundle. The few calls that cache makes, over a Map (which keeps
 * insertion order: the first key is the least recently used).
 */
export default class LRUCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** The value without making it the most recently used. */
  peek(key: K): V | undefined {
    return this.entries.get(key);
  }

  get(key: K): V | undefined {
    if (!this.entries.has(key)) return undefined;
    const value = this.entries.get(key) as V;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
  }

  clear(): void {
    this.entries.clear();
  }
}
