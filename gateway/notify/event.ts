import { TEST_EVENT, type QueuedEvent } from '../meta/notifications.js';

/**
 * An event as S3 delivers it: a message with one record, event structure version 2.1.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 * `eventSource` is "aws:s3" and the bucket ARN arn:aws:s3:::<bucket>: consumers written for
 * S3 check both, and the bucket ARN is the one bucket policies here name too.
 */
export interface S3EventMessage {
  Records: S3EventRecord[];
}

export interface S3EventRecord {
  eventVersion: '2.1';
  eventSource: 'aws:s3';
  awsRegion: string;
  eventTime: string;
  eventName: string;
  userIdentity: { principalId: string };
  requestParameters: { sourceIPAddress: string };
  responseElements: { 'x-amz-request-id': string };
  s3: {
    s3SchemaVersion: '1.0';
    configurationId: string;
    bucket: { name: string; ownerIdentity: { principalId: string }; arn: string };
    object: { key: string; size?: number; eTag?: string; versionId?: string; sequencer: string };
  };
}

/**
 * The key as S3 writes it in events: URL-encoded as a form value, so a space is `+` ("red
 * flower.jpg" is "red+flower.jpg"), with `/` kept. Decode with urllib.parse.unquote_plus or
 * decodeURIComponent after replacing `+`.
 */
export function eventKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/gi, '/');
}

/** A sequencer grows with the event id, in fixed-width hex so it compares as a string as well. */
export function sequencerOf(id: number): string {
  return id.toString(16).toUpperCase().padStart(16, '0');
}

/**
 * What S3 sends a destination when a notification configuration naming it is put, so the
 * consumer can check it is reachable; it carries no record. Consumers written for S3 skip it
 * by its `Event` field.
 */
export interface S3TestMessage {
  Service: 'Amazon S3';
  Event: 's3:TestEvent';
  Time: string;
  Bucket: string;
  RequestId: string;
  HostId: string;
}

export function eventMessage(e: QueuedEvent, region: string): S3EventMessage | S3TestMessage {
  if (e.name === TEST_EVENT) {
    return { Service: 'Amazon S3', Event: 's3:TestEvent', Time: new Date(e.eventTime).toISOString(), Bucket: e.bucket, RequestId: e.requestId, HostId: 'shardgate' };
  }
  return {
    Records: [{
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: region,
      eventTime: new Date(e.eventTime).toISOString(),
      eventName: e.name,
      userIdentity: { principalId: e.principal },
      requestParameters: { sourceIPAddress: e.sourceIp },
      responseElements: { 'x-amz-request-id': e.requestId },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: e.configId,
        bucket: { name: e.bucket, ownerIdentity: { principalId: e.bucketOwner }, arn: `arn:aws:s3:::${e.bucket}` },
        object: {
          key: eventKey(e.key),
          ...(e.size !== undefined && { size: e.size }),
          ...(e.etag !== undefined && { eTag: e.etag }),
          ...(e.versionId !== undefined && { versionId: e.versionId }),
          sequencer: sequencerOf(e.id),
        },
      },
    }],
  };
}
