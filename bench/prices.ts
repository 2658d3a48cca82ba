// The price table every cost estimate reads (bench/price.bench.ts, docs/performance.md).
//
// Source: the public AWS pricing pages below, us-east-1 list prices, on-demand,
// no free tier. Recorded 2026-11-30 from the prices in effect since DynamoDB's
// on-demand price cut of 1 November 2024; not re-checked online when recorded.
// Check the pages before relying on a figure, and edit this one file.
export const PRICES = {
  region: 'us-east-1',
  recorded: '2026-11-30',
  sources: [
    'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    'https://aws.amazon.com/lambda/pricing/',
    'https://aws.amazon.com/api-gateway/pricing/',
    'https://aws.amazon.com/sqs/pricing/',
    'https://aws.amazon.com/kms/pricing/',
    'https://aws.amazon.com/secrets-manager/pricing/',
  ],
  dynamodb: {
    /** USD per write request unit (on-demand, Standard table class). */
    writeRequestUnit: 0.625 / 1e6,
    /** USD per read request unit (a strongly consistent read of up to 4 KB). */
    readRequestUnit: 0.125 / 1e6,
    /** USD per GB-month stored (Standard table class). */
    storageGbMonth: 0.25,
  },
  lambda: {
    /** USD per GB-second, arm64 (Graviton), first 7.5 billion GB-s a month. */
    arm64GbSecond: 0.0000133334,
    /** USD per request. */
    request: 0.2 / 1e6,
  },
  /** USD per HTTP API request (up to 512 KB), first 300 million a month. */
  httpApiRequest: 1.0 / 1e6,
  /** USD per SQS standard-queue request (each 64 KB chunk). */
  sqsRequest: 0.4 / 1e6,
  /** USD per KMS symmetric request (GenerateDataKey, Decrypt), beyond the 20,000 free a month. */
  kmsRequest: 0.03 / 10_000,
  secretsManager: {
    /** USD per API call (GetSecretValue included). */
    apiCall: 0.05 / 10_000,
    /** USD per secret per month, besides the calls. */
    secretMonth: 0.4,
  },
} as const;
