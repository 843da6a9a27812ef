import { escapeXmlText } from './xml.js';

/**
 * The S3 error codes, each with its HTTP status and the message AWS S3 sends when nothing
 * more specific is said. This is the only place a status is chosen for an S3 error.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList
 */
const S3_ERRORS = {
  AccessControlListNotSupported: [400, 'The bucket does not allow ACLs.'],
  AccessDenied: [403, 'Access Denied'],
  AccountProblem: [403, 'There is a problem with your account that prevents the operation from completing successfully.'],
  AllAccessDisabled: [403, 'All access to this resource has been disabled.'],
  AuthorizationHeaderMalformed: [400, 'The authorization header is malformed.'],
  AuthorizationQueryParametersError: [400, 'The authorization query parameters are malformed.'],
  BadDigest: [400, 'The Content-MD5 you specified did not match what we received.'],
  BucketAlreadyExists: [409, 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.'],
  BucketAlreadyOwnedByYou: [409, 'Your previous request to create the named bucket succeeded and you already own it.'],
  BucketNotEmpty: [409, 'The bucket you tried to delete is not empty'],
  ConditionalRequestConflict: [409, 'The conditional request cannot succeed due to a conflicting operation against this resource.'],
  CredentialsNotSupported: [400, 'This request does not support credentials.'],
  EntityTooLarge: [400, 'Your proposed upload exceeds the maximum allowed object size.'],
  EntityTooSmall: [400, 'Your proposed upload is smaller than the minimum allowed object size.'],
  // Not in S3's list: HTTP's name for the 417 an `Expect` other than 100-continue gets.
  ExpectationFailed: [417, 'The expectation given in the Expect header cannot be met; only 100-continue is supported.'],
  ExpiredToken: [400, 'The provided token has expired.'],
  IllegalLocationConstraintException: [400, 'The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.'],
  IllegalVersioningConfigurationException: [400, 'The versioning configuration specified in the request is invalid.'],
  IncompleteBody: [400, 'You did not provide the number of bytes specified by the Content-Length HTTP header.'],
  IncorrectNumberOfFilesInPostRequest: [400, 'POST requires exactly one file upload per request.'],
  InlineDataTooLarge: [400, 'Inline data exceeds the maximum allowed size.'],
  InternalError: [500, 'We encountered an internal error. Please try again.'],
  InvalidAccessKeyId: [403, 'The access key ID you provided does not exist in our records.'],
  InvalidArgument: [400, 'Invalid Argument'],
  InvalidBucketAclWithObjectOwnership: [400, "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"],
  InvalidBucketName: [400, 'The specified bucket is not valid.'],
  InvalidBucketState: [409, 'The request is not valid with the current state of the bucket.'],
  InvalidDigest: [400, 'The Content-MD5 you specified is not valid.'],
  InvalidEncryptionAlgorithmError: [400, 'The encryption request you specified is not valid. The valid value is AES256.'],
  InvalidLocationConstraint: [400, 'The specified location constraint is not valid.'],
  InvalidObjectState: [403, 'The operation is not valid for the current state of the object.'],
  InvalidPart: [400, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag."],
  InvalidPartOrder: [400, 'The list of parts was not in ascending order. Parts list must be specified in order by part number.'],
  InvalidPartNumber: [416, 'The requested partnumber is not satisfiable'],
  InvalidPolicyDocument: [400, 'The content of the form does not meet the conditions specified in the policy document.'],
  InvalidRange: [416, 'The requested range is not satisfiable'],
  InvalidRequest: [400, 'Invalid Request'],
  InvalidRetentionPeriod: [400, 'The retention period must be a positive integer value.'],
  InvalidSecurity: [403, 'The provided security credentials are not valid.'],
  InvalidStorageClass: [400, 'The storage class you specified is not valid.'],
  InvalidTag: [400, 'The tag provided was not a valid tag.'],
  InvalidToken: [400, 'The provided token is malformed or otherwise invalid.'],
  InvalidURI: [400, "Couldn't parse the specified URI."],
  KeyTooLongError: [400, 'Your key is too long.'],
  MalformedACLError: [400, 'The XML you provided was not well-formed or did not validate against our published schema.'],
  MalformedPOSTRequest: [400, 'The body of your POST request is not well-formed multipart/form-data.'],
  MalformedPolicy: [400, 'Policy has invalid resource.'],
  MalformedTrailerError: [400, 'The request contained trailing data that was not well-formed or did not conform to our published schema.'],
  MalformedXML: [400, 'The XML you provided was not well-formed or did not validate against our published schema.'],
  MaxMessageLengthExceeded: [400, 'Your request was too big.'],
  MaxPostPreDataLengthExceededError: [400, 'Your POST request fields preceding the upload file were too large.'],
  MetadataTooLarge: [400, 'Your metadata headers exceed the maximum allowed metadata size.'],
  MethodNotAllowed: [405, 'The specified method is not allowed against this resource.'],
  MissingContentLength: [411, 'You must provide the Content-Length HTTP header.'],
  MissingRequestBodyError: [400, 'Request Body is empty.'],
  MissingSecurityHeader: [400, 'Your request is missing a required header.'],
  NoSuchBucket: [404, 'The specified bucket does not exist'],
  NoSuchBucketPolicy: [404, 'The bucket policy does not exist'],
  NoSuchPublicAccessBlockConfiguration: [404, 'The public access block configuration was not found'],
  NoSuchCORSConfiguration: [404, 'The CORS configuration does not exist'],
  NoSuchKey: [404, 'The specified key does not exist.'],
  NoSuchLifecycleConfiguration: [404, 'The lifecycle configuration does not exist'],
  NoSuchObjectLockConfiguration: [404, 'The specified object does not have a ObjectLock configuration'],
  NoSuchTagSet: [404, 'The TagSet does not exist'],
  NoSuchUpload: [404, 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.'],
  NoSuchVersion: [404, 'The specified version does not exist.'],
  NoSuchWebsiteConfiguration: [404, 'The specified bucket does not have a website configuration'],
  NotImplemented: [501, 'A header you provided implies functionality that is not implemented'],
  // 304 is not an error to clients, but conditional GET/HEAD end the request the same way.
  NotModified: [304, 'Not Modified'],
  ObjectLockConfigurationNotFoundError: [404, 'Object Lock configuration does not exist for this bucket'],
  OperationAborted: [409, 'A conflicting conditional operation is currently in progress against this resource. Try again.'],
  OwnershipControlsNotFoundError: [404, 'The bucket ownership controls were not found'],
  PermanentRedirect: [301, 'The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.'],
  PreconditionFailed: [412, 'At least one of the pre-conditions you specified did not hold'],
  // Not an AWS code (S3 has no bucket quotas): Ceph RGW's, for a write past a bucket's quota.
  QuotaExceeded: [403, 'The bucket quota has been exceeded.'],
  ReplicationConfigurationNotFoundError: [404, 'The replication configuration was not found'],
  RequestHeaderSectionTooLarge: [400, 'Your request header section exceeds the maximum allowed size.'],
  RequestIsNotMultiPartContent: [400, 'Bucket POST must be of the enclosure-type multipart/form-data.'],
  RequestTimeTooSkewed: [403, "The difference between the request time and the server's time is too large."],
  RequestTimeout: [400, 'Your socket connection to the server was not read from or written to within the timeout period.'],
  ServerSideEncryptionConfigurationNotFoundError: [404, 'The server side encryption configuration was not found'],
  ServiceUnavailable: [503, 'Service is unable to handle request.'],
  SignatureDoesNotMatch: [403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'],
  SlowDown: [503, 'Please reduce your request rate.'],
  TemporaryRedirect: [307, 'You are being redirected to the bucket while DNS updates.'],
  TooManyBuckets: [400, 'You have attempted to create more buckets than allowed'],
  UnexpectedContent: [400, 'This request does not support content'],
  UnresolvableGrantByEmailAddress: [400, 'The email address you provided does not match any account on record.'],
  UserKeyMustBeSpecified: [400, 'The bucket POST must contain the specified field name. If it is specified, check the order of the fields.'],
  XAmzContentSHA256Mismatch: [400, "The provided 'x-amz-content-sha256' header does not match what was computed."],
} as const satisfies Record<string, readonly [number, string]>;

export type S3ErrorCode = keyof typeof S3_ERRORS;

export function isS3ErrorCode(code: string): code is S3ErrorCode {
  return Object.hasOwn(S3_ERRORS, code);
}

/** HTTP status of an S3 error code. */
export function statusOf(code: S3ErrorCode): number {
  return S3_ERRORS[code][0];
}

/** The message AWS S3 sends for `code` when it has nothing more specific to say. */
export function defaultMessageOf(code: S3ErrorCode): string {
  return S3_ERRORS[code][1];
}

export interface S3ErrorOptions {
  message?: string;
  /**
   * Extra elements of the error document, in order, e.g. `{ BucketName }`, `{ Key }`,
   * `{ UploadId }`, `{ ActualObjectSize, RangeRequested }`, `{ ArgumentName, ArgumentValue }`.
   */
  extra?: Record<string, string>;
  /** The `<Resource>` element; `toXml`'s argument wins when both are given. */
  resource?: string;
  /**
   * Response headers that belong to this error (e.g. `Content-Range: bytes *\/size` for
   * InvalidRange, `Allow` for MethodNotAllowed). The error hook sets them after it clears
   * the others.
   */
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * An S3 protocol error: thrown anywhere in the request path, rendered once by the error
 * hook. `expose` tells that hook whether the message may reach the client (Koa's convention).
 */
export class S3Error extends Error {
  readonly code: S3ErrorCode;
  readonly status: number;
  readonly extra: Record<string, string>;
  readonly headers: Record<string, string>;
  resource?: string;

  constructor(code: S3ErrorCode, messageOrOptions?: string | S3ErrorOptions, options: S3ErrorOptions = {}) {
    const opts = typeof messageOrOptions === 'object' ? messageOrOptions : { ...options, message: messageOrOptions ?? options.message };
    super(opts.message ?? defaultMessageOf(code), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'S3Error';
    this.code = code;
    this.status = statusOf(code);
    this.extra = { ...opts.extra };
    this.headers = { ...opts.headers };
    if (opts.resource !== undefined) this.resource = opts.resource;
  }

  get expose(): boolean {
    return this.status < 500;
  }

  /**
   * The error document, as AWS S3 writes it: no namespace, extra elements between Message
   * and RequestId. A 5xx keeps its code but never its internal message.
   * HostId is written only when given (AWS sends an opaque host identifier there).
   */
  toXml(requestId: string, resource?: string, hostId?: string): string {
    const message = this.expose ? this.message : defaultMessageOf(this.code);
    let body = `<Code>${this.code}</Code><Message>${escapeXmlText(message)}</Message>`;
    for (const [name, value] of Object.entries(this.extra)) body += element(name, value);
    const res = resource ?? this.resource;
    if (res !== undefined) body += element('Resource', res);
    body += element('RequestId', requestId);
    if (hostId !== undefined) body += element('HostId', hostId);
    return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${body}</Error>`;
  }
}

function element(name: string, value: string): string {
  return `<${name}>${escapeXmlText(value)}</${name}>`;
}
