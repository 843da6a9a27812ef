/**
 * Errors of the data path below the gateway. Each has a stable string `code`; the gateway
 * maps them to S3 errors in one place (`gateway/errors.ts`), never by message.
 */
export class CodecError extends Error {
  code = 'ERR_CODEC';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Fewer than K usable pieces for a segment: the object cannot be read right now. */
export class ShardQuorumError extends CodecError {
  override code = 'ERR_SHARD_QUORUM';
}

/**
 * A piece's stored checksum does not match its bytes. From a segment decode, `pieces` lists
 * every record that failed, so the caller can queue their repair and fetch other holders'.
 */
export class PieceChecksumError extends CodecError {
  override code = 'ERR_PIECE_CHECKSUM';
  readonly pieces: number[];
  constructor(message: string, options?: { cause?: unknown; pieces?: number[] }) {
    super(message, options);
    this.pieces = options?.pieces ?? [];
  }
}

/** AES-GCM refused a segment: wrong key or tampered/corrupted ciphertext. */
export class DecryptError extends CodecError {
  override code = 'ERR_DECRYPT';
}

/** Bad arguments to a codec function (a programming error, not bad user input). */
export class CodecArgumentError extends CodecError {
  override code = 'ERR_CODEC_ARGUMENT';
}
