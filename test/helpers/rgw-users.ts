// Users of the test RADOS Gateway besides the admin (ci): created with radosgw-admin, with no rights of their own;
// what they may do comes from the bucket policy a test puts (e.g. one printed by `igbackup storage policy`).

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { GetBucketPolicyCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { s3Client } from './servers.js';

export interface RgwUser {
  uid: string;
  /** The principal a bucket policy names it by. */
  arn: string;
  /** Environment for igbackup run as this user. */
  env: Record<string, string>;
}

export async function rgwUser(name: string): Promise<RgwUser> {
  const uid = `${name}-${randomBytes(3).toString('hex')}`;
  const key = `${uid}-key`.toUpperCase().replace(/[^A-Z0-9]/g, '');
  const secret = randomBytes(20).toString('hex');
  const conf = join(process.env.IGBACKUP_SERVICES_DIR ?? '/tmp/igbackup-services', 'ceph', 'ceph.conf');
  await execa('radosgw-admin', [
    '--conf',
    conf,
    'user',
    'create',
    `--uid=${uid}`,
    `--display-name=${uid}`,
    `--access-key=${key}`,
    `--secret=${secret}`,
  ]);
  return { uid, arn: `arn:aws:iam:::user/${uid}`, env: { AWS_ACCESS_KEY_ID: key, AWS_SECRET_ACCESS_KEY: secret } };
}

/** Adds statements to the bucket's policy (as the admin), keeping the ones there (igbackup's own among them). */
export async function addBucketStatements(bucket: string, statements: unknown[]): Promise<void> {
  const current = await s3Client()
    .send(new GetBucketPolicyCommand({ Bucket: bucket }))
    .then((r) => (JSON.parse(r.Policy ?? '{}') as { Statement?: unknown[] }).Statement ?? [])
    .catch(() => []);
  await s3Client().send(
    new PutBucketPolicyCommand({
      Bucket: bucket,
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: [...current, ...statements] }),
    }),
  );
}
