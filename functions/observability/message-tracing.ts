import type { Attributes, TextMapGetter } from '@opentelemetry/api';
import type { SQSRecord } from 'aws-lambda';
import { runInSpan, type Tracing } from './tracing.js';

const attributeGetter: TextMapGetter<SQSRecord['messageAttributes']> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key]?.stringValue,
};

/**
 * Runs `work` in a SERVER span that continues the trace the message carries
 * (its `traceparent` message attribute): a job continues the trace of the
 * request that caused it. `resultAttributes` names what the result was.
 */
export const withMessageSpan = async <T>(
  tracing: Tracing,
  name: string,
  record: SQSRecord,
  attributes: Attributes,
  work: () => Promise<T>,
  resultAttributes: (result: T) => Attributes = () => ({}),
): Promise<T> => {
  if (!tracing.enabled) return work();
  const parent = tracing.extract(record.messageAttributes ?? {}, attributeGetter);
  const started = tracing.startServerSpan(name, parent, {
    'messaging.system': 'aws_sqs',
    'messaging.operation.type': 'process',
    'messaging.message.id': record.messageId,
    ...attributes,
  });
  return runInSpan(started, work, (result, span) => span.setAttributes(resultAttributes(result)));
};
