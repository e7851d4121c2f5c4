// Governance item "default-encryption": SSE-KMS with the env's key and the bucket key on.

import { GetBucketEncryptionCommand, PutBucketEncryptionCommand } from '@aws-sdk/client-s3';
import { kmsKeyMatches } from '../s3.js';
import { isMissing, type Item, type ItemInput } from './item.js';

export function encryptionItem({ client, cfg, Bucket }: ItemInput): Item {
  return {
    name: 'default-encryption',
    describe: `default encryption SSE-KMS with ${cfg.kmsKeyId}, bucket key on`,
    audit: async () => {
      try {
        const e = await client.send(new GetBucketEncryptionCommand({ Bucket }));
        const r = e.ServerSideEncryptionConfiguration?.Rules?.[0];
        const d = r?.ApplyServerSideEncryptionByDefault;
        if (d?.SSEAlgorithm !== 'aws:kms') return `default encryption is ${d?.SSEAlgorithm ?? 'none'}`;
        if (!kmsKeyMatches(d.KMSMasterKeyID, cfg.kmsKeyId))
          return `default KMS key is ${d.KMSMasterKeyID ?? 'the AWS managed key'}`;
        if (!r?.BucketKeyEnabled) return 'bucket key is off';
        return undefined;
      } catch (err) {
        if (isMissing(err, 'ServerSideEncryptionConfigurationNotFoundError')) return 'no default encryption';
        throw err;
      }
    },
    apply: async () => {
      await client.send(
        new PutBucketEncryptionCommand({
          Bucket,
          ServerSideEncryptionConfiguration: {
            Rules: [
              {
                ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: cfg.kmsKeyId },
                BucketKeyEnabled: true,
              },
            ],
          },
        }),
      );
    },
  };
}
