import { App, CfnOutput, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readPolicyFile, TagwardenStack } from './tagwarden-stack';

// `cdk deploy` with no props: context `policyFile` and `repositories` (comma-separated) are optional.
const app = new App();
const repositories = String(app.node.tryGetContext('repositories') ?? '')
  .split(',')
  .map((r) => r.trim())
  .filter(Boolean);
const stack = new TagwardenStack(app, 'Tagwarden', {
  policy: readPolicyFile(app.node.tryGetContext('policyFile')),
  repositories,
});
new CfnOutput(stack, 'HistoryTable', { value: stack.table.tableName });
new CfnOutput(stack, 'Queue', { value: stack.queue.queueUrl });
Validations.of(app).addPlugins(new AwsSolutionsChecks());
app.synth();
