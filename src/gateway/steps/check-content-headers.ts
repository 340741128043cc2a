import { Denial } from '../denial.js';
import type { RequestContext } from '../request-context.js';

/**
 * Step 5a: a body must have a media type the route accepts (`contentTypes`) and no content
 * coding the route does not declare (`contentEncodings`): 415 otherwise. An undeclared `gzip`
 * body would reach the function undecoded and unbounded (a 1 GiB zip bomb in a few KiB).
 */
export function checkContentHeaders(ctx: RequestContext): void {
  const route = ctx.route;
  const headers = ctx.req.headers;
  const hasBody = headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? '0') > 0;
  if (route === undefined || !hasBody) return;
  const coding = contentCoding(headers['content-encoding']);
  if (coding !== undefined && !(route.contentEncodings ?? []).some((c) => c === coding)) {
    throw new Denial('PAL_GATEWAY_UNSUPPORTED_MEDIA_TYPE', 'unsupported-media-type', 'this route does not accept this `content-encoding`', { headers: [['accept-encoding', (route.contentEncodings ?? ['identity']).join(', ')]] });
  }
  const accepted = route.contentTypes;
  if (accepted === undefined) return;
  const type = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (!accepted.includes(type)) {
    throw new Denial('PAL_GATEWAY_UNSUPPORTED_MEDIA_TYPE', 'unsupported-media-type', `this route accepts ${accepted.map((t) => `\`${t}\``).join(', ')}`, { headers: [['accept', accepted.join(', ')]] });
  }
}

/** The one content coding of a request, `undefined` for none/identity, `''` for anything unusable. */
export function contentCoding(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const codings = header.split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== 'identity');
  if (codings.length === 0) return header.trim() === '' ? '' : undefined;
  // Stacked codings (`gzip, gzip`) multiply the decoded size: only one is accepted.
  return codings.length === 1 ? (codings[0] as string) : '';
}
