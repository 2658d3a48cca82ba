import { sqsSdk, type SqsSender } from './sqs-sdk.js';

/** When a received message becomes visible again: how a worker schedules its own retry. */
export class SqsMessageVisibility {
  constructor(
    private readonly client: SqsSender,
    private readonly queueUrl: string,
  ) {}

  async delay(receiptHandle: string, seconds: number): Promise<void> {
    const { ChangeMessageVisibilityCommand } = await sqsSdk();
    await this.client.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
  }
}
