import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DependencyProbe } from '../../domain/ports/health.js';

/** Readiness of a queue: its attributes can be read. */
export class SqsQueueProbe implements DependencyProbe {
  constructor(
    readonly name: string,
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async check(): Promise<void> {
    await this.client.send(new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ['QueueArn'] }));
  }
}
