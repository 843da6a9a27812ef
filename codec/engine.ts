import type { ErasureCoder } from './erasure.js';
import { CodecArgumentError } from './errors.js';
import { md5LanesWanted, sharedMd5Lanes } from './md5-lanes.js';
import { nativeDecodeSegment } from './native-decode.js';
import { NativeSegmentEncoder } from './native-segment.js';
import { loadNative, NativeCoder, nativeLoadError, NativeUnavailableError, setKernel, type NativeBinding } from './native.js';
import { RonomonCoder } from './ronomon.js';
import { jsDecodeSegment, type SegmentDecoder } from './segment-decode.js';
import { JsSegmentEncoder, type SegmentEncoder } from './segment.js';

/** What the data path computes with: an erasure coder, a per-blob segment encoder and the segment decoder. */
export interface Engine {
  /** e.g. "reference (ronomon + node:crypto)" or "native (avx512)". */
  readonly name: string;
  readonly coder: ErasureCoder;
  newSegmentEncoder(key: Buffer): SegmentEncoder;
  /** Verify, rebuild and decrypt one segment from its raw records (see SegmentDecoder). */
  readonly decodeSegment: SegmentDecoder;
}

export function referenceEngine(): Engine {
  const coder = new RonomonCoder();
  return {
    name: 'reference (ronomon + node:crypto)',
    coder,
    newSegmentEncoder: (key) => new JsSegmentEncoder(coder, key),
    decodeSegment: (key, index, plainLength, records) => jsDecodeSegment(coder, key, index, plainLength, records),
  };
}

export function nativeEngine(binding: NativeBinding): Engine {
  const coder = new NativeCoder(binding);
  return {
    get name() {
      return `native (${binding.info().kernel})`;
    },
    coder,
    newSegmentEncoder: (key) => new NativeSegmentEncoder(binding, key),
    decodeSegment: (key, index, plainLength, records) => nativeDecodeSegment(binding, key, index, plainLength, records),
  };
}

let cached: Engine | undefined;

/**
 * The engine the process uses: the native addon when it loads, else the reference engine
 * with one warning. SHARDGATE_ENGINE=reference|native forces one (native then fails hard if
 * the addon is missing); SHARDGATE_RS_KERNEL=avx512|avx2|sse2|scalar forces a kernel.
 */
export function getEngine(): Engine {
  cached ??= chooseEngine(process.env);
  return cached;
}

function chooseEngine(env: NodeJS.ProcessEnv): Engine {
  // Read here so that a bad value stops the gateway at start, not its first PUT.
  md5LanesWanted(env);
  const forced = env.SHARDGATE_ENGINE;
  if (forced !== undefined && forced !== 'reference' && forced !== 'native') {
    throw new CodecArgumentError(`SHARDGATE_ENGINE must be "reference" or "native", got "${forced}"`);
  }
  if (forced === 'reference') return referenceEngine();
  const binding = loadNative();
  if (!binding) {
    if (forced === 'native') {
      throw new NativeUnavailableError('SHARDGATE_ENGINE=native but the addon did not load; run `npm run build:native`', { cause: nativeLoadError() });
    }
    process.emitWarning(
      'shardgate: native addon not built; using the reference engine (slower, and hashing runs on the event loop). ' +
        'Run `npm run build:native` to build it.',
      { code: 'SHARDGATE_NO_NATIVE', detail: nativeLoadError()?.message },
    );
    return referenceEngine();
  }
  if (env.SHARDGATE_RS_KERNEL) setKernel(binding, env.SHARDGATE_RS_KERNEL);
  return nativeEngine(binding);
}

export interface EngineDescription {
  engine: 'native' | 'reference';
  /** Reed-Solomon kernel of the native engine; null for the reference engine. */
  kernel: string | null;
  /** CPU features the addon saw; null when it is not loaded. */
  cpu: string | null;
  /** CRC kernel of the native engine ("vpclmulqdq", "pclmulqdq" or "table"); null for the reference. */
  crc: string | null;
  /** AES-256-GCM kernel of the native engine ("vaes512" or "openssl"); null for the reference. */
  gcm: string | null;
  /** How piece hashes are taken ("sha-ni-x4" or "openssl"); null for the reference. */
  pieceHash: string | null;
  /** How objects' MD5s are taken ("avx512-x16", many at once, or "openssl"); null for the reference. */
  md5: string | null;
  /** The same, as one line for `shardgate --version`. */
  summary: string;
}

/**
 * The addon when the process's engine is the native one, else null: what else computes with
 * the addon (object checksums) follows the engine, so SHARDGATE_ENGINE=reference means no
 * native code at all.
 */
export function engineBinding(): NativeBinding | null {
  const engine = getEngine();
  return engine.coder instanceof NativeCoder ? loadNative() : null;
}

/** Which engine, kernel and CPU features this process uses (loads the engine if needed). */
export function describeEngine(): EngineDescription {
  const engine = getEngine();
  const binding = engineBinding();
  if (!binding) {
    return { engine: 'reference', kernel: null, cpu: null, crc: null, gcm: null, pieceHash: null, md5: null, summary: `engine: ${engine.name}` };
  }
  const info = binding.info();
  const md5 = sharedMd5Lanes(binding) ? 'avx512-x16' : 'openssl';
  return {
    engine: 'native', kernel: info.kernel, cpu: info.cpu, crc: info.crc, gcm: info.gcm, pieceHash: info.pieceHash, md5,
    summary: `engine: native, kernel: ${info.kernel}, crc: ${info.crc}, gcm: ${info.gcm}, piece hash: ${info.pieceHash}, md5: ${md5}, cpu: ${info.cpu}`,
  };
}

/** Forget the chosen engine (tests that change SHARDGATE_* variables). */
export function resetEngineForTests(): void {
  cached = undefined;
}
