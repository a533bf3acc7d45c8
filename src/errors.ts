// One error class with a stable code, so callers never match on message text.

/** Every code the project raises. Stable: logs, API answers and scripts rely on them. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'IMAGE_UNSUPPORTED'
  | 'IMAGE_INVALID'
  | 'IMAGE_TOO_LARGE'
  | 'MODEL_INVALID'
  | 'MODEL_CHECKSUM'
  | 'MODEL_NOT_FOUND'
  | 'MODEL_EMBEDDER_MISMATCH'
  | 'DATASET_INVALID'
  | 'FILE_UNREADABLE'
  | 'VISION_FAILED'
  | 'GREENGRASS_IPC'
  | 'ENROLL_INVALID'
  | 'ENROLL_UNSUPPORTED'
  | 'ENROLL_NOT_FOUND'
  | 'USAGE'
  | 'BUSY';

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
