import { S3Client, ListObjectsV2Command } from '@aws-sdk/client-s3';
import * as d from '../../gateway/s3/documents.js';
import { buildXml, escapeXmlText, parseXml, S3_XMLNS } from '../../gateway/s3/xml.js';
import { codeOf } from '../helpers/errors.js';

const HEAD = `<?xml version="1.0" encoding="UTF-8"?>\n`;
const NS = `xmlns="${S3_XMLNS}"`;
const T = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
const TS = '2026-01-02T03:04:05.006Z';
const owner = { id: 'owner-id', displayName: 'me' };
const OWNER = '<ID>owner-id</ID><DisplayName>me</DisplayName>';
// Keys sit on the escaping edges: all five XML specials, a CR (read back as LF if left raw),
// surrounding spaces, and a number-looking key.
const NASTY = ` a&<>"'\r+é `;
const NASTY_XML = ` a&amp;&lt;&gt;&quot;&apos;&#xD;+é `;


describe('buildXml', () => {
  test('adds the declaration and the S3 namespace on the root', () => {
    expect(buildXml('R', { A: 'x', B: 7, C: true, D: undefined, E: '' })).toBe(`${HEAD}<R ${NS}><A>x</A><B>7</B><C>true</C><E></E></R>`);
  });
  test('escapes text, control characters as references', () => {
    expect(escapeXmlText('a&<>"\'\r\n\t\u0001b')).toBe('a&amp;&lt;&gt;&quot;&apos;&#xD;\n\t&#x1;b');
  });
});

describe('parseXml', () => {
  test('keeps key whitespace, "007" as a string, decodes entities and character references', () => {
    const root = parseXml(`<?xml version="1.0"?>\n<Delete ${NS}>\n  <Object>\n    <Key>  007 &amp; &#x41;&#66;&#xD; </Key>\n  </Object>\n</Delete>`, 'Delete');
    expect(root).toEqual({ Object: [{ Key: '  007 & AB\r ' }] });
  });
  test('control characters the builder writes as references parse back (a listed key can be deleted by name)', () => {
    const key = 'a\u0000\u0001\u001f\u007f b';
    expect(parseXml(buildXml('Delete', { Object: [{ Key: key }] }), 'Delete')).toEqual({ Object: [{ Key: key }] });
    expect(parseXml('<Delete><Object><Key>&#0;&#x1;&#31;</Key></Object></Delete>', 'Delete')).toEqual({ Object: [{ Key: '\u0000\u0001\u001f' }] });
  });
  test('a UTF-8 byte order mark before the document is accepted', () => {
    expect(parseXml(Buffer.from('\uFEFF<Delete><Object><Key>k</Key></Object></Delete>'), 'Delete')).toEqual({ Object: [{ Key: 'k' }] });
  });
  test('a single repeated element is still an array', () => {
    expect(parseXml('<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>', 'CompleteMultipartUpload'))
      .toEqual({ Part: [{ PartNumber: '1' }] });
  });
  test('CDATA is taken verbatim, namespace prefixes are dropped', () => {
    expect(parseXml('<s3:Delete xmlns:s3="x"><s3:Object><s3:Key><![CDATA[&amp; <x>]]></s3:Key></s3:Object></s3:Delete>', 'Delete'))
      .toEqual({ Object: [{ Key: '&amp; <x>' }] });
  });
  test.each([
    ['empty body', ''],
    ['not XML', 'hello'],
    ['unclosed element', '<Delete><Object><Key>a</Key></Delete>'],
    ['bare ampersand', '<Delete><Object><Key>a & b</Key></Object></Delete>'],
    ['unknown entity', '<Delete><Object><Key>&nbsp;</Key></Object></Delete>'],
    ['reference to a surrogate half', '<Delete><Object><Key>&#xD800;</Key></Object></Delete>'],
    ['reference past U+10FFFF', '<Delete><Object><Key>&#x110000;</Key></Object></Delete>'],
    ['DOCTYPE with an entity expansion', '<!DOCTYPE d [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><Delete><Object><Key>&b;</Key></Object></Delete>'],
    ['DOCTYPE with an external entity', '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Delete><Object><Key>&x;</Key></Object></Delete>'],
    ['wrong root', '<Remove><Object><Key>a</Key></Object></Remove>'],
    ['two roots', '<Delete><Object><Key>a</Key></Object></Delete><Delete/>'],
    ['text mixed with elements', '<Delete>junk<Object><Key>a</Key></Object></Delete>'],
    ['prototype pollution attempt', '<Delete><__proto__><Key>a</Key></__proto__></Delete>'],
  ])('MalformedXML: %s', (_why, body) => {
    expect(codeOf(() => parseXml(body, 'Delete'))).toBe('MalformedXML');
  });
});

