/**
 * Which screen shows, in the URL's hash so that the back button, a bookmark and an installed
 * shortcut work: #/now, #/load/<uid>, #/energy, #/quality, #/bill, #/settings, #/monitor.
 */
export type Route =
  | { readonly screen: 'now' }
  | { readonly screen: 'load'; readonly uid: string }
  | { readonly screen: 'energy' }
  | { readonly screen: 'quality' }
  | { readonly screen: 'bill' }
  | { readonly screen: 'settings' }
  | { readonly screen: 'monitor' };

export type ScreenName = Route['screen'];

export function parseRoute(hash: string): Route {
  const [screen, arg] = hash.replace(/^#\/?/, '').split('/');
  switch (screen) {
    case 'load':
      return arg && /^[0-9a-f]{24}$/.test(arg) ? { screen: 'load', uid: arg } : { screen: 'now' };
    case 'energy':
    case 'quality':
    case 'bill':
    case 'settings':
    case 'monitor':
      return { screen };
    default:
      return { screen: 'now' };
  }
}

export function routeHash(route: Route): string {
  return route.screen === 'load' ? `#/load/${route.uid}` : `#/${route.screen}`;
}

export class Router {
  route = $state<Route>(parseRoute(globalThis.location?.hash ?? ''));

  constructor() {
    globalThis.addEventListener?.('hashchange', () => (this.route = parseRoute(location.hash)));
  }

  go(route: Route): void {
    const hash = routeHash(route);
    if (globalThis.location && location.hash !== hash) location.hash = hash;
    this.route = route;
  }
}

export const router = new Router();
