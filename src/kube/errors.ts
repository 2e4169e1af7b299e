import { CertsmithError, type ErrorCode } from '../errors.ts';

/** An API error with its HTTP status and the Status object's reason; classified by code, never by message. */
export class KubeApiError extends CertsmithError {
  readonly status: number;
  readonly reason: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  constructor(code: ErrorCode, status: number, message: string, reason?: string, retryAfterSeconds?: number) {
    super(code, message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export function codeForStatus(status: number): ErrorCode {
  if (status === 404) return 'KubeNotFound';
  if (status === 409) return 'KubeConflict';
  if (status === 410) return 'KubeGone';
  if (status === 401 || status === 403) return 'KubeForbidden';
  if (status === 422 || status === 400) return 'KubeInvalid';
  if (status === 429 || status >= 500) return 'KubeUnavailable';
  return 'KubeError';
}

export const isNotFound = (err: unknown) => err instanceof CertsmithError && err.code === 'KubeNotFound';
export const isConflict = (err: unknown) => err instanceof CertsmithError && err.code === 'KubeConflict';
export const isGone = (err: unknown) => err instanceof CertsmithError && err.code === 'KubeGone';
