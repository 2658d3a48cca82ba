// CDK app: builds the Lambda bundles, then defines the stateful and stateless stacks.
// `npx cdk synth` runs this through tsx and needs no network or credentials.
import { App } from 'aws-cdk-lib';
import { StatefulStack } from '../lib/stateful-stack.js';
import { StatelessStack } from '../lib/stateless-stack.js';
import { buildFunctions } from '../scripts/build.js';

await buildFunctions();

const app = new App();
const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };

const stateful = new StatefulStack(app, 'ScaiVaultStateful', {
  env,
  description: 'ScaiVault stateful resources: KMS key, tables, queues, audit bucket, root token',
  terminationProtection: true,
});

new StatelessStack(app, 'ScaiVaultStateless', {
  env,
  description: 'ScaiVault functions and HTTP API',
  key: stateful.key,
  stateTable: stateful.stateTable,
  metricsTable: stateful.metricsTable,
  rotationQueue: stateful.rotationQueue,
  webhookQueue: stateful.webhookQueue,
  auditBucket: stateful.auditBucket,
  rootTokenSecret: stateful.rootTokenSecret,
});
