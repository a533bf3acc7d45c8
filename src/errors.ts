// One error class with a stable code, and one table from code to HTTP status, so callers never match on message text.

/**
 * Every code the project raises or answers with, and the HTTP status an API answer carries for it.
 * Stable: logs, API answers and scripts rely on them. A new failure that a caller or an operator
 * would act on differently gets its own code here, never a reused one. A status of 500 means a
 * failure of ours: the API logs it and answers INTERNAL, hiding the details.
 */
export const HTTP_STATUS = {
  // Settings and the command line.
  CONFIG_INVALID: 500,
  USAGE: 400,
  // An image sent to be analysed.
  IMAGE_UNSUPPORTED: 415,
  IMAGE_INVALID: 400,
  IMAGE_TOO_LARGE: 413,
  // The actor model bundle. A refused bundle is 422: the request was understood, the bundle was not.
  /** No bundle, version or model where one was looked for. */
  MODEL_NOT_FOUND: 404,
  /** manifest.json (or the S3 pointer to it) is not JSON, breaks the schema or names files it may not. */
  MODEL_MANIFEST_INVALID: 422,
  /** A file the manifest lists is absent: an upload or a copy that did not finish. */
  MODEL_FILE_MISSING: 422,
  /** A file differs from its size and sha256 in the manifest: damaged or tampered with. */
  MODEL_CHECKSUM: 422,
  /** The ONNX graph does not load, or its inputs, outputs or warm-up disagree with the manifest. */
  MODEL_GRAPH_INVALID: 422,
  /** The data file of the head (class means) is malformed or disagrees with the manifest. */
  MODEL_DATA_INVALID: 422,
  /** The graph loads, but names the publisher's reference embeddings otherwise than the manifest records. */
  MODEL_REFERENCE_MISMATCH: 422,
  /** The bundle was made for another embedder than the one the daemon runs. */
  MODEL_EMBEDDER_MISMATCH: 422,
  /** A model was asked to classify an input of another kind or size than it takes (a caller's bug). */
  MODEL_INPUT_MISMATCH: 500,
  /** Not enough free space on the model store's disk for a bundle: free space, or lower model.minFreeMiB. */
  MODEL_DISK_FULL: 507,
  /** A model failure that none of the codes above names. */
  MODEL_INVALID: 422,
  // The face models (detector, landmarks, embedder) and video.
  /** The face models could not be compiled or loaded (the cache, the package, the runtime). */
  VISION_MODELS_UNAVAILABLE: 500,
  VISION_FAILED: 500,
  // Training and the command line's inputs.
  DATASET_INVALID: 400,
  FILE_UNREADABLE: 400,
  GREENGRASS_IPC: 500,
  // Enrolment on the device.
  ENROLL_INVALID: 400,
  ENROLL_UNSUPPORTED: 409,
  ENROLL_NOT_FOUND: 404,
  // The REST API's own answers.
  BAD_REQUEST: 400,
  /** A JSON body that is empty or not JSON. */
  BODY_INVALID: 400,
  BODY_TOO_LARGE: 413,
  /** A Content-Type the route does not take (the bytes of an image in a taken type: IMAGE_UNSUPPORTED). */
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNAUTHORIZED: 401,
  HOST_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  CAMERA_NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  /** Too much work in flight: retry after the Retry-After header's seconds. */
  BUSY: 503,
  /** The camera has analysed no frame yet: retry. */
  NO_FRAME_YET: 503,
} as const satisfies Record<string, number>;

/** Every code the project raises. Stable: logs, API answers and scripts rely on them. */
export type ErrorCode = keyof typeof HTTP_STATUS;

/** True when `code` is one of the project's codes (not a library's: fastify's FST_…, Node's E…). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(HTTP_STATUS, code);
}

/** The HTTP status an API answer carries for `code`. */
export function httpStatus(code: ErrorCode): number {
  return HTTP_STATUS[code];
}

/** The body of every API error answer: `{"error": {"code", "message"}}`. */
export function errorBody(code: ErrorCode, message: string): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message } };
}

export class RecognizerError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RecognizerError';
    this.code = code;
  }
}

export function isRecognizerError(err: unknown, code?: ErrorCode): err is RecognizerError {
  return err instanceof RecognizerError && (code === undefined || err.code === code);
}
