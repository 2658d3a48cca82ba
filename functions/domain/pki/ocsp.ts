// An RFC 6960 OCSP responder, signed by the issuing CA itself, built with
// @peculiar/asn1-ocsp and asn1-schema.
import { createHash } from 'node:crypto';
import type { CaSigner, StoredCertificate } from '../ports/pki.js';
import { loadX509, signingParams } from './x509.js';

const SHA1 = '1.3.14.3.2.26';
const SHA256 = '2.16.840.1.101.3.4.2.1';
const HASHES: Readonly<Record<string, string>> = { [SHA1]: 'sha1', [SHA256]: 'sha256' };
/** How long a response may be cached. */
const VALIDITY_MS = 3600_000;

export type OcspLookup = (serial: string) => Promise<StoredCertificate | undefined>;

const loadAsn1 = async () => {
  const [schema, ocsp, x509asn] = await Promise.all([import('@peculiar/asn1-schema'), import('@peculiar/asn1-ocsp'), import('@peculiar/asn1-x509')]);
  return { schema, ocsp, x509asn };
};

const errorResponse = async (status: number): Promise<Uint8Array> => {
  const { schema, ocsp } = await loadAsn1();
  return new Uint8Array(schema.AsnConvert.serialize(new ocsp.OCSPResponse({ responseStatus: status })));
};

/** The DER OCSP response to a DER request, for certificates of the CA whose certificate and signer are given. */
export const ocspRespond = async (requestDer: Uint8Array, caCertificatePem: string, signer: CaSigner, lookup: OcspLookup, now: Date): Promise<Uint8Array> => {
  const { schema, ocsp, x509asn } = await loadAsn1();
  let request: InstanceType<typeof ocsp.OCSPRequest>;
  try {
    request = schema.AsnConvert.parse(requestDer, ocsp.OCSPRequest);
  } catch {
    return errorResponse(ocsp.OCSPResponseStatus.malformedRequest);
  }
  const x509 = await loadX509();
  const caCertificate = new x509.X509Certificate(caCertificatePem);
  const spki = schema.AsnConvert.parse(caCertificate.publicKey.rawData, x509asn.SubjectPublicKeyInfo);
  const keyBits = Buffer.from(spki.subjectPublicKey);
  const responses = [];
  for (const { reqCert } of request.tbsRequest.requestList) {
    const hash = HASHES[reqCert.hashAlgorithm.algorithm];
    const ours = hash !== undefined && createHash(hash).update(keyBits).digest().equals(Buffer.from(reqCert.issuerKeyHash.buffer));
    const serial = Buffer.from(reqCert.serialNumber)
      .toString('hex')
      .replace(/^(00)+(?=[89a-f])/, '');
    const stored = ours ? await lookup(serial) : undefined;
    const certStatus = !stored
      ? new ocsp.CertStatus({ unknown: null })
      : stored.state === 'revoked'
        ? new ocsp.CertStatus({
            revoked: new ocsp.RevokedInfo({
              revocationTime: new Date(stored.revokedAt ?? now),
              revocationReason: new x509asn.CRLReason(stored.revocationReason ?? 0),
            }),
          })
        : new ocsp.CertStatus({ good: null });
    responses.push(new ocsp.SingleResponse({ certID: reqCert, certStatus, thisUpdate: now, nextUpdate: new Date(now.getTime() + VALIDITY_MS) }));
  }
  const nonce = request.tbsRequest.requestExtensions?.find((extension) => extension.extnID === ocsp.id_pkix_ocsp_nonce);
  const tbs = new ocsp.ResponseData({
    responderID: new ocsp.ResponderID({ byKey: new schema.OctetString(createHash('sha1').update(keyBits).digest()) }),
    producedAt: now,
    responses,
    responseExtensions: nonce ? [nonce] : undefined,
  });
  const basic = await signBasicResponse(x509, schema, ocsp, tbs, signer);
  const response = new ocsp.OCSPResponse({
    responseStatus: ocsp.OCSPResponseStatus.successful,
    responseBytes: new ocsp.ResponseBytes({ responseType: ocsp.id_pkix_ocsp_basic, response: new schema.OctetString(schema.AsnConvert.serialize(basic)) }),
  });
  return new Uint8Array(schema.AsnConvert.serialize(response));
};

type Asn1 = Awaited<ReturnType<typeof loadAsn1>>;

const signBasicResponse = async (
  x509: Awaited<ReturnType<typeof loadX509>>,
  schema: Asn1['schema'],
  ocsp: Asn1['ocsp'],
  tbs: InstanceType<Asn1['ocsp']['ResponseData']>,
  signer: CaSigner,
) => {
  const { signingKey, signingAlgorithm } = signingParams(signer);
  const algorithm = { ...signingAlgorithm, ...signingKey.algorithm };
  const signature = await signer.sign(new Uint8Array(schema.AsnConvert.serialize(tbs)));
  const formatter = signer.keyType.startsWith('ec-') ? new x509.AsnEcSignatureFormatter() : new x509.AsnDefaultSignatureFormatter();
  const asnSignature = formatter.toAsnSignature(
    algorithm as never,
    signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.byteLength) as ArrayBuffer,
  );
  if (!asnSignature) throw new Error('cannot encode the OCSP signature');
  return new ocsp.BasicOCSPResponse({
    tbsResponseData: tbs,
    signatureAlgorithm: new x509.AlgorithmProvider().toAsnAlgorithm(algorithm as never),
    signature: asnSignature,
  });
};
