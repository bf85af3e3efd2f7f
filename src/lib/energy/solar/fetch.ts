/** Fetching a forecast: the fetch is injected (the browser's, or a test's), failures are explained. */

export type FetchLike = (url: string, init?: { signal?: AbortSignal }) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

export type ForecastFailure = 'network' | 'http' | 'rate-limit' | 'malformed' | 'api';

export class ForecastError extends Error {
  constructor(
    readonly kind: ForecastFailure,
    message: string,
    /** When the service will answer again, ms (rate limits). */
    readonly retryAt?: number,
  ) {
    super(message);
    this.name = 'ForecastError';
  }
}

/** GETs `url` and parses its JSON; an error body's own explanation goes into the error. */
export async function fetchJson(fetchFn: FetchLike, url: string, explain: (status: number, body: unknown) => ForecastError | undefined, signal?: AbortSignal): Promise<unknown> {
  let response: Awaited<ReturnType<FetchLike>>;
  try {
    response = await fetchFn(url, signal ? { signal } : undefined);
  } catch (e) {
    throw new ForecastError('network', `no answer from ${new URL(url).host}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    throw explain(response.status, body) ?? new ForecastError(response.status === 429 ? 'rate-limit' : 'http', `${new URL(url).host} answered HTTP ${response.status}`);
  }
  if (body === undefined) throw new ForecastError('malformed', `${new URL(url).host} sent a body that is not JSON`);
  return body;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
