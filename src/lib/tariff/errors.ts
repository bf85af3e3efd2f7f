/** The errors of the price layer: one type, with a kind the service and the screen act on. */

export type PriceErrorKind =
  /** The request did not reach the server (offline, DNS, connection refused). Retried. */
  | 'network'
  /** The server answered but the browser withheld the answer: no CORS headers. Needs a proxy. */
  | 'cors'
  /** The server answered with an HTTP error. 5xx and 408 are retried, other 4xx are not. */
  | 'http'
  /** The token was refused. Not retried until the settings change. */
  | 'auth'
  /** Too many requests: retried after the server's Retry-After, or with backoff. */
  | 'rate-limit'
  /** The body is not what the provider documents. Nothing from it is stored. Retried. */
  | 'malformed'
  /** The configuration cannot work (no token, unknown zone, currency differs from the tariff's). */
  | 'config'
  /** The caller gave up (the service stopped, or the settings changed). */
  | 'aborted';

export class PriceError extends Error {
  override readonly name = 'PriceError';

  constructor(
    readonly kind: PriceErrorKind,
    message: string,
    readonly details: { readonly status?: number; readonly retryAfterMs?: number } = {},
  ) {
    super(message);
  }

  /** Whether trying again later can succeed without the user changing anything. */
  get retryable(): boolean {
    switch (this.kind) {
      case 'network':
      case 'rate-limit':
      case 'malformed':
        return true;
      case 'http':
        return this.details.status === undefined || this.details.status >= 500 || this.details.status === 408;
      default:
        return false;
    }
  }
}

export function isPriceError(error: unknown): error is PriceError {
  return error instanceof PriceError;
}
