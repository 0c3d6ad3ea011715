/**
 * `npm run demo`: serves the browser demo (examples/web/) at / and the built library
 * (dist/) at /dist/, with the COOP/COEP headers that make the page cross-origin isolated
 * (so the CPU backend's Web Workers share memory). Listens on 127.0.0.1 unless HOST says
 * otherwise; PORT picks the port (default 8000). Nothing outside those two folders is
 * served: a path that leaves them, encoded or not, gets 404.
 *
 *   npm run demo             # then open http://127.0.0.1:8000/
 */
import { createServer, type Server } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(import.meta.dirname, "..");
/** URL prefix -> folder; the longest matching prefix wins. */
const MOUNTS: [string, string][] = [
  ["/dist/", join(root, "dist")],
  ["/", join(root, "examples", "web")],
];
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".json": "application/json",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/** The file a request path names inside a mount, or null when it names none (or leaves the mount). */
export function resolveRequest(urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(new URL(urlPath, "http://x").pathname);
  } catch {
    return null;
  }
  // Decoded backslashes and NULs never name a file here; ".." segments are resolved below and must stay inside.
  if (path.includes("\0") || path.includes("\\")) return null;
  for (const [prefix, dir] of MOUNTS) {
    if (!path.startsWith(prefix)) continue;
    const rel = path.slice(prefix.length) || "index.html";
    const file = resolve(dir, rel);
    return file.startsWith(dir + sep) ? file : null;
  }
  return null;
}

export function demoServer(): Server {
  return createServer(async (req, res) => {
    const headers = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp", "Cache-Control": "no-store" };
    const file = req.method === "GET" || req.method === "HEAD" ? resolveRequest(req.url ?? "/") : null;
    const info = file ? await stat(file).catch(() => null) : null;
    if (!file || !info?.isFile()) {
      res.writeHead(404, { ...headers, "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    res.writeHead(200, { ...headers, "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(req.method === "HEAD" ? undefined : await readFile(file));
  });
}

/** Starts the server; resolves with its address once it listens. */
export function listen(server: Server, host = "127.0.0.1", port = 8000): Promise<string> {
  return new Promise((done, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => {
      const a = server.address();
      done(`http://${host}:${typeof a === "object" && a ? a.port : port}/`);
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const url = await listen(demoServer(), process.env.HOST ?? "127.0.0.1", Number(process.env.PORT ?? 8000));
  console.log(`augerino demo at ${url} (serving examples/web/ and dist/; Ctrl-C stops)`);
}
