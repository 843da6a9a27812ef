/**
 * XML request documents for the fuzz targets: a tree in a document's own vocabulary, written
 * with every XML feature and flaw (namespaces, attributes, CDATA, character references,
 * comments, DOCTYPEs and billion laughs, deep nesting, long runs of siblings), then damaged.
 */
import fc from 'fast-check';
import { escapeXmlText } from '../../gateway/s3/xml.js';
import { hostileString, mutated } from './fuzz.js';

/** What a document is made of. */
export interface Vocabulary {
  root: string;
  /** Element names of the document, at any depth. */
  names: readonly string[];
  /** Plausible texts: what a real document holds there, and its near misses. */
  values: readonly string[];
}

/** The request documents the gateway parses, by root element. */
export const VOCABULARIES: readonly Vocabulary[] = [
  { root: 'CreateBucketConfiguration', names: ['LocationConstraint', 'Location', 'Bucket', 'Name', 'Type'], values: ['us-east-1', 'EU', ''] },
  {
    root: 'CompleteMultipartUpload', names: ['Part', 'PartNumber', 'ETag', 'ChecksumCRC32', 'ChecksumCRC32C', 'ChecksumCRC64NVME', 'ChecksumSHA1', 'ChecksumSHA256'],
    values: ['1', '2', '10000', '10001', '0', '-1', '007', '999999999', '1e3', '"d41d8cd98f00b204e9800998ecf8427e"', 'AAAAAA=='],
  },
  { root: 'Delete', names: ['Quiet', 'Object', 'Key', 'VersionId', 'ETag'], values: ['true', 'false', 'TRUE', 'k', ' k ', 'null', '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo'] },
  { root: 'Tagging', names: ['TagSet', 'Tag', 'Key', 'Value'], values: ['k', 'v', '', 'aws:x', 'a'.repeat(129), 'b'.repeat(257)] },
  { root: 'VersioningConfiguration', names: ['Status', 'MfaDelete'], values: ['Enabled', 'Suspended', 'Disabled', 'enabled', ''] },
  {
    root: 'LifecycleConfiguration',
    names: ['Rule', 'ID', 'Filter', 'Prefix', 'And', 'Tag', 'Key', 'Value', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan', 'Status', 'Expiration', 'Days', 'Date',
      'ExpiredObjectDeleteMarker', 'NoncurrentVersionExpiration', 'NoncurrentDays', 'NewerNoncurrentVersions', 'AbortIncompleteMultipartUpload', 'DaysAfterInitiation',
      'Transition', 'StorageClass'],
    values: ['Enabled', 'Disabled', '1', '0', '30', '99999999999999999999', 'true', 'false', '2030-01-01T00:00:00Z', '2030-01-01T00:00:01Z', '2030-13-01', 'logs/', ''],
  },
  {
    root: 'ObjectLockConfiguration', names: ['ObjectLockEnabled', 'Rule', 'DefaultRetention', 'Mode', 'Days', 'Years'],
    values: ['Enabled', 'GOVERNANCE', 'COMPLIANCE', '1', '0', '-1', '36500', '1e400', '99999999999999999999'],
  },
  { root: 'Retention', names: ['Mode', 'RetainUntilDate'], values: ['GOVERNANCE', 'COMPLIANCE', '2030-01-01T00:00:00Z', '2030-01-01T00:00:00.000+02:00', '1999-01-01T00:00:00Z', '+275760-09-13T00:00:00.000Z', 'x'] },
  {
    root: 'AccessControlPolicy', names: ['Owner', 'ID', 'DisplayName', 'AccessControlList', 'Grant', 'Grantee', 'URI', 'EmailAddress', 'Permission'],
    values: ['alice', 'root', 'nobody', 'http://acs.amazonaws.com/groups/global/AllUsers', 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers', 'a@b.c', 'READ', 'WRITE', 'FULL_CONTROL', 'read'],
  },
  {
    root: 'CORSConfiguration', names: ['CORSRule', 'ID', 'AllowedOrigin', 'AllowedMethod', 'AllowedHeader', 'ExposeHeader', 'MaxAgeSeconds'],
    values: ['*', 'http://*.example.com', 'GET', 'PUT', 'PATCH', 'x-amz-*', 'ETag', '3000', '-1'],
  },
  { root: 'PublicAccessBlockConfiguration', names: ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'], values: ['true', 'false', 'TRUE', ''] },
  {
    root: 'ServerSideEncryptionConfiguration', names: ['Rule', 'ApplyServerSideEncryptionByDefault', 'SSEAlgorithm', 'KMSMasterKeyID', 'BucketKeyEnabled'],
    values: ['AES256', 'aws:kms', 'true'],
  },
  { root: 'LegalHold', names: ['Status'], values: ['ON', 'OFF', 'on'] },
];

interface Tree {
  name: string;
  content: string | Tree[];
  style: { prefix: boolean; attrs: boolean; text: 'escaped' | 'raw' | 'cdata' | 'entities'; selfClose: boolean; comment: boolean };
}

const style = fc.record({
  prefix: fc.boolean(),
  attrs: fc.boolean(),
  text: fc.constantFrom('escaped' as const, 'escaped' as const, 'raw' as const, 'cdata' as const, 'entities' as const),
  selfClose: fc.boolean(),
  comment: fc.boolean(),
});

function trees(doc: Vocabulary): fc.Arbitrary<Tree[]> {
  const name = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...doc.names) }, { weight: 1, arbitrary: fc.constantFrom(doc.root, 'x', 's3:Key', 'Foo-Bar', '_', 'a.b') });
  const text = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...doc.values) }, { weight: 2, arbitrary: hostileString(4) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) });
  const { forest } = fc.letrec<{ forest: Tree[]; tree: Tree }>((tie) => ({
    tree: fc.record({ name, content: fc.oneof({ depthSize: 'small', withCrossShrink: true }, text, tie('forest')), style }),
    forest: fc.array(tie('tree'), { maxLength: 4, depthIdentifier: 'xml' }),
  }));
  return forest;
}

