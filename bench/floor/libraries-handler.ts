// A second cold-start floor, for a figure beside the target: the liveness floor
// plus the libraries the api loads at init: the OpenTelemetry trace SDK (on in
// every deployed function, with ADOT), Powertools Metrics (EMF) and middy. What
// the api costs above this is the vault's own code; what this costs above the
// liveness floor is its libraries. zod is not among them: it loads with the
// first route group or audit record that parses (the api's first audited
// request), not at init.
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

const client = new DynamoDBClient({});
// Referenced so the bundler keeps them, as the api's tracing module does; built only when tracing is on, as there.
const tracing = process.env.OTEL_EXPORTER_OTLP_ENDPOINT
  ? {
      provider: new BasicTracerProvider(),
      context: new AsyncLocalStorageContextManager(),
      propagator: new W3CTraceContextPropagator(),
      batch: BatchSpanProcessor,
    }
  : undefined;
const metrics = new Metrics({ namespace: 'ScaiVaultFloor', serviceName: 'floor' });

export const handler = middy(async () => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    status: 'ok',
    region: await client.config.region(),
    tracing: tracing !== undefined,
    metrics: typeof metrics,
  }),
}));
