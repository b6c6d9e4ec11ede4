import * as z from 'zod/mini';
import { normalizeTimestamp, quote } from '../core';
import '../zod-english';
import { identifierProblem, ignored, issuesReason, nonEmpty, optionalString, rejected } from './common';
import type { ItemOutcome } from './types';
import { validatedEvent } from './validate';

/**
 * Amazon ECR refused pushes, from the EventBridge event "AWS API Call via CloudTrail" (source
 * `aws.ecr`), which CloudTrail delivers when a trail logs management events in the account and
 * region. A push at an immutable tag is recorded as a `PutImage` call with `errorCode`
 * `ImageTagAlreadyExistsException`; it becomes an event with `action: 'attempt'`. Field names are
 * CloudTrail's record contents and the PutImage request syntax (`repositoryName`, `imageTag`,
 * `registryId`, `imageDigest`, `imageManifest`, `imageManifestMediaType`).
 */

export const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';
export const TAG_EXISTS = 'ImageTagAlreadyExistsException';

const PutImageRequest = z.looseObject({
  repositoryName: z.string(),
  imageTag: optionalString,
  registryId: optionalString,
  imageDigest: optionalString,
  imageManifestMediaType: optionalString,
});

const CloudTrailCall = z.looseObject({
  id: z.string(),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  detail: z.looseObject({
    eventSource: z.string(),
    eventName: z.string(),
    eventTime: optionalString,
    awsRegion: optionalString,
    errorCode: optionalString,
    sourceIPAddress: optionalString,
    userAgent: optionalString,
    recipientAccountId: optionalString,
    userIdentity: z.nullish(z.looseObject({ arn: optionalString, principalId: optionalString })),
    requestParameters: z.nullish(z.looseObject({})),
  }),
});

const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

/** The ECR registry host of an account and region, or the problem with either. */
export function ecrRegistryHost(account: string, region: string): { host: string } | { problem: string } {
  if (!ACCOUNT.test(account))
    return { problem: `account ${quote(account)} is not a 12-digit AWS account id` };
  if (!REGION.test(region)) return { problem: `region ${quote(region)} is not an AWS region name` };
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return { host: `${account}.dkr.ecr.${region}.${suffix}` };
}

/** One "AWS API Call via CloudTrail" event from aws.ecr: a refused PutImage, or ignored. */
export function judgeCloudTrailCall(item: Record<string, unknown>): ItemOutcome {
  const parsed = CloudTrailCall.safeParse(item);
  if (!parsed.success) return rejected(issuesReason(parsed.error));
  const { detail } = parsed.data;
  if (detail.eventSource !== 'ecr.amazonaws.com')
    return ignored(`detail.eventSource ${quote(detail.eventSource)} is not ecr.amazonaws.com`);
  if (detail.eventName !== 'PutImage')
    return ignored(`detail.eventName ${quote(detail.eventName)} is not PutImage`);
  const errorCode = nonEmpty(detail.errorCode);
  if (errorCode === null) return ignored('a PutImage that succeeded (the ECR Image Action event reports it)');
  if (errorCode !== TAG_EXISTS)
    return ignored(`detail.errorCode ${quote(errorCode)} is not ${TAG_EXISTS}: not a refused overwrite`);

  const request = PutImageRequest.safeParse(detail.requestParameters ?? undefined);
  if (!request.success) return rejected(`detail.requestParameters: ${issuesReason(request.error)}`);
  const { repositoryName: repository, imageTag, imageDigest, registryId } = request.data;
  const tag = nonEmpty(imageTag);
  const digest = nonEmpty(imageDigest);
  const problem = identifierProblem(
    { digest, repository, tag },
    {
      digest: 'detail.requestParameters.imageDigest',
      repository: 'detail.requestParameters.repositoryName',
      tag: 'detail.requestParameters.imageTag',
    },
  );
  if (problem) return rejected(problem);
  if (tag === null) return rejected(`detail.requestParameters.imageTag is missing on a refused PutImage`);

  const account = nonEmpty(registryId) ?? nonEmpty(detail.recipientAccountId) ?? parsed.data.account;
  const registry = ecrRegistryHost(account, nonEmpty(detail.awsRegion) ?? parsed.data.region);
  if ('problem' in registry) return rejected(registry.problem);
  const time = nonEmpty(detail.eventTime) ?? parsed.data.time;
  const timestamp = normalizeTimestamp(time);
  if (timestamp === null) return rejected(`detail.eventTime ${quote(time)} is not an RFC 3339 time`);

  return validatedEvent({
    id: parsed.data.id,
    action: 'attempt',
    registryHost: registry.host,
    repository,
    tag,
    digest,
    mediaType: nonEmpty(request.data.imageManifestMediaType),
    timestamp,
    actor: nonEmpty(detail.userIdentity?.arn) ?? nonEmpty(detail.userIdentity?.principalId),
    origin: { sourceIp: nonEmpty(detail.sourceIPAddress), userAgent: nonEmpty(detail.userAgent) },
  });
}