describe('documents: one golden string each', () => {
  test('ListAllMyBucketsResult', () => {
    expect(d.buildListAllMyBucketsResult({ owner, buckets: [{ name: 'b1', creationDate: new Date(T), region: 'us-east-1' }, { name: 'b2', creationDate: T }] }))
      .toBe(`${HEAD}<ListAllMyBucketsResult ${NS}><Owner>${OWNER}</Owner><Buckets>`
        + `<Bucket><Name>b1</Name><CreationDate>${TS}</CreationDate><BucketRegion>us-east-1</BucketRegion></Bucket>`
        + `<Bucket><Name>b2</Name><CreationDate>${TS}</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>`);
    expect(d.buildListAllMyBucketsResult({ owner: { id: 'o' }, buckets: [] }))
      .toBe(`${HEAD}<ListAllMyBucketsResult ${NS}><Owner><ID>o</ID></Owner><Buckets></Buckets></ListAllMyBucketsResult>`);
    expect(d.buildListAllMyBucketsResult({ owner: { id: 'o' }, buckets: [], continuationToken: 'YjE', prefix: 'b' }))
      .toBe(`${HEAD}<ListAllMyBucketsResult ${NS}><Owner><ID>o</ID></Owner><Buckets></Buckets>`
        + '<ContinuationToken>YjE</ContinuationToken><Prefix>b</Prefix></ListAllMyBucketsResult>');
  });

  test('ListBucketResult (v2)', () => {
    expect(d.buildListObjectsV2Result({
      name: 'bkt', prefix: 'p', delimiter: '/', maxKeys: 2, isTruncated: true, continuationToken: 'c1', nextContinuationToken: 'c2', startAfter: 's',
      contents: [
        { key: NASTY, lastModified: T, etag: '"0123"', size: 7 },
        { key: '007', lastModified: T, etag: 'abc-2', size: 0, storageClass: 'STANDARD_IA', owner, checksumAlgorithm: 'CRC64NVME', checksumType: 'FULL_OBJECT' },
      ],
      commonPrefixes: ['p/'],
    })).toBe(`${HEAD}<ListBucketResult ${NS}><Name>bkt</Name><Prefix>p</Prefix><ContinuationToken>c1</ContinuationToken>`
      + `<NextContinuationToken>c2</NextContinuationToken><StartAfter>s</StartAfter><KeyCount>3</KeyCount><MaxKeys>2</MaxKeys>`
      + `<Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>`
      + `<Contents><Key>${NASTY_XML}</Key><LastModified>${TS}</LastModified><ETag>&quot;0123&quot;</ETag><Size>7</Size><StorageClass>STANDARD</StorageClass></Contents>`
      + `<Contents><Key>007</Key><LastModified>${TS}</LastModified><ETag>&quot;abc-2&quot;</ETag><ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm>`
      + `<ChecksumType>FULL_OBJECT</ChecksumType><Size>0</Size><StorageClass>STANDARD_IA</StorageClass><Owner>${OWNER}</Owner></Contents>`
      + `<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes></ListBucketResult>`);
  });

  test('ListBucketResult (v2) with encoding-type=url encodes Key, Prefix, Delimiter and StartAfter', () => {
    expect(d.buildListObjectsV2Result({
      name: 'bkt', prefix: 'a b/', delimiter: '/', maxKeys: 1000, isTruncated: false, startAfter: 'é', encodingType: 'url',
      contents: [{ key: 'a b/c+d&e~f*g(h)\r', lastModified: T, etag: 'e', size: 1 }], commonPrefixes: ['a b/x y/'],
    })).toBe(`${HEAD}<ListBucketResult ${NS}><Name>bkt</Name><Prefix>a+b/</Prefix><StartAfter>%C3%A9</StartAfter><KeyCount>2</KeyCount>`
      + `<MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>`
      + `<Contents><Key>a+b/c%2Bd%26e%7Ef*g%28h%29%0D</Key><LastModified>${TS}</LastModified><ETag>&quot;e&quot;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>`
      + `<CommonPrefixes><Prefix>a+b/x+y/</Prefix></CommonPrefixes></ListBucketResult>`);
  });

  test('ListBucketResult (v1): Marker always, NextMarker only with a delimiter, Owner always', () => {
    const base = { name: 'bkt', prefix: '', marker: '', maxKeys: 1000, isTruncated: true, nextMarker: 'k', commonPrefixes: [] as string[] };
    const contents = [{ key: 'k', lastModified: T, etag: 'e', size: 1, owner }];
    expect(d.buildListObjectsV1Result({ ...base, contents })).toBe(`${HEAD}<ListBucketResult ${NS}><Name>bkt</Name><Prefix></Prefix><Marker></Marker>`
      + `<MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>k</Key><LastModified>${TS}</LastModified><ETag>&quot;e&quot;</ETag>`
      + `<Size>1</Size><StorageClass>STANDARD</StorageClass><Owner>${OWNER}</Owner></Contents></ListBucketResult>`);
    expect(d.buildListObjectsV1Result({ ...base, delimiter: '/', contents: [], commonPrefixes: ['a/'] }))
      .toBe(`${HEAD}<ListBucketResult ${NS}><Name>bkt</Name><Prefix></Prefix><Marker></Marker><NextMarker>k</NextMarker>`
        + `<MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated><CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes></ListBucketResult>`);
  });

  test('LocationConstraint: empty for us-east-1', () => {
    expect(d.buildLocationConstraint('us-east-1')).toBe(`${HEAD}<LocationConstraint ${NS}></LocationConstraint>`);
    expect(d.buildLocationConstraint('eu-west-1')).toBe(`${HEAD}<LocationConstraint ${NS}>eu-west-1</LocationConstraint>`);
  });

  test('CreateBucketConfiguration (parse)', () => {
    expect(d.parseCreateBucketConfiguration('')).toEqual({});
    expect(d.parseCreateBucketConfiguration(Buffer.from(`<CreateBucketConfiguration ${NS}>\n  <LocationConstraint>eu-west-1</LocationConstraint>\n</CreateBucketConfiguration>`)))
      .toEqual({ locationConstraint: 'eu-west-1' });
    expect(d.parseCreateBucketConfiguration('<CreateBucketConfiguration/>')).toEqual({});
    expect(codeOf(() => d.parseCreateBucketConfiguration('<Other/>'))).toBe('MalformedXML');
  });

  test('InitiateMultipartUploadResult', () => {
    expect(d.buildInitiateMultipartUploadResult({ bucket: 'b', key: NASTY, uploadId: 'u1' }))
      .toBe(`${HEAD}<InitiateMultipartUploadResult ${NS}><Bucket>b</Bucket><Key>${NASTY_XML}</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>`);
  });

  test('CompleteMultipartUpload (parse)', () => {
    const body = `<CompleteMultipartUpload ${NS}>
      <Part><ETag>"a1"</ETag><PartNumber>1</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>
      <Part><PartNumber> 0003 </PartNumber><ETag>&quot;b2&quot;</ETag></Part>
    </CompleteMultipartUpload>`;
    expect(d.parseCompleteMultipartUpload(body)).toEqual({
      parts: [{ partNumber: 1, etag: '"a1"', checksums: { crc32: 'AAAAAA==' } }, { partNumber: 3, etag: '"b2"', checksums: {} }],
    });
  });

  test.each([
    ['no parts', '<CompleteMultipartUpload></CompleteMultipartUpload>', 'MalformedXML'],
    ['part without ETag', '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>', 'MalformedXML'],
    ['non-numeric part number', '<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>', 'MalformedXML'],
    ['part number 0', '<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>', 'InvalidArgument'],
    ['part number 10001', '<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>', 'InvalidArgument'],
    ['descending', '<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>e</ETag></Part><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>', 'InvalidPartOrder'],
    ['duplicate', '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>', 'InvalidPartOrder'],
    ['not XML', '{"parts":[]}', 'MalformedXML'],
  ])('CompleteMultipartUpload rejects %s', (_why, body, code) => {
    expect(codeOf(() => d.parseCompleteMultipartUpload(body))).toBe(code);
  });

  test('CompleteMultipartUploadResult', () => {
    expect(d.buildCompleteMultipartUploadResult({ location: 'http://h/b/k', bucket: 'b', key: 'k', etag: 'abc-2', checksums: { crc32c: 'x==', sha256: 'y=' }, checksumType: 'COMPOSITE' }))
      .toBe(`${HEAD}<CompleteMultipartUploadResult ${NS}><Location>http://h/b/k</Location><Bucket>b</Bucket><Key>k</Key><ETag>&quot;abc-2&quot;</ETag>`
        + `<ChecksumCRC32C>x==</ChecksumCRC32C><ChecksumSHA256>y=</ChecksumSHA256><ChecksumType>COMPOSITE</ChecksumType></CompleteMultipartUploadResult>`);
  });

  test('ListPartsResult', () => {
    expect(d.buildListPartsResult({
      bucket: 'b', key: 'k', uploadId: 'u', partNumberMarker: 0, nextPartNumberMarker: 2, maxParts: 2, isTruncated: true,
      parts: [{ partNumber: 1, lastModified: T, etag: 'e1', size: 5242880 }, { partNumber: 2, lastModified: T, etag: '"e2"', size: 1, checksums: { crc32: 'c' } }],
      initiator: owner, owner,
    })).toBe(`${HEAD}<ListPartsResult ${NS}><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId><PartNumberMarker>0</PartNumberMarker>`
      + `<NextPartNumberMarker>2</NextPartNumberMarker><MaxParts>2</MaxParts><IsTruncated>true</IsTruncated>`
      + `<Part><PartNumber>1</PartNumber><LastModified>${TS}</LastModified><ETag>&quot;e1&quot;</ETag><Size>5242880</Size></Part>`
      + `<Part><PartNumber>2</PartNumber><LastModified>${TS}</LastModified><ETag>&quot;e2&quot;</ETag><Size>1</Size><ChecksumCRC32>c</ChecksumCRC32></Part>`
      + `<Initiator>${OWNER}</Initiator><Owner>${OWNER}</Owner><StorageClass>STANDARD</StorageClass></ListPartsResult>`);
  });

  test('ListMultipartUploadsResult', () => {
    expect(d.buildListMultipartUploadsResult({
      bucket: 'b', keyMarker: '', uploadIdMarker: '', nextKeyMarker: 'a b', nextUploadIdMarker: 'u1', prefix: '', delimiter: '/', maxUploads: 1,
      isTruncated: true, encodingType: 'url', uploads: [{ key: 'a b', uploadId: 'u1', initiator: owner, owner, initiated: T }], commonPrefixes: ['c/'],
    })).toBe(`${HEAD}<ListMultipartUploadsResult ${NS}><Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>`
      + `<NextKeyMarker>a+b</NextKeyMarker><NextUploadIdMarker>u1</NextUploadIdMarker><Delimiter>/</Delimiter><Prefix></Prefix><MaxUploads>1</MaxUploads>`
      + `<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated><Upload><Key>a+b</Key><UploadId>u1</UploadId><Initiator>${OWNER}</Initiator>`
      + `<Owner>${OWNER}</Owner><StorageClass>STANDARD</StorageClass><Initiated>${TS}</Initiated></Upload>`
      + `<CommonPrefixes><Prefix>c/</Prefix></CommonPrefixes></ListMultipartUploadsResult>`);
  });

  test('Delete (parse)', () => {
    const body = `<Delete ${NS}><Quiet> TRUE </Quiet><Object><Key> 007 </Key></Object><Object><Key>a&amp;b</Key><VersionId>v1</VersionId></Object><Object><Key></Key></Object></Delete>`;
    expect(d.parseDelete(body)).toEqual({ quiet: true, objects: [{ key: ' 007 ' }, { key: 'a&b', versionId: 'v1' }, { key: '' }] });
    expect(d.parseDelete('<Delete><Object><Key>k</Key></Object></Delete>')).toEqual({ quiet: false, objects: [{ key: 'k' }] });
  });

  test.each([
    ['no objects', '<Delete><Quiet>true</Quiet></Delete>'],
    ['object without key', '<Delete><Object><VersionId>v</VersionId></Object></Delete>'],
    ['1001 objects', `<Delete>${'<Object><Key>k</Key></Object>'.repeat(1001)}</Delete>`],
    ['bad Quiet', '<Delete><Quiet>yes</Quiet><Object><Key>k</Key></Object></Delete>'],
  ])('Delete rejects %s', (_why, body) => {
    expect(codeOf(() => d.parseDelete(body))).toBe('MalformedXML');
  });

  test('Delete accepts exactly 1000 objects', () => {
    expect(d.parseDelete(`<Delete>${'<Object><Key>k</Key></Object>'.repeat(1000)}</Delete>`).objects).toHaveLength(1000);
  });

  test('DeleteResult', () => {
    expect(d.buildDeleteResult({
      deleted: [{ key: NASTY }, { key: 'v', versionId: 'v1', deleteMarker: true, deleteMarkerVersionId: 'm1' }, { key: 'f', deleteMarker: false }],
      errors: [{ key: 'x', code: 'AccessDenied', message: 'Access Denied' }],
    })).toBe(`${HEAD}<DeleteResult ${NS}><Deleted><Key>${NASTY_XML}</Key></Deleted>`
      + `<Deleted><Key>v</Key><VersionId>v1</VersionId><DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>m1</DeleteMarkerVersionId></Deleted>`
      + `<Deleted><Key>f</Key></Deleted><Error><Key>x</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>`);
  });

  test('CopyObjectResult and CopyPartResult', () => {
    expect(d.buildCopyObjectResult({ etag: 'e', lastModified: T }))
      .toBe(`${HEAD}<CopyObjectResult ${NS}><ETag>&quot;e&quot;</ETag><LastModified>${TS}</LastModified></CopyObjectResult>`);
    expect(d.buildCopyPartResult({ etag: 'e', lastModified: T, checksums: { crc64nvme: 'n' } }))
      .toBe(`${HEAD}<CopyPartResult ${NS}><ETag>&quot;e&quot;</ETag><LastModified>${TS}</LastModified><ChecksumCRC64NVME>n</ChecksumCRC64NVME></CopyPartResult>`);
  });
});

