/**
 * The app's Content Security Policy (docs/audits.md explains each directive). The build writes it
 * into index.html as a <meta http-equiv>; a server should send the same as a header, plus the
 * directives a <meta> cannot carry (HEADER_ONLY_DIRECTIVES).
 */

/** Directive → sources. No inline script or style anywhere; wasm compiles under 'wasm-unsafe-eval'. */
export const CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'self'"],
  // Vite's output is module scripts from the origin; the service worker is registered from the bundle.
  'script-src': ["'self'", "'wasm-unsafe-eval'"],
  // Svelte's component styles are extracted to .css files; Chart.js sizes its canvas through CSSOM.
  'style-src': ["'self'"],
  'img-src': ["'self'"],
  'font-src': ["'self'"],
  // Price and forecast APIs and the MQTT broker are the user's choice at run time: any TLS origin,
  // plain WebSocket for a broker on the LAN (browsers block it from an https page anyway), and
  // plain http only for a proxy on this machine.
  'connect-src': ["'self'", 'https:', 'wss:', 'ws:', 'http://localhost:*', 'http://127.0.0.1:*'],
  'worker-src': ["'self'"],
  'manifest-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
};

/** What a <meta> cannot say (browsers ignore these there): the server's header adds them. */
export const HEADER_ONLY_DIRECTIVES: Readonly<Record<string, readonly string[]>> = {
  'frame-ancestors': ["'none'"],
};

export function cspText(directives: Readonly<Record<string, readonly string[]>> = CSP_DIRECTIVES): string {
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(' ')}`)
    .join('; ');
}

/** The header a server should send: the meta's policy and the header-only directives. */
export function cspHeader(): string {
  return cspText({ ...CSP_DIRECTIVES, ...HEADER_ONLY_DIRECTIVES });
}
