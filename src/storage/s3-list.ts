// Paged listings on S3: the objects under a prefix, and the versions (and delete markers) of one key, a page at a time.

import { ListObjectsV2Command, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectInfo } from './store.js';

/** The objects under prefix, one page at a time; a failed request is thrown as fail(err) names it. */
export async function* objectPages(
  client: S3Client,
  bucket: string,
  prefix: string,
  fail: (err: unknown) => Error,
): AsyncGenerator<ObjectInfo[]> {
  let token: string | undefined;
  do {
    let page;
    try {
      page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    } catch (err) {
      throw fail(err);
    }
    const out: ObjectInfo[] = [];
    for (const o of page.Contents ?? []) {
      if (!o.Key) continue;
      out.push({
        key: o.Key,
        bytes: o.Size ?? 0,
        lastModified: o.LastModified ?? new Date(0),
        storageClass: o.StorageClass ?? 'STANDARD',
        etag: o.ETag,
      });
    }
    yield out;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/**
 * The version ids of every version and delete marker of exactly `key`, one page at a time (the next page is asked
 * for only once the caller is done with this one); a failed request is thrown as fail(err) names it.
 */
export async function* versionPages(
  client: S3Client,
  bucket: string,
  key: string,
  fail: (err: unknown) => Error,
): AsyncGenerator<(string | undefined)[]> {
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  do {
    let page;
    try {
      page = await client.send(
        new ListObjectVersionsCommand({
          Bucket: bucket,
          Prefix: key,
          KeyMarker: keyMarker,
          VersionIdMarker: versionMarker,
        }),
      );
    } catch (err) {
      throw fail(err);
    }
    const all = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].filter((v) => v.Key === key);
    yield all.map((v) => v.VersionId ?? undefined);
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker);
}
