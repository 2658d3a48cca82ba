import * as s3 from 'aws-cdk-lib/aws-s3';

/**
 * A bucket nobody outside the account reads: no public access, TLS 1.2+ only, versioned,
 * owner-enforced, encrypted with S3-managed keys (what S3 server access logging requires of its
 * destination, and what needs no grant on the vault key).
 */
export const PRIVATE_S3_MANAGED_BUCKET = {
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  encryption: s3.BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  minimumTLSVersion: 1.2,
  versioned: true,
  objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
} as const satisfies s3.BucketProps;
