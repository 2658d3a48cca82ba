import type { RotatingSecret, SecretVersionStages } from '../../domain/ports/auth.js';
import { secretsManagerSdk, type SecretsManagerSender } from './secrets-manager-sdk.js';

/** One secret as its rotation function sees it, through DescribeSecret, GetSecretValue, PutSecretValue and UpdateSecretVersionStage. */
export class SecretsManagerRotatingSecret implements RotatingSecret {
  constructor(
    private readonly client: SecretsManagerSender,
    private readonly secretId: string,
  ) {}

  async describe(): Promise<SecretVersionStages> {
    const { DescribeSecretCommand } = await secretsManagerSdk();
    const secret = await this.client.send(new DescribeSecretCommand({ SecretId: this.secretId }));
    return { rotationEnabled: secret.RotationEnabled === true, versions: secret.VersionIdsToStages ?? {} };
  }

  async readVersion(versionId: string, stage: string): Promise<string | undefined> {
    const { GetSecretValueCommand } = await secretsManagerSdk();
    try {
      const version = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId, VersionId: versionId, VersionStage: stage }));
      return version.SecretString;
    } catch (error) {
      if ((error as Error | undefined)?.name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  }

  async putPending(versionId: string, value: string): Promise<void> {
    const { PutSecretValueCommand } = await secretsManagerSdk();
    await this.client.send(
      new PutSecretValueCommand({ SecretId: this.secretId, ClientRequestToken: versionId, SecretString: value, VersionStages: ['AWSPENDING'] }),
    );
  }

  async promote(versionId: string, fromVersionId: string | undefined): Promise<void> {
    const { UpdateSecretVersionStageCommand } = await secretsManagerSdk();
    await this.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: this.secretId,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: versionId,
        RemoveFromVersionId: fromVersionId,
      }),
    );
  }
}
