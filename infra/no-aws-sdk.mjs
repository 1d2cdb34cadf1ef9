// Stands in for @aws-sdk/client-s3 and @aws-sdk/lib-storage in the Lambda bundle on the fetch store
// (infra/bundle.mjs, `s3Client` fetch): S3Persistence imports the AWS SDK store for its default
// client, which the sample bot on the fetch store never builds. Any use of it throws.
class Missing {
  constructor() {
    throw new Error(
      'this bundle has no AWS SDK (built for S3_CLIENT=fetch): unset S3_CLIENT, or build with the SDK (serverless --param="s3Client=sdk", node infra/bundle.mjs OUTDIR sdk)',
    );
  }
}
// The names the library imports from the SDK (S3ObjectStore, the conditional-write check, the CLI).
export {
  Missing as S3Client,
  Missing as GetObjectCommand,
  Missing as HeadObjectCommand,
  Missing as PutObjectCommand,
  Missing as DeleteObjectCommand,
  Missing as ListObjectsV2Command,
  Missing as CreateMultipartUploadCommand,
  Missing as UploadPartCommand,
  Missing as CompleteMultipartUploadCommand,
  Missing as AbortMultipartUploadCommand,
  Missing as Upload,
};
