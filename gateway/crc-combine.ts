/**
 * The CRC of a concatenation from the CRCs of its pieces: crc(A‖B) from crc(A), crc(B) and
 * |B|, without the bytes. It is how a multipart object gets its FULL_OBJECT checksum from
 * its parts' checksums, as S3 computes it. The method is zlib's crc32_combine (multiply by
 * x^(8·|B|) modulo the polynomial in GF(2)), for any reflected CRC whose initial value and
 * final XOR are all ones: CRC-32, CRC-32C and CRC-64/NVME.
 */
export interface CrcSpec {
  width: 32 | 64;
  /** The reflected polynomial. */
  poly: bigint;
}

export const CRC_SPECS = {
  CRC32: { width: 32, poly: 0xedb88320n },
  CRC32C: { width: 32, poly: 0x82f63b78n },
  CRC64NVME: { width: 64, poly: 0x9a6c9329ac4bc9b5n },
} as const satisfies Record<string, CrcSpec>;

/** a(x)·b(x) mod p(x), reflected: the top bit is x^0. */
function multModP(spec: CrcSpec, a: bigint, b: bigint): bigint {
  let m = 1n << BigInt(spec.width - 1);
  let p = 0n;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1n)) === 0n) break;
    }
    m >>= 1n;
    b = b & 1n ? (b >> 1n) ^ spec.poly : b >> 1n;
  }
  return p;
}

const tables = new Map<CrcSpec, bigint[]>();

/** x^(2^k) mod p for k = 0..63. */
function powers(spec: CrcSpec): bigint[] {
  let t = tables.get(spec);
  if (!t) {
    t = [1n << BigInt(spec.width - 2)]; // x^1
    for (let k = 1; k < 64; k++) t.push(multModP(spec, t[k - 1]!, t[k - 1]!));
    tables.set(spec, t);
  }
  return t;
}

/** x^(n·2^k) mod p. */
function xPowNModP(spec: CrcSpec, n: bigint, k: number): bigint {
  const t = powers(spec);
  let p = 1n << BigInt(spec.width - 1); // x^0
  while (n) {
    if (n & 1n) p = multModP(spec, t[k % 64]!, p);
    n >>= 1n;
    k++;
  }
  return p;
}

/** crc(A‖B) from crc(A), crc(B) and the byte length of B. */
export function combineCrc(spec: CrcSpec, crcA: bigint, crcB: bigint, lengthB: number): bigint {
  return multModP(spec, xPowNModP(spec, BigInt(lengthB), 3), crcA) ^ crcB;
}

/** The CRC of the whole object from its parts' base64 CRCs (big-endian, as S3 encodes them). */
export function combineBase64Crcs(spec: CrcSpec, parts: ReadonlyArray<{ crc: string; size: number }>): string {
  const bytes = spec.width / 8;
  let acc: bigint | undefined;
  for (const p of parts) {
    const v = BigInt(`0x${Buffer.from(p.crc, 'base64').toString('hex') || '0'}`);
    acc = acc === undefined ? v : combineCrc(spec, acc, v, p.size);
  }
  return Buffer.from((acc ?? 0n).toString(16).padStart(bytes * 2, '0'), 'hex').toString('base64');
}
