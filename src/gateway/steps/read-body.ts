import { brotliDecompress, gunzip, inflate, type InputType, type ZlibOptions } from 'node:zlib';
import { Denial } from '../denial.js';
import type { RequestContext } from '../request-context.js';
import { contentCoding } from './check-content-headers.js';

type Decoder = (input: InputType, options: ZlibOptions, callback: (error: Error | null, result: Buffer) => void) => void;
const DECODERS: Readonly<Record<string, Decoder>> = { gzip: gunzip, deflate: inflate, br: brotliDecompress as unknown as Decoder };

/**
 * Step 5b: reads the body within the route limit. A declared `content-length` over the limit is
 * refused before reading; a streamed body is counted and cut at the limit (413). A body in a
 * coding the route declares is decoded here with the decoded size bounded by the same limit
 * (`maxOutputLength`: a zip bomb stops at the limit), so the function sees the plain body.
 */
export async function readBody(ctx: RequestContext): Promise<void> {
  const limit = ctx.route?.maxBodyBytes ?? 0;
  const req = ctx.req;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const hasBody = declared !== undefined ? Number(declared) > 0 : req.headers['transfer-encoding'] !== undefined;
  if (!hasBody) {
    ctx.body = null;
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
  const coding = contentCoding(req.headers['content-encoding']);
  const decode = coding === undefined ? undefined : DECODERS[coding];
  ctx.body = decode === undefined ? body : await decodeBounded(decode, body, limit);
}

function decodeBounded(decode: Decoder, body: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    decode(body, { maxOutputLength: Math.max(1, limit) }, (error, result) => {
      if (error === null) return resolve(result);
      const tooBig = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      reject(tooBig ? tooLarge(limit) : new Denial('PAL_GATEWAY_MALFORMED_BODY', 'malformed-body', 'the body cannot be decoded with its `content-encoding`', { cause: error }));
    });
  });
}

function tooLarge(limit: number): Denial {
  return new Denial('PAL_GATEWAY_BODY_TOO_LARGE', 'body-too-large', `request body exceeds ${limit} bytes`);
}
