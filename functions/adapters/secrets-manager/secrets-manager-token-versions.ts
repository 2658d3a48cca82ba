import { secretsManagerSdk, type SecretsManagerSender } from './secrets-manager-sdk.js';
import type { TokenVersions, TokenVersionSource } from '../../domain/ports/auth.js';

/** A token kept in Secrets Manager: its AWSCURRENT version and, once rotated, its AWSPREVIOUS one. */
export class SecretsManagerTokenVersions implements TokenVersionSource {
  constructor(
    private readonly client: SecretsManagerSender,
    private readonly secretId: string,
  ) {}

  async read(): Promise<TokenVersions> {
    const [current, previous] = await Promise.all([this.stage('AWSCURRENT'), this.stage('AWSPREVIOUS').catch(notFoundAsUndefined)]);
    if (!current?.SecretString?.trim()) throw new Error(`the secret ${this.secretId} has no current token`);
    const previousToken = previous?.SecretString?.trim();
    return { current: current.SecretString.trim(), previous: previousToken || undefined, currentSince: current.CreatedDate };
  }

  private async stage(versionStage: string) {
    const { GetSecretValueCommand } = await secretsManagerSdk();
    return this.client.send(new GetSecretValueCommand({ SecretId: this.secretId, VersionStage: versionStage }));
  }
}

/** A secret never rotated has no AWSPREVIOUS version. */
const notFoundAsUndefined = (error: unknown): undefined => {
  if ((error as Error | undefined)?.name === 'ResourceNotFoundException') return undefined;
  throw error;
};
