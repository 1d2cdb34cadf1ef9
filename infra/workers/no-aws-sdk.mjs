// Stands in for @aws-sdk/client-s3 and @aws-sdk/lib-storage in the Workers bundle of the sample bot
// (wrangler.jsonc "alias"), which stores through the fetch object store: src/s3-persistence.ts still
// imports the SDK store for its default client, and this keeps the SDK out of the bundle. Any use throws.
class Missing {
  constructor() {
    throw new Error('this Workers bundle has no AWS SDK: give S3Persistence a store (telegram-s3-persistence/fetch-store)');
  }
}
export {
  Missing as S3Client,
  Missing as GetObjectCommand,
  Missing as PutObjectCommand,
  Missing as DeleteObjectCommand,
  Missing as ListObjectsV2Command,
  Missing as Upload,
};
