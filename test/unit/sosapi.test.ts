import { describe, expect, it } from 'vitest';
import type { NodeRow } from '../../gateway/meta/types.js';
import { capacityOf, capacityXml, systemXml } from '../../gateway/s3/sosapi.js';

const node = (id: string, state: NodeRow['state'], capacity: number | null, freeBytes: number | null): NodeRow => (
  { id, url: '', zone: 'zone-1', state, capacity, freeBytes, score: 1, addedAt: 0, lastSeen: null });

describe("Veeam's Smart Object Storage API documents", () => {
  it('system.xml: SystemInfo 1.0 with capacity reporting and large blocks', () => {
    const xml = systemXml();
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<SystemInfo><ProtocolVersion>"1.0"<\/ProtocolVersion><ModelName>"shardgate \d+\.\d+\.\d+[^"]*"<\/ModelName>/);
    expect(xml).toContain('<ProtocolCapabilities><CapacityInfo>true</CapacityInfo><UploadSessions>false</UploadSessions><IAMSTS>false</IAMSTS></ProtocolCapabilities>');
    expect(xml).toContain('<SystemRecommendations><S3ConcurrentTaskLimit>32</S3ConcurrentTaskLimit><S3MultiObjectDeleteLimit>1000</S3MultiObjectDeleteLimit>'
      + '<StorageCurrentTasksLimit>0</StorageCurrentTasksLimit><KbBlockSize>4096</KbBlockSize></SystemRecommendations></SystemInfo>');
  });

  it('capacity: the stores at 10/16 without a quota, counting only stores that take new pieces', () => {
    const nodes = [node('a', 'active', 1600, 800), node('b', 'active', 1600, 160), node('c', 'offline', 1600, 1600),
      node('d', 'draining', 1600, 1600), node('e', 'removed', 1600, 1600), node('f', 'active', null, null)];
    expect(capacityOf(nodes, null, 42)).toEqual({ capacity: 3000, available: 600, used: 42 });
    expect(capacityXml({ capacity: 3000, available: 600, used: 42 }))
      .toBe('<?xml version="1.0" encoding="UTF-8"?>\n<CapacityInfo><Capacity>3000</Capacity><Available>600</Available><Used>42</Used></CapacityInfo>');
  });

  it("capacity: the bucket's quota, with no more available than the stores have free", () => {
    const nodes = [node('a', 'active', 16_000, 1600)];
    expect(capacityOf(nodes, 5000, 1000)).toEqual({ capacity: 5000, available: 1000, used: 1000 });
    expect(capacityOf(nodes, 500, 100)).toEqual({ capacity: 500, available: 400, used: 100 });
    expect(capacityOf(nodes, 500, 900)).toEqual({ capacity: 500, available: 0, used: 900 });
  });
});
