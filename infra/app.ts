import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { propsFromContext, TagwardenStack } from './tagwarden-stack';

// `cdk deploy` with no props: context `repositories` (comma-separated), `policyFile` and
// `secretName` are optional (cdk.json or -c). No account or region is pinned: the stack is
// environment-agnostic, so `cdk synth` runs offline without credentials.
const app = new App();
try {
  new TagwardenStack(app, 'Tagwarden', {
    description: 'Tagwarden: guards container image tags (ECR events → SQS → Lambda, DynamoDB history)',
    ...propsFromContext(app.node),
  });
} catch (error) {
  // A bad -c value, policy file or environment size: the reason in one line, not a stack trace.
  process.stderr.write(`error: ${(error as Error).message}\n`);
  process.exit(1);
}
// cdk-nag 3: a policy-validation plugin; a finding fails synthesis unless acknowledged with a reason
// (Validations.of(construct).acknowledge). The reasons are written into the template's metadata.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
app.synth();