test('s3UrlEncode follows form encoding with / and * kept', () => {
  expect(d.s3UrlEncode("a b/c+d~e*f!g'h(i)j%k\u00e9")).toBe('a+b/c%2Bd%7Ee*f%21g%27h%28i%29j%25k%C3%A9');
});

// The official SDK is the reader that matters: it must get back exactly the keys we listed.
test('the AWS SDK reads our ListObjectsV2 back to the same keys', async () => {
  const keys = [NASTY, '007', 'tab\there', 'ünïcødé/☃'];
  const xml = d.buildListObjectsV2Result({
    name: 'bkt', prefix: '', maxKeys: 1000, isTruncated: false,
    contents: keys.map((key) => ({ key, lastModified: T, etag: 'e', size: 1 })), commonPrefixes: [],
  });
  const client = new S3Client({
    region: 'us-east-1', endpoint: 'http://127.0.0.1:1', forcePathStyle: true,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    requestHandler: {
      handle: async () => ({
        response: {
          statusCode: 200, reason: 'OK', headers: { 'content-type': 'application/xml' },
          body: new Blob([xml]).stream(),
        },
      }),
    } as never,
  });
  const out = await client.send(new ListObjectsV2Command({ Bucket: 'bkt' }));
  expect(out.Contents?.map((c) => c.Key)).toEqual(keys);
  expect(out.Contents?.[0]?.ETag).toBe('"e"');
  expect(out.Contents?.[0]?.LastModified?.getTime()).toBe(T);
});
