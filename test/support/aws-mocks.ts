import { createHash } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

/** The OCI digest of a manifest text, as ECR computes it. */
export const manifestDigest = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

type ImageId = { imageTag?: string; imageDigest?: string };

/**
 * ECR's BatchGetImage as a mock serves it: a tag resolves to the digest `digestOfTag` gives (none:
 * ImageNotFound), a digest to the manifest among `manifests` with that digest, with `mediaType`.
 */
export function batchGetImage(
  digestOfTag: (tag: string) => string | undefined,
  manifests: readonly string[],
  mediaType: string,
) {
  return (input: { imageIds: ImageId[] }) => {
    const id = input.imageIds[0]!;
    if (id.imageTag) {
      const digest = digestOfTag(id.imageTag);
      return digest
        ? { images: [{ imageId: { imageTag: id.imageTag, imageDigest: digest } }], failures: [] }
        : { images: [], failures: [{ imageId: id, failureCode: 'ImageNotFound', failureReason: 'gone' }] };
    }
    const text = manifests.find((m) => manifestDigest(m) === id.imageDigest);
    return text
      ? {
          images: [
            {
              imageId: { imageDigest: id.imageDigest },
              imageManifest: text,
              imageManifestMediaType: mediaType,
            },
          ],
        }
      : { images: [], failures: [{ imageId: id, failureCode: 'ImageNotFound' }] };
  };
}

/** ECR's PutImage as a mock serves it when tags are mutable: the image is stored under its digest. */
export const putImage = (input: { imageManifest: string }) => ({
  image: { imageId: { imageDigest: manifestDigest(input.imageManifest) } },
});

/** Secrets Manager (mocked) serving the Tagwarden secret `arn` with this JSON, as the stack's secret holds it. */
export function secretsManagerHolding(region: string, arn: string, secret: unknown): SecretsManagerClient {
  const client = new SecretsManagerClient({
    region,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  mockClient(client)
    .on(GetSecretValueCommand, { SecretId: arn })
    .resolves({ SecretString: JSON.stringify(secret) });
  return client;
}
