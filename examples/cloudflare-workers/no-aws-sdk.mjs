// Stands in for @aws-sdk/client-s3 and @aws-sdk/lib-storage in a Worker that stores through the
// fetch store (wrangler.jsonc "alias"): S3Persistence still imports the AWS SDK store for its
// default client, and this keeps the SDK out of the bundle. Any use of it throws.
class Missing {
  constructor() {
    throw new Error('this Worker has no AWS SDK: give S3Persistence a store (telegram-s3-persistence/fetch-store)');
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
  Missing as Upload,
};
