/**
 * The post-deploy steps of docs/aws.md, read from the page itself so the rehearsal runs what a user
 * copies: the shell block that fills the secret, and the payload of the sweep's by-hand invocation.
 */
export interface PostDeploySteps {
  fill: { script: string; secretId: string };
  sweepPayload: unknown;
  /** The "Remove" section (whitespace folded): what `cdk destroy` keeps. */
  remove: string;
}

/** The one sh block of a page that writes the secret (`aws secretsmanager put-secret-value`). */
export function secretWriteBlock(page: string, name: string): string {
  const blocks = [...page.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const found = blocks.filter((b) => b.includes('aws secretsmanager put-secret-value'));
  if (found.length !== 1)
    throw new Error(
      `${name} has ${found.length} sh blocks with \`aws secretsmanager put-secret-value\`, not one`,
    );
  return found[0]!;
}

export function postDeploySteps(page: string): PostDeploySteps {
  const script = secretWriteBlock(page, 'docs/aws.md');
  const secretId = /put-secret-value --secret-id (\S+)/.exec(script)?.[1];
  if (!secretId) throw new Error('the fill command names no --secret-id');
  const payload = /aws lambda invoke --function-name \S+ --payload '([^']*)'/.exec(page)?.[1];
  if (payload === undefined)
    throw new Error("docs/aws.md has no `aws lambda invoke … --payload '…'` for the sweep");
  const remove = /\n## Remove\n([\s\S]*?)(?:\n## |$)/.exec(page)?.[1];
  if (!remove) throw new Error('docs/aws.md has no "## Remove" section');
  return {
    fill: { script, secretId },
    sweepPayload: JSON.parse(payload),
    remove: remove.replace(/\s+/g, ' '),
  };
}
