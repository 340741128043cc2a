import { Denial } from '../denial.js';
import type { RequestContext } from '../request-context.js';

/**
 * Step 5: reads the body within the route limit. A declared `content-length` over the limit is
 * refused before reading; a streamed body is counted and cut at the limit (413).
 */
export async function readBody(ctx: RequestContext): Promise<void> {
  const limit = ctx.route?.maxBodyBytes ?? 0;
  const req = ctx.req;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    throw tooLarge(limit);
  }
  const hasBody = declared !== undefined ? Number(declared) > 0 : req.headers['transfer-encoding'] !== undefined;
  if (!hasBody) {
    ctx.body = null;
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      throw tooLarge(limit);
    }
    chunks.push(chunk);
  }
  ctx.body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}

function tooLarge(limit: number): Denial {
  return new Denial('PAL_GATEWAY_BODY_TOO_LARGE', 'body-too-large', `request body exceeds ${limit} bytes`);
}
