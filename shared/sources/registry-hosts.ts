/**
 * Which source may report which registry host. A cloud registry's hosts are reported only by that
 * registry's own source, so a source that can be reached by others (a generic `distribution`
 * webhook, say) cannot write history for an ECR, ACR, GAR, GHCR or Docker Hub tag. A source bound
 * to hosts in the config (`sources.<name>.registries`) reports those hosts and no other. Pure.
 */

interface CloudRegistry {
  readonly name: string;
  readonly hosts: RegExp;
  readonly sources: readonly string[];
}

const CLOUD_REGISTRIES: readonly CloudRegistry[] = [
  {
    name: 'Amazon ECR',
    hosts: /^[^.]+\.dkr\.ecr(-fips)?\.[^.]+\.amazonaws\.com(\.cn)?$/,
    sources: ['ecr'],
  },
  { name: 'Azure Container Registry', hosts: /\.azurecr\.(io|cn|us)$/, sources: ['acr', 'acr-eventgrid'] },
  { name: 'Google Artifact Registry', hosts: /-docker\.pkg\.dev$/, sources: ['gar'] },
  { name: 'GitHub Container Registry', hosts: /^ghcr\.io$/, sources: ['ghcr'] },
  { name: 'Docker Hub', hosts: /^((index|registry-1)\.)?docker\.io$/, sources: ['dockerhub'] },
];

const WITH_PORT = /^(\[[^\]]*\]|[^:]*):\d+$/;

/** `host[:port]` lower-cased, without the port. */
function hostName(host: string): string {
  const lower = host.toLowerCase();
  return lower.startsWith('[') ? lower.slice(0, lower.indexOf(']') + 1) : lower.replace(/:\d+$/, '');
}

/**
 * Why `source` may not report an event for `host`, or null when it may. With `registries` set, the
 * host (and port, when one is listed) must be one of them; without, a cloud registry's host must
 * come from its own source.
 */
export function hostRefusal(source: string, host: string, registries?: readonly string[]): string | null {
  if (registries !== undefined) {
    const bound = registries.some((allowed) =>
      WITH_PORT.test(allowed)
        ? allowed.toLowerCase() === host.toLowerCase()
        : allowed.toLowerCase() === hostName(host),
    );
    return bound
      ? null
      : `registry host "${host.slice(0, 100)}" is not one this source is bound to (sources.${source}.registries: ${registries.join(', ')})`;
  }
  const cloud = CLOUD_REGISTRIES.find((registry) => registry.hosts.test(hostName(host)));
  if (!cloud || cloud.sources.includes(source)) return null;
  return `registry host "${host.slice(0, 100)}" is ${cloud.name}; its events are accepted only from ${cloud.sources.join(' or ')}, not from ${source}`;
}
