import { sqsSdk, type SqsSender } from './sqs-sdk.js';
import type { DependencyProbe } from '../../domain/ports/health.js';

/** Readiness of a queue: its attributes can be read. */
export class SqsQueueProbe implements DependencyProbe {
  constructor(
    readonly name: string,
    private readonly client: SqsSender,
    private readonly queueUrl: string,
  ) {}

  async check(): Promise<void> {
    const { GetQueueAttributesCommand } = await sqsSdk();
    await this.client.send(new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ['QueueArn'] }));
  }
}
