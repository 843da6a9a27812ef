/**
 * Several stateless gateways on one PostgreSQL database and one set of shard-stores serve one
 * namespace with S3's read-after-write and list-after-write consistency.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, CreateBucketCommand } from '@aws-sdk/client-s3';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { postgresSkipReason } from '../helpers/postgres.js';

const skip = postgresSkipReason();

describe.skipIf(skip)(`three gateways on one PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ meta: 'postgres', gateways: 3, env: { SHARDGATE_LEASE_TTL_MS: '3000' } });
  });

  it('an object written through one gateway is read and listed through every other at once', async () => {
    await c.clientOf(0).send(new CreateBucketCommand({ Bucket: 'shared' }));
    for (let i = 0; i < 3; i++) {
      const body = `through gateway ${i}`;
      await c.clientOf(i).send(new PutObjectCommand({ Bucket: 'shared', Key: `k${i}`, Body: body }));
      for (let j = 0; j < 3; j++) {
        const got = await c.clientOf(j).send(new GetObjectCommand({ Bucket: 'shared', Key: `k${i}` }));
        expect(await got.Body!.transformToString()).toBe(body);
        const listed = await c.clientOf(j).send(new ListObjectsV2Command({ Bucket: 'shared' }));
        expect(listed.Contents!.map((o) => o.Key)).toContain(`k${i}`);
      }
    }
  });
});
