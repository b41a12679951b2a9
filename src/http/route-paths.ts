/**
 * Matching a request's path against route paths as the app declares them (`/webhooks/:id`,
 * `/swagger/*`), so that what depends on the routes — the `Allow` header of a 405, the routes
 * that take a form upload — is derived from the registered routes instead of a hand-kept list.
 */

const patterns = new Map<string, RegExp>();

function patternOf(routePath: string): RegExp {
  let pattern = patterns.get(routePath);
  if (!pattern) {
    const segments = routePath
      .replace(/\/$/, "")
      .split("/")
      .map((segment) => {
        if (segment === "*") return ".*";
        if (segment.startsWith(":")) return segment.endsWith("?") ? "[^/]*" : "[^/]+";
        return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      });
    // Paths are matched with or without a trailing slash, as the router does (strictPath off).
    pattern = new RegExp(`^${segments.join("/")}/?$`);
    patterns.set(routePath, pattern);
  }
  return pattern;
}

/** Whether a request for `path` (a URL's pathname) reaches the route declared as `routePath`. */
export function routePathMatches(routePath: string, path: string): boolean {
  return patternOf(routePath).test(path);
}

/** A route as the app lists it (`app.routes`). */
export interface DeclaredRoute {
  method: string;
  path: string;
}

/** The order methods are listed in an `Allow` header. */
const METHOD_ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/**
 * The methods some route answers on `path`, in a stable order; a GET route answers HEAD too.
 * Empty when no route has this path at all.
 */
export function allowedMethods(routes: readonly DeclaredRoute[], path: string): string[] {
  const allowed = new Set<string>();
  for (const route of routes) {
    if (!routePathMatches(route.path, path)) continue;
    allowed.add(route.method);
    if (route.method === "GET") allowed.add("HEAD");
  }
  const rank = (method: string) => {
    const index = METHOD_ORDER.indexOf(method);
    return index < 0 ? METHOD_ORDER.length : index;
  };
  return [...allowed].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
