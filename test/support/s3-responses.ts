/**
 * S3 answers as AWS SDK v3 hands them out, for tests with aws-sdk-client-mock.
 */
import { NoSuchBucket, NoSuchKey, S3ServiceException, type GetObjectCommandOutput } from '@aws-sdk/client-s3';

/** A 200 answer to GetObject; its body has `transformToByteArray` like the SDK's stream. */
export function found(bytes: Uint8Array, etag: string): Partial<GetObjectCommandOutput> {
  const Body = { transformToByteArray: async () => bytes } as unknown as GetObjectCommandOutput['Body'];
  return { $metadata: { httpStatusCode: 200 }, ETag: etag, Body };
}

/** An error as SDK v3 throws it for an S3 error response. */
export function s3Error(name: string, status: number, message = `${name} (mocked)`): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message,
  });
}

export const noSuchKey = () =>
  new NoSuchKey({ $metadata: { httpStatusCode: 404 }, message: 'The specified key does not exist.' });
export const noSuchBucket = () =>
  new NoSuchBucket({ $metadata: { httpStatusCode: 404 }, message: 'The specified bucket does not exist.' });

/** The rejection of `promise`, to assert on its fields. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}