function writeText(s: string, how: Tree['style']['text']): string {
  switch (how) {
    case 'escaped': return escapeXmlText(s);
    case 'raw': return s;
    case 'cdata': return `<![CDATA[${s.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
    case 'entities': return Array.from(s, (c) => `&#${c.codePointAt(0)};`).join('');
  }
}

function write(t: Tree, prefixes: boolean): string {
  const tag = prefixes && t.style.prefix ? `s3:${t.name}` : t.name;
  const attrs = t.style.attrs ? ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser" a=\'1\'' : '';
  const inner = typeof t.content === 'string' ? writeText(t.content, t.style.text) : t.content.map((c) => write(c, prefixes)).join(t.style.comment ? '<!-- c -->' : '\n  ');
  if (inner === '' && t.style.selfClose) return `<${tag}${attrs}/>`;
  return `<${tag}${attrs}>${inner}</${tag}>`;
}

const prologue = fc.constantFrom(
  '', '<?xml version="1.0" encoding="UTF-8"?>\n', '\ufeff<?xml version="1.0"?>', '<?xml version="1.1"?>', '<?xml version="1.0" encoding="UTF-16"?>', '<!-- hi -->',
  '<?pi data?>', '<!DOCTYPE r [<!ENTITY e "x">]>', '<!doctype r>', '<!DOCTYPE r SYSTEM "file:///etc/passwd">', ' \n\t',
  // Billion laughs: entity definitions that expand exponentially, used below as &l9;.
  `<!DOCTYPE lolz [<!ENTITY l0 "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`).join('')}]>`,
);
const epilogue = fc.constantFrom('', '\n', '<!-- trailing -->', '<Extra/>', 'junk', '</Other>', '&l9;');

export function documents(doc: Vocabulary): fc.Arbitrary<string> {
  const body = fc.record({ prologue, children: trees(doc), epilogue, rootAttrs: fc.constantFrom('', ` xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`, ' xmlns:s3="urn:x"'), entity: fc.boolean() })
    .map((d) => `${d.prologue}<${doc.root}${d.rootAttrs}>${d.entity ? '&l9;' : ''}${d.children.map((c) => write(c, d.rootAttrs.includes('xmlns:s3'))).join('')}</${doc.root}>${d.epilogue}`);
  // Deep nesting and long runs of siblings, past every limit a parser might keep.
  const deep = fc.tuple(fc.constantFrom(...doc.names), fc.integer({ min: 50, max: 20_000 })).map(([n, d]) => `<${doc.root}>${`<${n}>`.repeat(d)}x${`</${n}>`.repeat(d)}</${doc.root}>`);
  // Request bodies are read up to 64 KiB (1 MiB for lifecycle): twice the common limit is enough.
  const wide = fc.tuple(trees(doc), fc.integer({ min: 100, max: 3_000 })).map(([t, n]) => {
    const one = t.map((c) => write(c, false)).join('') || '<x/>';
    return `<${doc.root}>${one.repeat(Math.min(n, Math.ceil(128 * 1024 / one.length)))}</${doc.root}>`;
  });
  return fc.oneof({ weight: 12, arbitrary: mutated(body, 2) }, { weight: 1, arbitrary: deep }, { weight: 1, arbitrary: wide });
}

