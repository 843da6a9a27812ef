/**
 * buildXml writes documents by hand (gateway/s3/xml.ts) for speed; it must write exactly what
 * fast-xml-parser's XMLBuilder wrote with the configuration it replaced.
 */
import fc from 'fast-check';
import { XMLBuilder } from 'fast-xml-parser';
import { buildXml, buildXmlText, escapeXmlText, S3_XMLNS, XML_DECLARATION, type XmlNode, type XmlValue } from '../../gateway/s3/xml.js';

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: false,
  format: false,
  processEntities: false,
  tagValueProcessor: (_name: string, value: unknown) => escapeXmlText(String(value)),
});

const viaBuilder = (root: string, content: XmlNode, xmlns: string | null = S3_XMLNS): string =>
  XML_DECLARATION + '\n' + (builder.build({ [root]: { ...(xmlns !== null && { '@_xmlns': xmlns }), ...content } }));

const name = fc.constantFrom('Key', 'Prefix', 'Contents', 'Size', 'ETag', 'Owner', 'ID');
const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom('', 'a&b<c>"\'', '\r\n\t\u0001', 'é\u{1F600}'));
const leaf: fc.Arbitrary<XmlValue> = fc.oneof(text, fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null), fc.constant(undefined));
const scalar: fc.Arbitrary<XmlValue> = fc.oneof(text, fc.integer(), fc.boolean());
// Repeated elements as documents have them: text, or elements with content. (XMLBuilder
// writes an array holding both null and {} out of order; no document holds one.)
const { node } = fc.letrec<{ node: XmlNode; value: XmlValue; full: XmlNode }>((tie) => ({
  node: fc.dictionary(name, tie('value'), { maxKeys: 4 }),
  full: fc.dictionary(name, scalar, { minKeys: 1, maxKeys: 3 }),
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('node'), fc.array(fc.oneof(scalar, tie('full')), { maxLength: 3 })),
}));

describe('buildXml', () => {
  it('writes what XMLBuilder wrote, for any document tree', () => {
    fc.assert(fc.property(node, fc.boolean(), (content, ns) => {
      expect(buildXml('ListBucketResult', content, ns ? S3_XMLNS : null)).toBe(viaBuilder('ListBucketResult', content, ns ? S3_XMLNS : null));
    }), { numRuns: 2000 });
  });

  it('writes a text-only document as XMLBuilder did', () => {
    for (const t of ['us-west-2', '', 'a&b']) {
      expect(buildXmlText('LocationConstraint', t)).toBe(XML_DECLARATION + '\n' + (builder.build({ LocationConstraint: { '@_xmlns': S3_XMLNS, '#text': t } })));
    }
  });
});
