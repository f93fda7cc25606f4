/**
 * Serves the web dashboard's static assets: the page at `/` (when the handler stands alone) and at
 * `/dashboard/`, its stylesheet and its two ES modules under `/dashboard/`. The assets are strings
 * compiled into the package (no build step, no CDN) and go out with a strict Content-Security-Policy;
 * they need no key, because they hold no data: the page asks for the key and sends it to the API.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpProblem } from "../problem.js";
import { DASHBOARD_JS } from "./app.js";
import { DASHBOARD_CSS } from "./css.js";
import { DASHBOARD_HTML } from "./html.js";
import { TIMELINE_JS } from "./timeline.js";

/** The policy every dashboard response carries: nothing but this origin, no inline code. */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface Asset {
  type: string;
  body: string;
}

const PAGE: Asset = { type: "text/html; charset=utf-8", body: DASHBOARD_HTML };
const JS = "text/javascript; charset=utf-8";

const ASSETS: Record<string, Asset> = {
  "/dashboard/": PAGE,
  "/dashboard/app.css": { type: "text/css; charset=utf-8", body: DASHBOARD_CSS },
  "/dashboard/app.js": { type: JS, body: DASHBOARD_JS },
  "/dashboard/timeline.js": { type: JS, body: TIMELINE_JS },
};

/**
 * Answers a dashboard request and returns true, or returns false for any other path. `/` belongs
 * to the dashboard only when the handler is not mounted into an app (`mounted` false); `/dashboard`
 * redirects to `/dashboard/`. Unknown `/dashboard/…` paths are 404, methods other than GET/HEAD 405.
 */
export function serveDashboard(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  mounted: boolean,
): boolean {
  const isRoot = pathname === "/" && !mounted;
  if (!isRoot && pathname !== "/dashboard" && !pathname.startsWith("/dashboard/")) return false;
  const method = req.method ?? "GET";
  if (method !== "GET" && method !== "HEAD") {
    throw new HttpProblem(
      405,
      "METHOD_NOT_ALLOWED",
      `${method} is not allowed on ${pathname} (allowed: GET)`,
      {
        allow: "GET, HEAD",
      },
    );
  }
  if (pathname === "/dashboard") {
    res.writeHead(308, { location: "/dashboard/", "content-length": 0 }).end();
    return true;
  }
  const asset = isRoot ? PAGE : ASSETS[pathname];
  if (!asset) throw new HttpProblem(404, "NOT_FOUND", `no dashboard asset ${pathname}`);
  res.writeHead(200, {
    "content-type": asset.type,
    "content-length": Buffer.byteLength(asset.body),
    "content-security-policy": DASHBOARD_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
  });
  res.end(method === "HEAD" ? undefined : asset.body);
  return true;
}
