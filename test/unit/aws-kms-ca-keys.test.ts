import { generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { AwsKmsCaKeys } from '../../functions/adapters/kms/aws-kms-ca-keys.js';
import { signCertificate } from '../../functions/domain/pki/certificate-builder.js';
import { InstrumentedCaKeys } from '../../functions/observability/instrumented-ca-keys.js';
import type { KeyType } from '../../functions/domain/ports/pki.js';
import { fakeAwsClient } from './support/fake-aws-client.js';

const ARN = 'arn:aws:kms:eu-west-1:111122223333:key/ca';

/** A KMS stand-in at the send boundary whose Sign really signs (DER, as KMS answers) with a key only it holds. */
const kmsWith = (keyType: KeyType) => {
  const { privateKey, publicKey } = keyType.startsWith('ec-')
    ? generateKeyPairSync('ec', { namedCurve: keyType === 'ec-p256' ? 'prime256v1' : 'secp384r1' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const fake = fakeAwsClient<KMSClient>(({ name, input }) => {
    if (name === 'CreateKeyCommand') return { KeyMetadata: { Arn: ARN, KeyId: 'ca' } };
    if (name === 'GetPublicKeyCommand') return { PublicKey: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })) };
    if (name === 'SignCommand') {
      const hash = keyType === 'ec-p384' ? 'sha384' : 'sha256';
      const message = Buffer.from(input.Message as Uint8Array);
      if (input.MessageType === 'DIGEST') {
        return { Signature: new Uint8Array(sign(null, message, { key: privateKey, dsaEncoding: 'der' })) };
      }
      return { Signature: new Uint8Array(sign(hash, message, { key: privateKey, dsaEncoding: 'der' })) };
    }
    throw new Error(`unexpected ${name}`);
  });
  return { ...fake, publicKey };
};

describe('AwsKmsCaKeys', () => {
  it.each(['ec-p256', 'ec-p384', 'rsa-2048'] as const)('creates a SIGN_VERIFY key and signs a certificate that verifies (%s)', async (keyType) => {
    const { client, sent, publicKey } = kmsWith(keyType);
    const observed: string[] = [];
    const keys = new InstrumentedCaKeys(new AwsKmsCaKeys(client), (operation, seconds, failed) => observed.push(`${operation}:${failed}:${seconds >= 0}`));
    const managed = await keys.createKey(keyType, 'test CA');
    expect(managed.keyRef).toBe(ARN);
    expect(sent[0]).toMatchObject({ name: 'CreateKeyCommand', input: { KeyUsage: 'SIGN_VERIFY' } });
    const pem = await signCertificate(
      {
        serial: '0102030405060708',
        subject: 'CN=KMS Root',
        publicKeySpki: managed.publicKeySpki,
        notBefore: new Date(),
        notAfter: new Date(Date.now() + 86_400_000),
        keyUsages: ['keyCertSign'],
        isCa: true,
      },
      { certificatePem: null, signer: keys.signer(managed.keyRef, keyType) },
    );
    expect(new X509Certificate(pem).verify(publicKey)).toBe(true);
    const signCall = sent.find((command) => command.name === 'SignCommand');
    expect(signCall?.input).toMatchObject({
      KeyId: ARN,
      MessageType: 'RAW',
      SigningAlgorithm: keyType === 'ec-p384' ? 'ECDSA_SHA_384' : keyType === 'ec-p256' ? 'ECDSA_SHA_256' : 'RSASSA_PKCS1_V1_5_SHA_256',
    });
    expect(observed).toEqual(['sign:false:true']);
  });

  it('records a failed Sign as a failed sign call', async () => {
    const { client } = fakeAwsClient<KMSClient>(() => {
      throw Object.assign(new Error('disabled'), { name: 'DisabledException' });
    });
    const observed: boolean[] = [];
    const keys = new InstrumentedCaKeys(new AwsKmsCaKeys(client), (_operation, _seconds, failed) => observed.push(failed));
    await expect(keys.signer(ARN, 'ec-p256').sign(new Uint8Array([1, 2, 3]))).rejects.toThrow('disabled');
    expect(observed).toEqual([true]);
  });
});
