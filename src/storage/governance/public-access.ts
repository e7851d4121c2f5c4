// Governance item "public-access-block": all four switches on; rolled back when the server then locks igbackup out.

import {
  DeletePublicAccessBlockCommand,
  GetPublicAccessBlockCommand,
  PutPublicAccessBlockCommand,
  type PublicAccessBlockConfiguration,
} from '@aws-sdk/client-s3';
import { isMissing, type Item, type ItemInput } from './item.js';

export function publicAccessItem({ client, Bucket }: ItemInput): Item {
  let previousBlock: PublicAccessBlockConfiguration | null | undefined;
  return {
    name: 'public-access-block',
    describe: 'all public access blocked',
    audit: async () => {
      try {
        const p = (await client.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration;
        const on = p?.BlockPublicAcls && p.IgnorePublicAcls && p.BlockPublicPolicy && p.RestrictPublicBuckets;
        return on ? undefined : 'public access is not fully blocked';
      } catch (err) {
        if (isMissing(err, 'NoSuchPublicAccessBlockConfiguration')) return 'no public access block';
        throw err;
      }
    },
    apply: async () => {
      try {
        previousBlock =
          (await client.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration ?? null;
      } catch {
        previousBlock = null;
      }
      await client.send(
        new PutPublicAccessBlockCommand({
          Bucket,
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            IgnorePublicAcls: true,
            BlockPublicPolicy: true,
            RestrictPublicBuckets: true,
          },
        }),
      );
    },
    rollback: async () => {
      if (previousBlock === undefined) return;
      if (previousBlock === null) await client.send(new DeletePublicAccessBlockCommand({ Bucket }));
      else
        await client.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: previousBlock }));
    },
  };
}
