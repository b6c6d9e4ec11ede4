import htm from 'htm';

/** A preact element, opaque here: only rendered to a string. */
export type VNode = { readonly type: unknown; readonly props: unknown };
type CreateElement = (type: string, props: Record<string, unknown> | null, ...children: unknown[]) => VNode;

// Preact's type declarations pull in the DOM library, which would retype `fetch` and its bodies across
// the whole project: the two functions used here are typed by hand instead of imported with types.
const { h } = require('preact') as { h: CreateElement };
const { render } = require('preact-render-to-string') as { render: (node: VNode) => string };

/**
 * Tagged templates over preact: every interpolated value is text (escaped) or an attribute value
 * (quoted and escaped) — never markup. Built into the CLI bundle; no build step at run time.
 */
export const html = htm.bind(h);

export type Node = VNode | string | null | Node[];

export function documentOf(title: string, body: Node, session: { csrf: string } | null): string {
  const page = html`<html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>${title} · Tagwarden</title>
      <link rel="stylesheet" href="/ui/style.css" />
    </head>
    <body>
      <header>
        <a class="brand" href="/ui">Tagwarden</a>
        ${
          session &&
          html`<form method="post" action="/ui/logout">
          <input type="hidden" name="csrf" value=${session.csrf} />
          <button type="submit">Sign out</button>
        </form>`
        }
      </header>
      <main>${body}</main>
    </body>
  </html>`;
  return `<!doctype html>${render(page as VNode)}`;
}

/** A link inside the interface: a path of ours with percent-encoded parts, never another scheme. */
export function uiHref(path: '/ui' | '/ui/tag', ref?: string, query?: Record<string, string>): string {
  const base = ref === undefined ? path : `${path}/${encodeURIComponent(ref)}`;
  const search = new URLSearchParams(query ?? {}).toString();
  return search ? `${base}?${search}` : base;
}

/** A digest shown short (algorithm and 12 hex digits) and, unfolded, in full to select and copy. */
export function digestView(digest: string | null): Node {
  if (!digest) return html`<span class="none">—</span>`;
  const short = digest.replace(/^(\w+:[0-9a-f]{12})[0-9a-f]+$/, '$1');
  return html`<details class="digest">
    <summary><code>${short}</code></summary>
    <input readonly aria-label="full digest" value=${digest} />
  </details>`;
}

export function timeView(iso: string): Node {
  return html`<time datetime=${iso}>${iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}</time>`;
}

/** The retry button of a failed effect: a POST with the session's CSRF token. */
export function retryButton(key: string, csrf: string): Node {
  return html`<form method="post" action="/ui/retry" class="inline">
    <input type="hidden" name="csrf" value=${csrf} />
    <input type="hidden" name="key" value=${key} />
    <button type="submit">Retry</button>
  </form>`;
}
