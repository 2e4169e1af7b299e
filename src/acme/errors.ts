// ACME failures with a stable code (for conditions and backoff) and what the CA said (RFC 8555 problem documents).
import { CertsmithError, type ErrorCode } from '../errors.ts';
import { excerpt } from './http-limits.ts';

const PREFIX = 'urn:ietf:params:acme:error:';

export interface AcmeProblemDocument {
  type?: string;
  detail?: string;
  status?: number;
  subproblems?: { type?: string; detail?: string; identifier?: { type: string; value: string } }[];
}

export class AcmeError extends CertsmithError {
  /** The problem type without its URN prefix (rateLimited, unauthorized, …), when the CA sent one. */
  readonly problemType: string | undefined;
  readonly httpStatus: number | undefined;
  /** From Retry-After, when the CA sent one. */
  readonly retryAfterMs: number | undefined;
  constructor(code: ErrorCode, message: string, opts: { problemType?: string; httpStatus?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super(code, message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AcmeError';
    this.problemType = opts.problemType;
    this.httpStatus = opts.httpStatus;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

export function isAcmeError(err: unknown): err is AcmeError {
  return err instanceof AcmeError;
}

const ACCOUNT_PROBLEMS = new Set([
  'unauthorized',
  'accountDoesNotExist',
  'externalAccountRequired',
  'userActionRequired',
  'invalidContact',
  'unsupportedContact',
  'badPublicKey',
]);
const ORDER_PROBLEMS = new Set([
  'rejectedIdentifier',
  'unsupportedIdentifier',
  'malformed',
  'badCSR',
  'caa',
  'badSignatureAlgorithm',
  'alreadyReplaced',
  'invalidProfile',
  'orderNotReady',
]);

/**
 * Whether a refused new-order that named a certificate it `replaces` (RFC 9773) may be placed again without it.
 * `replaces` is a hint for the CA's rate limits; a CA that cannot match it (alreadyReplaced, a certID it does not
 * find — Pebble answers serverInternal when the serial's DER has a leading zero) must not block the renewal. Rate
 * limits, an unavailable CA and account problems are not about `replaces`: those stand.
 */
export function isReplacesRefusal(err: unknown): boolean {
  if (!(err instanceof AcmeError) || err.httpStatus === undefined) return false;
  if (err.code === 'AcmeRateLimited' || err.code === 'AcmeAccountProblem' || err.httpStatus === 503) return false;
  return err.problemType === 'alreadyReplaced' || err.httpStatus === 400 || err.httpStatus === 409 || err.httpStatus === 500;
}

/** Pure: the code for a problem type and HTTP status. */
export function codeForProblem(problemType: string | undefined, httpStatus: number): ErrorCode {
  if (problemType === 'rateLimited' || httpStatus === 429) return 'AcmeRateLimited';
  if (problemType && ACCOUNT_PROBLEMS.has(problemType)) return 'AcmeAccountProblem';
  if (problemType && ORDER_PROBLEMS.has(problemType)) return 'AcmeOrderRejected';
  if (problemType === 'serverInternal' || httpStatus >= 500) return 'AcmeUnavailable';
  return 'AcmeProblem';
}

/** Sub-problems a message lists at most; the rest are counted. */
const SUBPROBLEMS_SHOWN = 3;

/**
 * Pure: an AcmeError from an error response of the CA. The server chose every string in it, so each reaches the
 * message (and so the status and events) as an excerpt: a problem document cannot make it long or multi-line.
 */
export function problemError(method: string, url: string, httpStatus: number, body: unknown, retryAfterMs: number | undefined): AcmeError {
  const doc = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const type = typeof doc.type === 'string' ? doc.type : undefined;
  const problemType = type === undefined ? undefined : excerpt(type.startsWith(PREFIX) ? type.slice(PREFIX.length) : type, 64);
  const subproblems = Array.isArray(doc.subproblems) ? doc.subproblems : [];
  const described = subproblems.map(describeSubproblem).filter(Boolean);
  const sub = described.slice(0, SUBPROBLEMS_SHOWN).map((d) => excerpt(d, 100));
  if (described.length > SUBPROBLEMS_SHOWN) sub.push(`and ${described.length - SUBPROBLEMS_SHOWN} more`);
  const detail = excerpt(typeof doc.detail === 'string' ? doc.detail : typeof body === 'string' ? body : '') || `HTTP ${httpStatus}`;
  const where = `${method.toUpperCase()} ${excerpt(url, 120)}`;
  const retry = retryAfterMs !== undefined ? `; the CA asks to retry after ${Math.ceil(retryAfterMs / 1000)} s` : '';
  const message = `the ACME server refused ${where}: ${problemType ?? `HTTP ${httpStatus}`}: ${detail}${sub.length ? ` (${sub.join('; ')})` : ''}${retry}`;
  return new AcmeError(codeForProblem(problemType, httpStatus), message, {
    ...(problemType ? { problemType } : {}),
    httpStatus,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

function describeSubproblem(p: unknown): string {
  if (typeof p !== 'object' || p === null) return '';
  const { identifier, detail, type } = p as { identifier?: { value?: unknown }; detail?: unknown; type?: unknown };
  const who = typeof identifier?.value === 'string' ? `${identifier.value}: ` : '';
  const what = typeof detail === 'string' ? detail : typeof type === 'string' ? type : '';
  return what || who ? `${who}${what}` : '';
}

/**
 * Pure: a problem the CA put inside an order, an authorization or a challenge (its `error`), with its type and
 * detail cut to excerpts, as problemError does; undefined when it is not an object.
 */
export function problemExcerpt(error: unknown): { type?: string; detail?: string } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { type, detail } = error as { type?: unknown; detail?: unknown };
  return {
    ...(typeof type === 'string' ? { type: excerpt(type, 100) } : {}),
    ...(typeof detail === 'string' ? { detail: excerpt(detail) } : {}),
  };
}

/** Pure: Retry-After (delta seconds or an HTTP date) in milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: Date): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  // Every HTTP-date form names its month; without this, Date.parse reads garbage such as "1.5" or "-5" as a date in 2001.
  if (!/\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(at - now.getTime(), 0);
}
